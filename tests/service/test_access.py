"""Every route declares who may use it; the declaration holds for every role."""

from __future__ import annotations

import pytest

from core.access import ROLES, declared_access
from tests.fixtures.accounts import sign_in

ALL = frozenset(ROLES)
PUBLIC = "public"
# Operators and admins reach a document's views, which answer them 404 like anyone else.
DOCUMENT_READERS = frozenset({"patient", "doctor", "operator", "admin"})

# The expected decision for every endpoint. A new route fails the suite until it is
# added here with a deliberate answer.
EXPECTED: dict[str, frozenset[str] | str] = {
    "accounts.home": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.second_factor": PUBLIC,
    "accounts.logout": PUBLIC,
    "accounts.request_link": PUBLIC,
    "accounts.set_password": PUBLIC,
    "accounts.profile": ALL,
    "accounts.update_profile": ALL,
    "accounts.change_password": ALL,
    "accounts.change_email": ALL,
    "accounts.end_other_sessions": ALL,
    "accounts.totp_setup": ALL,
    "accounts.totp_disable": frozenset({"patient"}),
    "staff.index": frozenset({"admin"}),
    "staff.edit": frozenset({"admin"}),
    "audit.index": frozenset({"operator", "admin"}),
    "activation.activate": PUBLIC,
    "activation.done": PUBLIC,
    "activation.account": frozenset({"patient"}),
    "activation.appendix": frozenset({"patient"}),
    "activation_api.create_activation": PUBLIC,
    "api.openapi": PUBLIC,
    "api.ping": PUBLIC,
    "i18n.switch": PUBLIC,
    "socketio": PUBLIC,  # answered by the Socket.IO middleware, never by Flask
    "consult.new": frozenset({"patient"}),
    "consult.room": frozenset({"patient", "doctor"}),
    "consult.cancel": frozenset({"patient"}),
    "consult.history": frozenset({"patient"}),
    "consult.desk": frozenset({"doctor"}),
    "consult.shift": frozenset({"doctor"}),
    "consult.take": frozenset({"doctor"}),
    "consult.close": frozenset({"doctor"}),
    "consult.patient_history": frozenset({"doctor"}),
    "consult.operator": frozenset({"operator", "admin"}),
    "consult.recording": frozenset({"patient", "doctor"}),
    "consult.check": frozenset({"patient", "doctor"}),
    "consult.check_offer": frozenset({"patient", "doctor"}),
    "consult_api.create_consultation": frozenset({"patient"}),
    "consult_api.list_consultations": frozenset({"patient"}),
    "consult_api.get_consultation": frozenset({"patient", "doctor"}),
    "consult_api.list_messages": frozenset({"patient", "doctor"}),
    "consult_api.get_queue": frozenset({"doctor"}),
    "consult_api.take_consultation": frozenset({"doctor"}),
    "consult_api.operator_stats": frozenset({"operator", "admin"}),
    "documents.index": frozenset({"patient"}),
    "documents.upload": frozenset({"patient"}),
    "documents.view": DOCUMENT_READERS,
    "documents.download": DOCUMENT_READERS,
    "documents.image": DOCUMENT_READERS,
    "documents.page": DOCUMENT_READERS,
    "documents.thumbnail": DOCUMENT_READERS,
    "documents.review": frozenset({"doctor"}),
    "documents.panel": frozenset({"patient", "doctor"}),
    "documents.delete": frozenset({"patient"}),
    "consult.appointments_page": frozenset({"patient"}),
    "consult.appointment_action": frozenset({"patient"}),
    "consult.specialist_day": frozenset({"doctor"}),
    "consult.referral": frozenset({"doctor"}),
    "consult.specialties": frozenset({"admin"}),
    "consult.availability": frozenset({"doctor"}),
    "consult.appointments_panel": frozenset({"patient", "doctor"}),
    "documents_api.list_documents": frozenset({"patient"}),
    "documents_api.upload_document": frozenset({"patient"}),
    "documents_api.get_document": DOCUMENT_READERS,
    "documents_api.review_document": frozenset({"doctor"}),
}
ARGS = {"token": "no-such-token", "number": "NO-SUCH", "code": "en", "consultation_id": 999999,
        "call_id": 999999, "document_id": 999999, "page": 1,
        "appointment_id": 999999, "action": "confirm", "user_id": 999999}


def test_every_route_has_a_declared_and_expected_decision(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint != "static"}
    assert endpoints == set(EXPECTED), "add new routes to EXPECTED with a decision"
    for endpoint in endpoints:
        declared = declared_access(app, endpoint)
        expected = EXPECTED[endpoint]
        assert declared == (expected if expected != PUBLIC else "public"), endpoint


def _requests(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = rule.build({k: v for k, v in ARGS.items() if k in rule.arguments})[1]
        method = "GET" if "GET" in rule.methods else "POST"
        yield rule.endpoint, method, url


def _denied(response, signed_in: bool) -> bool:
    if response.status_code in (401, 403):
        return True
    return (not signed_in and response.status_code == 302
            and "/login" in response.headers["Location"])


@pytest.mark.parametrize("role", [None, *ROLES])
def test_each_role_is_let_in_or_kept_out_as_declared(app, client, make_user, role):
    app.config["WTF_CSRF_ENABLED"] = False
    if role is not None:
        user = make_user(role)
        r = sign_in(client, user)
        assert r.status_code == 302, r.get_data(as_text=True)[:300]
    for endpoint, method, url in _requests(app):
        if endpoint in {"accounts.logout", "accounts.login", "accounts.second_factor"}:
            continue  # these change who is signed in; covered by their own tests
        expected = EXPECTED[endpoint]
        response = client.open(url, method=method)
        allowed = expected == PUBLIC or (role is not None and role in expected)
        assert _denied(response, role is not None) != allowed, (
            endpoint, role, response.status_code)
