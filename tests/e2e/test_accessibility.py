"""axe-core on every HTML page of the patient, doctor (on-duty and specialist),
operator and admin journeys and the public pages, at 360 px and 1280 px, in ru, kk and
en: no violation of the WCAG 2.2 A and AA rules.

``PAGES`` lists what is visited; ``NOT_PAGES`` says why an endpoint has no page of
its own. tests/service/test_page_coverage.py (no browser needed) fails when an endpoint
of the app is in neither, so a new page cannot skip its axe run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fixtures.accounts import PASSWORD, code_for, sign_in
from tests.fixtures.activation import ADULT_IIN_2, iin_for
from tests.fixtures.documents import jpeg_bytes, upload
from tests.fixtures.schedule import MONDAY, _at

# --- what is checked -------------------------------------------------------------------

WIDTHS = {360: 780, 1280: 800}  # viewport width -> height
LANGUAGES = ("ru", "kk", "en")

# Waits for the room's socket (its status line says "online" in the page's language)
# wherever the page has one; any other page is ready once loaded.
ROOM_READY = """() => {
  const room = document.getElementById("room");
  const line = document.getElementById("connection");
  if (!room || !line || !room.dataset.i18n || !document.getElementById("send")) return true;
  return line.textContent === JSON.parse(room.dataset.i18n).online;
}"""


@dataclass(frozen=True)
class Page:
    """One page as one person sees it: ``who`` is a browser context of
    :func:`people`, ``path`` is built from the journey's data (:func:`journey`)."""

    label: str
    who: str
    endpoint: str | None  # None: no route (the error page)
    path: Callable[[dict[str, Any]], str]
    status: int = 200
    ready: str = ROOM_READY
    # What the person then does on the page (e.g. sends a form); returns the response
    # of the page it leads to, which is the one checked.
    act: Callable[[Any], Any] | None = None


def _fixed(path: str) -> Callable[[dict[str, Any]], str]:
    return lambda data: path


def _request(complaint: str, red_flag: bool = False) -> Callable[[Any], Any]:
    """Send the request form with ``complaint`` and the checklist answered "no" (the
    first sign "yes" when ``red_flag``)."""
    def act(page: Any) -> Any:
        form = page.locator("#request-form")
        if complaint:
            form.locator("#complaint").fill(complaint)
            for radio in form.locator("fieldset.yes-no input[value=no]:enabled").all():
                radio.check()
            if red_flag:
                form.locator("fieldset.yes-no input[value=yes]:enabled").first.check()
        with page.expect_navigation() as sent:
            form.locator("button[type=submit]").click()
        return sent.value
    return act


