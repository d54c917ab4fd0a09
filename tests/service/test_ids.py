"""Ids and cursors a client makes up: beyond the columns' integers, negative, zero or
not numbers at all, they are a 404 or a 422, never a 500 — on every route with an
integer in its path (generated from the URL map, like the access test), in the API's
paging cursors and in socket events."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from core.extensions import socketio
from core.routing import ID_MAX

# Not an id of any column: the route does not match (404) before any view runs.
NOT_IDS = [2**63, 2**64 + 1, ID_MAX + 1, -1, 0]
# The largest id a column holds: the route matches and the view finds nothing.
LARGEST = ID_MAX
BAD_CURSORS = ["-1", str(2**64), "abc", "null", "1.5", " 7", "1e3", "9" * 5000]
ROLES = ("patient", "doctor", "operator")
INT_ARGUMENT = re.compile(r"<int(?:\([^)]*\))?:(\w+)>")


@pytest.fixture
def clients(docs: dict[str, Any], make_user: Any, signed_in_clients: Any) -> dict[str, Any]:
    """A signed-in client per role; the patient and the doctor share a consultation."""
    (operator,) = signed_in_clients(make_user("operator"))
    return {"patient": docs["pc"], "doctor": docs["dc"], "operator": operator}


def _id_routes(app: Flask) -> list[tuple[str, str, Any]]:
    """Every rule with an integer in its path, once per method it answers."""
    return [(rule.endpoint, method, rule) for rule in app.url_map.iter_rules()
            if INT_ARGUMENT.search(rule.rule)
            for method in sorted((rule.methods or set()) & {"GET", "POST"})]


def _url(rule: Any, value: int) -> str:
    """The rule's path with ``value`` for every integer (any text for the others)."""
    ints = set(INT_ARGUMENT.findall(rule.rule))
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<[^<>]*:{name}>", str(value) if name in ints else "confirm", path)
    return path


def test_every_route_with_an_id_has_routes_to_try(app):
    endpoints = {endpoint for endpoint, _m, _r in _id_routes(app)}
    assert {"consult_api.get_consultation", "consult_api.list_messages",
            "consult_api.take_consultation", "consult.take", "documents.page",
            "documents_api.get_document"} <= endpoints


@pytest.mark.parametrize("role", ROLES)
def test_an_id_beyond_its_column_negative_or_zero_is_a_404(app, clients, role):
    client = clients[role]
    for endpoint, method, rule in _id_routes(app):
        for value in NOT_IDS:
            url = _url(rule, value)
            r = client.open(url, method=method)
            assert r.status_code == 404, (role, endpoint, method, url, r.status_code)
        # The largest id a column holds reaches the view: not found, or not this role's.
        r = client.open(_url(rule, LARGEST), method=method)
        assert r.status_code in (302, 400, 403, 404, 409, 422), (
            role, endpoint, method, r.status_code)


def test_a_cursor_that_is_not_an_id_is_a_422_in_the_api_and_a_404_on_pages(clients, docs):
    patient, doctor = clients["patient"], clients["doctor"]
    cid = docs["consultation"].id
    for bad in BAD_CURSORS:
        r = patient.get("/api/v1/consultations", query_string={"before": bad})
        assert r.status_code == 422 and "before" in r.json["errors"], bad
        for client in (patient, doctor):
            r = client.get(f"/api/v1/consultations/{cid}/messages",
                           query_string={"after": bad})
            assert r.status_code == 422 and "after" in r.json["errors"], bad
        assert patient.get("/consult/history", query_string={"before": bad}
                           ).status_code == 404, bad
    assert patient.get("/api/v1/consultations", query_string={"before": "0"}
                       ).status_code == 422  # minimum 1
    # Within range: a page (empty, or the first messages).
    assert patient.get("/api/v1/consultations", query_string={"before": str(ID_MAX)}
                       ).status_code == 200
    assert patient.get(f"/api/v1/consultations/{cid}/messages?after=0").status_code == 200
    assert patient.get(f"/api/v1/consultations/{cid}/messages?after={2**63 - 1}"
                       ).json["items"] == []
    assert patient.get("/consult/history?before=1").status_code == 200


def test_the_documented_cursors_say_the_same_bounds(client):
    spec = client.get("/api/v1/openapi.json").json
    params = {p["name"]: p["schema"] for op in (
        spec["paths"]["/api/v1/consultations"]["get"],
        spec["paths"]["/api/v1/consultations/{consultation_id}/messages"]["get"])
        for p in op.get("parameters", ()) if p["in"] == "query"}
    assert params["before"]["minimum"] == 1 and params["before"]["maximum"] == ID_MAX
    assert params["after"]["minimum"] == 0 and params["after"]["maximum"] == 2**63 - 1


def test_socket_events_answer_an_error_for_ids_beyond_the_columns(app, clients, docs):
    cid = docs["consultation"].id
    live = socketio.test_client(app, flask_test_client=clients["patient"])
    assert live.is_connected()
    for bad in (2**64, 2**63, -1, 0, True, 1.5, "99999999999999999999", "abc"):
        ack = live.emit("send", {"consultation": bad, "client_id": "probe-0001", "body": "hi"},
                        callback=True)
        assert ack["ok"] is False and ack["code"] in (404, 422), (bad, ack)
        ack = live.emit("join", {"consultation": bad}, callback=True)
        assert ack["ok"] is False and ack["code"] in (404, 422), (bad, ack)
        ack = live.emit("receipt", {"consultation": bad, "upto": 1}, callback=True)
        assert ack["ok"] is False and ack["code"] in (404, 422), (bad, ack)
    for bad in (2**64, -1, "abc", 1.5):
        ack = live.emit("join", {"consultation": cid, "after": bad}, callback=True)
        assert ack["ok"] is False and ack["code"] == 422, (bad, ack)
    ack = live.emit("receipt", {"consultation": cid, "kind": "read", "upto": 2**64},
                    callback=True)
    assert ack["ok"] is True  # an ``upto`` that is no message id moves no mark
    ack = live.emit("join", {"consultation": cid, "after": 0}, callback=True)
    assert ack["ok"] is True
    live.disconnect()
