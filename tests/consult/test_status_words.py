"""Statuses say the truth in words: the specialist room follows the patient's answer
(live too) and is titled with the appointment's time; a cancelled consultation does
not wait for a doctor; file sizes read "46 KB"; the operator's waits and the audit
log's actions are in the page's language."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from flask_babel import force_locale

from consult.documents.sizes import file_size
from consult.duty.labels import duration_label
from consult.duty.requests import ConsultationRequest, request_consultation
from consult.schedule import booking
from core import clock
from core.extensions import db, socketio
from tests.fixtures.documents import jpeg_bytes, upload
from tests.fixtures.schedule import MONDAY, _at, _request


def _text(page: str) -> str:
    words = html.unescape(re.sub(r"<[^>]+>", " ", page)).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", words)


def _label(page: str) -> str:
    found = re.search(r'id="status-label">(.*?)</span>', page, re.S)
    assert found is not None
    return _text(found.group(1)).strip()


def test_the_specialist_room_follows_the_patients_answer_and_shows_its_time(app, referral,
                                                                            signed_in_clients):
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, 11))
    db.session.commit()
    appointment_id, held_id = appointment.id, appointment.consultation_id
    patient, specialist = signed_in_clients(referral["patient"], referral["specialist"])
    room = f"/consult/{held_id}"
    page = specialist.get(room).get_data(as_text=True)
    assert _label(page) == "Booked, not yet confirmed by the patient"
    assert _label(patient.get(room).get_data(as_text=True)) == "Booked: please confirm"
    # The title is the appointment's time (11:00), not the booking's (06:00).
    title = _text(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1))
    assert "11:00" in title and "06:00" not in title and ":00:00" not in title  # no seconds

    live = socketio.test_client(app, flask_test_client=specialist)
    live.emit("join", {"consultation": held_id, "after": 0},
              callback=True)
    live.get_received()
    patient.post(f"/consult/appointments/{appointment_id}/confirm")
    told = [e["args"][0] for e in live.get_received() if e["name"] == "status"]
    assert told and told[-1]["appointment_status"] == "confirmed"
    live.disconnect()
    for side in (specialist, patient):
        assert _label(side.get(room).get_data(as_text=True)) == "Confirmed"


def test_a_cancelled_appointment_room_says_so(app, referral, signed_in_clients):
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, 11))
    db.session.commit()
    patient, specialist = signed_in_clients(referral["patient"], referral["specialist"])
    patient.post(f"/consult/appointments/{appointment.id}/cancel")
    page = specialist.get(f"/consult/{appointment.consultation_id}").get_data(as_text=True)
    assert _label(page) == "Cancelled"
    assert "This appointment did not take place" in page
    assert "left the queue" not in page


def test_a_cancelled_consultation_is_not_waiting_for_a_doctor(app, client, no_csrf,
                                                              activated_patient, signed_in_clients):
    clock.freeze(_at(MONDAY, 6) - timedelta(days=20))
    patient, insured = activated_patient(client)
    clock.freeze(_at(MONDAY, 6))
    c = request_consultation(patient, ConsultationRequest(
        insured.id, "Headache", "chat"), "en")
    db.session.commit()
    (page,) = signed_in_clients(patient)
    page.post(f"/consult/{c.id}/cancel")
    history = _text(page.get("/consult/history").get_data(as_text=True))
    assert "Cancelled before a doctor took it" in history and "No doctor yet" not in history
    room = page.get(f"/consult/{c.id}").get_data(as_text=True)
    assert _label(room) == "Cancelled" and "You left the queue before a doctor took you." in room


def test_file_sizes_read_in_kilobytes_below_a_megabyte(app):
    with app.test_request_context(), force_locale("en"):
        assert file_size(46 * 1024) == "46 KB"
        assert file_size(300) == "1 KB"
        assert file_size(int(1.5 * 1024 * 1024)) == "1.5 MB"
    with app.test_request_context(), force_locale("ru"):
        assert file_size(int(1.5 * 1024 * 1024)).startswith("1,5")


def test_a_small_document_does_not_read_zero_megabytes(app, client, no_csrf, activated_patient,
                                                       signed_in_clients):
    patient, insured = activated_patient(client)
    (page,) = signed_in_clients(patient)
    document_id = upload(page, jpeg_bytes(), insured_id=insured.id, title="ECG").json["id"]
    view = page.get(f"/documents/{document_id}").get_data(as_text=True)
    assert "0.0 MB" not in view and re.search(r"\b\d+ KB\b", view)


def test_the_operators_waits_are_words_of_the_page(app, client, no_csrf, activated_patient,
                                                   make_user, signed_in_clients):
    with app.test_request_context(), force_locale("en"):
        assert duration_label(28) == "0 min 28 s"
        assert duration_label(3900) == "1 h 5 min"
        assert duration_label(None) == "—"
    with app.test_request_context(), force_locale("ru"):
        assert duration_label(28) == "0 мин 28 с"
    with app.test_request_context(), force_locale("kk"):
        assert duration_label(3900) == "1 сағ 5 мин"
    clock.freeze(_at(MONDAY, 6) - timedelta(days=20))
    patient, insured = activated_patient(client)
    clock.freeze(_at(MONDAY, 6))
    request_consultation(patient, ConsultationRequest(
        insured.id, "Headache", "chat"), "en")
    db.session.commit()
    clock.freeze(_at(MONDAY, 6) + timedelta(seconds=28))
    (operator,) = signed_in_clients(make_user("operator"))
    page = operator.get("/consult/operator").get_data(as_text=True)
    assert re.search(r'data-stat="longest_wait_seconds"[^>]*>0 min 28 s<', page)
    i18n = html.unescape(re.search(r'data-i18n="([^"]+)"', page.split('id="operator"')[1])
                         .group(1))
    assert '"min_sec": "{min} min {sec} s"' in i18n and '"h_min": "{h} h {min} min"' in i18n


def test_every_audit_action_has_a_label_in_words(app):
    from accounts.audit import ACTIONS
    from accounts.audit_routes import ACTION_LABELS

    assert set(ACTIONS) <= set(ACTION_LABELS), set(ACTIONS) - set(ACTION_LABELS)
    with app.test_request_context():
        for lang in ("ru", "kk"):  # translated, not the English label nor the code
            with force_locale("en"):
                english = {code: str(ACTION_LABELS[code]) for code in ACTIONS}
            with force_locale(lang):
                untranslated = [code for code in ACTIONS
                                if str(ACTION_LABELS[code]) in (english[code], code)]
            assert untranslated == [], (lang, untranslated)


def test_every_action_written_anywhere_is_listed():
    from accounts.audit import ACTIONS
    from tests.fixtures.app import REPO

    written: set[str] = set()
    for package in ("accounts", "activation", "consult", "core"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text()
            written |= set(re.findall(r'audit\.append(?:_now)?\(\s*"([a-z_]+\.[a-z_]+)"', text))
            if "audit.append" in text:  # codes chosen before the call: action = "…"
                written |= set(re.findall(r'"([a-z]+\.[a-z_]+)"(?= if | else\b|\s*$)', text,
                                          re.M))
    assert written, "the scan found no audit calls"
    assert written <= set(ACTIONS), written - set(ACTIONS)