PAGES: list[Page] = [
    # Public pages (nobody signed in).
    Page("home", "anon", "accounts.home", _fixed("/")),
    Page("login", "anon", "accounts.login", _fixed("/login")),
    Page("request a link", "anon", "accounts.request_link", _fixed("/password/link")),
    Page("set password", "anon", "accounts.set_password", lambda d: d["set_password"]),
    Page("set password, used link", "anon", "accounts.set_password",
         _fixed("/password/set/no-such-token"), status=410),
    Page("activation form", "anon", "activation.activate", _fixed("/activate")),
    Page("activation done", "anon", "activation.done", _fixed("/activate/done")),
    Page("dev mailbox", "anon", "devmail.index", _fixed("/dev/mailbox/")),
    Page("dev mailbox message", "anon", "devmail.show",
         lambda d: f"/dev/mailbox/{d['mail']}"),
    Page("dev mailbox message, HTML part", "anon", "devmail.html",
         lambda d: f"/dev/mailbox/{d['mail']}/html"),
    Page("error page", "anon", None, _fixed("/no-such-page"), status=404),
    Page("second factor", "pending", "accounts.second_factor", _fixed("/login/code")),
    # The patient in consultation (and with a closed one, a document, an appointment).
    Page("account, in consultation", "patient", "activation.account", _fixed("/account")),
    Page("profile", "patient", "accounts.profile", _fixed("/account/profile")),
    Page("TOTP setup", "patient", "accounts.totp_setup", _fixed("/account/security/totp")),
    Page("room, active (patient)", "patient", "consult.room",
         lambda d: f"/consult/{d['active']}"),
    Page("room, closed (patient)", "patient", "consult.room",
         lambda d: f"/consult/{d['closed']}"),
    Page("specialist room, before it opens (patient)", "patient", "consult.room",
         lambda d: f"/consult/{d['held']}"),
    Page("history", "patient", "consult.history", _fixed("/consult/history")),
    Page("appointments", "patient", "consult.appointments_page",
         _fixed("/consult/appointments")),
    Page("my documents", "patient", "documents.index", _fixed("/documents/")),
    Page("document (patient)", "patient", "documents.view",
         lambda d: f"/documents/{d['document']}"),
    Page("connection check (patient)", "patient", "consult.check", _fixed("/consult/check")),
    # One open already: the page says so with a link, and offers no form.
    Page("new request, one open", "patient", "consult.new", _fixed("/consult/new")),
    # A patient in the queue, and one who has never asked.
    Page("account, waiting", "waiting", "activation.account", _fixed("/account")),
    Page("room, waiting", "waiting", "consult.room", lambda d: f"/consult/{d['waiting']}"),
    Page("account, nothing open", "newcomer", "activation.account", _fixed("/account")),
    Page("new request", "newcomer", "consult.new", _fixed("/consult/new")),
    Page("new request, sent empty", "newcomer", "consult.new", _fixed("/consult/new"),
         status=422, act=_request("")),
    Page("emergency advice (a red flag)", "newcomer", "consult.new", _fixed("/consult/new"),
         act=_request("Chest pain and short of breath since the morning", red_flag=True)),
    # The on-duty doctor, on shift with a patient waiting.
    Page("desk, on shift", "doctor", "consult.desk", _fixed("/consult/desk")),
    Page("room, active (doctor)", "doctor", "consult.room",
         lambda d: f"/consult/{d['active']}"),
    Page("room, closed (doctor)", "doctor", "consult.room",
         lambda d: f"/consult/{d['closed']}"),
    Page("patient history", "doctor", "consult.patient_history",
         lambda d: f"/consult/{d['active']}/patient-history"),
    Page("referral, free times", "doctor", "consult.referral",
         lambda d: f"/consult/{d['active']}/referral?specialty_id={d['specialty']}"),
    Page("document (doctor)", "doctor", "documents.view",
         lambda d: f"/documents/{d['document']}"),
    Page("profile (doctor)", "doctor", "accounts.profile", _fixed("/account/profile")),
    Page("TOTP (doctor)", "doctor", "accounts.totp_setup", _fixed("/account/security/totp")),
    Page("connection check (doctor)", "doctor", "consult.check", _fixed("/consult/check")),
    # The specialist.
    Page("desk (specialist)", "specialist", "consult.desk", _fixed("/consult/desk")),
    Page("my day", "specialist", "consult.specialist_day", _fixed("/consult/day")),
    Page("working hours", "specialist", "consult.availability",
         _fixed("/consult/availability")),
    Page("specialist room, before it opens (specialist)", "specialist", "consult.room",
         lambda d: f"/consult/{d['held']}"),
    # The operator and the admin.
    Page("operator", "operator", "consult.operator", _fixed("/consult/operator")),
    Page("audit (operator)", "operator", "audit.index", _fixed("/staff/audit/")),
    Page("staff", "admin", "staff.index", _fixed("/staff/")),
    Page("staff member's profile", "admin", "staff.edit",
         lambda d: f"/staff/{d['specialist_id']}/edit"),
    Page("specialties", "admin", "consult.specialties", _fixed("/consult/specialties")),
    Page("audit (admin)", "admin", "audit.index", _fixed("/staff/audit/")),
]

FRAGMENT = "an HTML fragment the room fetches into itself: checked inside consult.room"
# Endpoints without a page of their own, and why.
NOT_PAGES: dict[str, str] = {
    "accounts.logout": "POST only: signs out and redirects",
    "accounts.update_profile": "POST only: redirects to the profile page",
    "accounts.change_password": "POST only: redirects to the profile page",
    "accounts.change_email": "POST only: redirects to the profile page",
    "accounts.end_other_sessions": "POST only: redirects to the profile page",
    "accounts.totp_disable": "POST only: redirects to the TOTP page",
    "activation.appendix": "file download (PDF)",
    "activation_api.create_activation": "JSON API",
    "api.openapi": "JSON document",
    "api.ping": "JSON API",
    "i18n.switch": "redirect that sets the language cookie (this test uses it)",
    "socketio": "Socket.IO endpoint",
    "consult.cancel": "POST only: redirects",
    "consult.shift": "POST only: redirects to the desk",
    "consult.take": "POST only: redirects to the room",
    "consult.close": "POST only: redirects (a refusal re-renders consult.room)",
    "consult.recording": "file download (audio)",
    "consult.check_offer": "JSON for the connection check's script",
    "consult.appointment_action": "POST only: redirects to the appointments page",
    "consult.appointments_panel": FRAGMENT,
    "consult_api.create_consultation": "JSON API",
    "consult_api.list_consultations": "JSON API",
    "consult_api.get_consultation": "JSON API",
    "consult_api.list_messages": "JSON API",
    "consult_api.get_queue": "JSON API",
    "consult_api.take_consultation": "JSON API",
    "consult_api.operator_stats": "JSON API",
    "documents.upload": "POST only: JSON or a redirect to the viewer",
    "documents.download": "file download",
    "documents.image": "image",
    "documents.page": "image of a PDF page",
    "documents.thumbnail": "image",
    "documents.review": "POST only: redirects",
    "documents.panel": FRAGMENT,
    "documents.delete": "POST only: redirects",
    "documents_api.list_documents": "JSON API",
    "documents_api.upload_document": "JSON API",
    "documents_api.get_document": "JSON API",
    "documents_api.review_document": "JSON API",
    "devmail.attachment": "file download (mail attachment)",
}


# --- the journey's data ----------------------------------------------------------------

DOCTOR = "Aigerim Sadykova"
SPECIALIST = "Dr Cardio"


@pytest.fixture
def journey(app: Any, client: Any, make_user: Any, activated_patient: Any,
            on_shift_doctor: Any, make_specialty: Any) -> dict[str, Any]:
    """Monday 30 March 2026, 11:00 in Almaty: a patient in an active consultation with
    an earlier closed one, a document and a booked specialist appointment; another
    patient waiting in the queue; a third who has never asked; an on-duty doctor on
    shift, a cardiologist with working hours, an operator and an admin."""
    from accounts.services import issue_password_link
    from consult.duty import queue as duty_queue
    from consult.duty.chat import send_message
    from consult.duty.closing import Conclusion, close
    from consult.duty.requests import ConsultationRequest, request_consultation
    from consult.schedule import booking
    from consult.schedule.models import Appointment, WorkingHours
    from core import clock
    from core.extensions import db
    from core.outbox import OutboxMessage

    app.config.update(RATELIMIT_LOGIN_ACCOUNT_IP="1000 per minute",
                      RATELIMIT_SECOND_FACTOR="1000 per minute")
    clock.freeze(datetime(2026, 3, 1, 6, 0, tzinfo=UTC))
    patient, insured = activated_patient(client)
    waiting, waiting_insured = activated_patient(client, iin=ADULT_IIN_2, name="Петров Пётр")
    newcomer, _ = activated_patient(client, iin=iin_for(date(1990, 5, 5), "female"),
                                    name="Сейткали Айгерім Нұрланқызы")

    clock.freeze(_at(MONDAY, 10))
    doctor = on_shift_doctor(full_name=DOCTOR, email="dr.aigerim@clinic.kz")
    earlier = request_consultation(
        patient, ConsultationRequest(insured.id, "Cough for a week", "chat"), "en")
    duty_queue.take(doctor, earlier.id)
    close(doctor, earlier.id, Conclusion(
        "Cough for a week", "Acute bronchitis", "Warm drinks, rest; come back if fever"))
    db.session.commit()

    clock.freeze(_at(MONDAY, 11))
    active = request_consultation(patient, ConsultationRequest(
        insured.id, "Chest pain when climbing stairs", "chat"), "en")
    duty_queue.take(doctor, active.id)
    db.session.commit()
    send_message(patient.id, active.id, uuid.uuid4().hex,
                          "It hurts after two flights of stairs.")
    send_message(doctor.id, active.id, uuid.uuid4().hex,
                          "Does it pass with rest?")
    in_line = request_consultation(waiting, ConsultationRequest(
        waiting_insured.id, "Sore throat and fever 38.5", "chat"), "en")
    db.session.commit()

    specialty = make_specialty("cardiology", minutes=30)
    specialist = make_user("doctor", email="dr.cardio@clinic.kz", full_name=SPECIALIST,
                           specialty="cardiology")
    db.session.add(WorkingHours(doctor_id=specialist.id, weekday=0, starts=time(14),
                                ends=time(17)))
    db.session.commit()
    appointment: Appointment = booking.book(doctor, active.id, booking.BookingRequest(
        specialty.id, specialist.id, _at(MONDAY, 15).isoformat(),
        "Chest pain on exertion for two weeks; please assess for angina."))
    operator = make_user("operator", email="operator@insurer.kz")
    admin = make_user("admin", email="admin@insurer.kz")
    link = issue_password_link(newcomer)
    db.session.commit()

    app.config["WTF_CSRF_ENABLED"] = False  # the upload as the page's script sends it
    assert sign_in(client, patient).status_code == 302
    r = upload(client, jpeg_bytes(), "IMG_2041.jpg", consultation_id=active.id)
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    app.config["WTF_CSRF_ENABLED"] = True
    mail = db.session.scalar(db.select(OutboxMessage.id).order_by(OutboxMessage.id))
    return {"people": {"patient": patient, "waiting": waiting, "newcomer": newcomer,
                       "doctor": doctor, "specialist": specialist, "operator": operator,
                       "admin": admin},
            "active": active.id, "closed": earlier.id, "waiting": in_line.id,
            "held": appointment.consultation_id, "specialty": specialty.id,
            "specialist_id": specialist.id,
            "document": r.json["id"], "mail": mail,
            "set_password": urlsplit(link).path}


# --- browser contexts ------------------------------------------------------------------

def _submit(page: Any) -> None:
    page.locator("main form button[type=submit]").first.click()


def _sign_in(page: Any, base: str, user: Any, with_code: bool) -> None:
    """Through the real login pages (TOTP for staff)."""
    page.goto(base + "/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    _submit(page)
    if with_code:
        page.wait_for_url("**/login/code*")
        page.fill("#code", code_for(user))
        _submit(page)
    page.wait_for_url(lambda url: "/login" not in url)


def _activate(page: Any, base: str, make_policy: Any) -> None:
    """Activate a fresh policy in this browser, so /activate/done has something."""
    policy = make_policy()
    page.goto(base + "/activate")
    page.fill("#policy_number", policy.number)
    page.fill("#activation_code", "CODE-1234")
    page.fill("#iin", iin_for(date(1985, 7, 7), "male", serial=7))
    page.fill("#full_name", "Ахметов Ерлан")
    page.fill("#email", "erlan@mail.kz")
    page.check("#consent")
    _submit(page)
    page.wait_for_url("**/activate/done")


@pytest.fixture
def people(browser: Any, demo_server: Any, journey: dict[str, Any], make_policy: Any
           ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """A browser context per person, each signed in (or, for ``anon``, having just
    activated a policy; for ``pending``, stopped at the second factor), CSP bypassed so
    that axe can be injected."""
    data = journey
    base = demo_server.url
    contexts: dict[str, Any] = {}
    pages: dict[str, Any] = {}
    for who in ("anon", "pending", *data["people"]):
        ctx = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 800})
        ctx.set_default_timeout(15_000)
        contexts[who] = ctx
        pages[who] = ctx.new_page()
    _activate(pages["anon"], base, make_policy)
    pending = pages["pending"]
    pending.goto(base + "/login")
    pending.fill("#email", data["people"]["operator"].email)
    pending.fill("#password", PASSWORD)
    _submit(pending)
    pending.wait_for_url("**/login/code*")
    for who, user in data["people"].items():
        _sign_in(pages[who], base, user, with_code=user.role != "patient")
    yield pages, data
    for ctx in contexts.values():
        ctx.close()


@pytest.mark.timeout(1200)  # ~50 pages x 2 widths x 3 languages in one browser
def test_every_page_has_no_axe_violations_in_each_language_at_phone_and_desktop_widths(
        people, demo_server, app):
    from tests.e2e.axe import describe, violations

    pages, data = people
    base = demo_server.url
    adapter = app.url_map.bind("localhost")
    report: list[str] = []  # every problem of the whole run, then one failure
    for language in LANGUAGES:
        for page in pages.values():
            page.goto(f"{base}/lang/{language}?next=/")
        for width, height in WIDTHS.items():
            for spec in PAGES:
                page = pages[spec.who]
                page.set_viewport_size({"width": width, "height": height})
                path = spec.path(data)
                if spec.endpoint is not None:
                    assert adapter.match(urlsplit(path).path)[0] == spec.endpoint, spec.label
                where = f"{spec.label} ({path}, {width} px, {language})"
                response = page.goto(base + path)
                if spec.act is not None and response is not None and response.ok:
                    response = spec.act(page)
                status = response.status if response is not None else None
                if status != spec.status:
                    report.append(f"{where}: HTTP {status}, expected {spec.status}")
                    continue
                if spec.endpoint != "devmail.html":  # a mail is in its recipient's language
                    lang = page.evaluate("document.documentElement.lang")
                    if lang != language:
                        report.append(f"{where}: <html lang={lang!r}>")
                page.wait_for_function(spec.ready)
                found = violations(page)
                if found:
                    report.append(describe(found, where))
    assert not report, "\n".join(report)
