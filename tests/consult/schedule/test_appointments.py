"""The patient's answers to a booking, the booking email with its calendar file, and
reminders 24 hours and 15 minutes before (on a moved clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from consult.errors import ConsultRefused
from consult.schedule import appointments, booking, notify, slots
from consult.schedule.models import Appointment
from core import clock, outbox
from core.extensions import db
from core.outbox import OutboxMessage
from tests.fixtures.schedule import MONDAY, _at, _request


def _book(referral, hh=9) -> Appointment:
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, hh))
    db.session.commit()
    return appointment


def _mails(template: str) -> list[OutboxMessage]:
    db.session.commit()
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.template == template).order_by(OutboxMessage.id)))


def test_the_booking_email_carries_a_calendar_file_that_calendars_read(app, referral):
    appointment = _book(referral)
    [mail] = _mails("appointment_booked")
    assert mail.to_addr == referral["patient"].email
    message = outbox.build_message(outbox.materialise(mail))
    [attachment] = message.attachments
    assert attachment.content_type.startswith("text/calendar")
    calendar = Calendar.from_ical(attachment.data)
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == _at(MONDAY, 9)
    assert event.decoded("dtend") == _at(MONDAY, 9, 30)
    assert str(event["uid"]).startswith(f"appointment-{appointment.id}@")
    # The title shows in calendar previews: nothing medical; the specialty is inside.
    assert "Cardiology" not in str(event["summary"]) and "Кардиология" not in str(
        event["summary"])
    assert "Cardiology" in str(event["description"]) or "Кардиология" in str(
        event["description"])
    assert "Cardiology" not in message.subject and "Кардиология" not in message.subject
    assert calendar["version"] == "2.0" and calendar["prodid"]
    assert str(event["status"]) == "TENTATIVE"  # until the patient confirms
    assert "09:00" in message.body or "9:00" in message.body


def test_reminders_come_a_day_and_a_quarter_hour_before_once_each(app, referral):
    clock.freeze(_at(MONDAY, 6) - timedelta(days=3))
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, 9))
    db.session.commit()
    start = appointment.starts_at
    steps = [
        (start - timedelta(hours=24, minutes=1), 0, 0),
        (start - timedelta(hours=24), 1, 0),
        (start - timedelta(hours=20), 1, 0),  # no second day-before reminder
        (start - timedelta(minutes=16), 1, 0),
        (start - timedelta(minutes=15), 1, 1),
        (start - timedelta(minutes=1), 1, 1),
        (start + timedelta(minutes=1), 1, 1),
    ]
    for at, day, soon in steps:
        clock.freeze(at)
        notify.send_due_reminders()
        assert (len(_mails("appointment_reminder_day")),
                len(_mails("appointment_reminder_soon"))) == (day, soon), at


def test_a_cancelled_or_moved_appointment_gets_no_reminder(app, referral):
    clock.freeze(_at(MONDAY, 6) - timedelta(days=3))
    first = booking.book(referral["doctor"], referral["consultation"].id, _request(referral, 9))
    second = booking.book(referral["doctor"], referral["consultation"].id,
                          _request(referral, 10))
    db.session.commit()
    appointments.cancel(referral["patient"], first.id)
    appointments.request_reschedule(referral["patient"], second.id)
    db.session.commit()
    clock.freeze(_at(MONDAY, 8, 50))
    assert notify.send_due_reminders() == 0


def test_confirm_reschedule_and_cancel(app, referral):
    appointment = _book(referral)
    patient = referral["patient"]
    assert appointments.confirm(patient, appointment.id).status == "confirmed"
    assert appointments.confirm(patient, appointment.id).status == "confirmed"  # twice: fine
    moved = appointments.request_reschedule(patient, appointment.id)
    db.session.commit()
    assert moved.status == "reschedule_requested" and moved.reschedule_requested_at
    # The slot is free again for the on-duty doctor to book another time.
    free = [s.starts_at for s in slots.free_slots(referral["specialty"], MONDAY, 1)]
    assert _at(MONDAY, 9) in free
    with pytest.raises(ConsultRefused) as refused:
        appointments.confirm(patient, appointment.id)
    assert refused.value.status == 409
    db.session.rollback()
    assert appointments.cancel(patient, appointment.id).status == "cancelled"
    db.session.commit()
    with pytest.raises(ConsultRefused) as refused:
        appointments.cancel(patient, appointment.id)
    assert refused.value.status == 409


def test_nobody_else_answers_and_nothing_changes_once_it_began(app, referral):
    appointment = _book(referral, 10)
    with pytest.raises(ConsultRefused) as refused:
        appointments.cancel(referral["doctor"], appointment.id)
    assert refused.value.status == 404
    db.session.rollback()
    clock.freeze(_at(MONDAY, 10, 1))
    with pytest.raises(ConsultRefused) as refused:
        appointments.cancel(referral["patient"], appointment.id)
    assert refused.value.status == 409


def test_the_patient_answers_on_the_page_and_the_specialist_sees_the_day(app, referral):
    from tests.fixtures.accounts import sign_in

    appointment = _book(referral, 11)
    patient_client, specialist_client = app.test_client(), app.test_client()
    for c in (patient_client, specialist_client):
        c.set_cookie("lang", "en")
    app.config.update(RATELIMIT_LOGIN_ACCOUNT_IP="1000 per minute",
                      RATELIMIT_SECOND_FACTOR="1000 per minute")
    assert sign_in(patient_client, referral["patient"]).status_code == 302
    assert sign_in(specialist_client, referral["specialist"]).status_code == 302
    page = patient_client.get("/consult/appointments").get_data(as_text=True)
    assert "Cardiology" in page and "Booked: please confirm" in page and "11:00" in page
    assert "A specialist appointment was booked for you" in page
    r = patient_client.post(f"/consult/appointments/{appointment.id}/confirm")
    assert r.status_code == 302
    assert "Confirmed" in patient_client.get("/consult/appointments").get_data(as_text=True)
    day = specialist_client.get(f"/consult/day?date={MONDAY.isoformat()}").get_data(as_text=True)
    assert "11:00–11:30" in day and referral["consultation"].insured.full_name in day
    assert patient_client.post(f"/consult/appointments/{appointment.id}/nope").status_code == 404
    other = app.test_client()
    assert other.post(f"/consult/appointments/{appointment.id}/cancel").status_code == 302
    db.session.commit()
    assert db.session.get(Appointment, appointment.id).status == "confirmed"


def test_the_on_duty_doctor_refers_from_the_room(app, referral):
    from tests.fixtures.accounts import sign_in

    app.config.update(RATELIMIT_LOGIN_ACCOUNT_IP="1000 per minute",
                      RATELIMIT_SECOND_FACTOR="1000 per minute")
    doctor_client, patient_client = app.test_client(), app.test_client()
    for c in (doctor_client, patient_client):
        c.set_cookie("lang", "en")
    assert sign_in(doctor_client, referral["doctor"]).status_code == 302
    assert sign_in(patient_client, referral["patient"]).status_code == 302
    cid, sid = referral["consultation"].id, referral["specialty"].id
    room = doctor_client.get(f"/consult/{cid}").get_data(as_text=True)
    assert f"/consult/{cid}/referral" in room
    page = doctor_client.get(f"/consult/{cid}/referral?specialty_id={sid}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "09:00" in text and "11:30" in text
    value = f"{referral['specialist'].id}|{_at(MONDAY, 9, 30).isoformat()}"
    r = doctor_client.post(f"/consult/{cid}/referral", data={
        "specialty_id": sid, "slot": value, "summary": "Palpitations, ECG attached"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    again = doctor_client.post(f"/consult/{cid}/referral", data={
        "specialty_id": sid, "slot": value, "summary": "Twice"})
    assert again.status_code == 409
    assert "no longer free" in again.get_data(as_text=True)
    missing = doctor_client.post(f"/consult/{cid}/referral", data={
        "specialty_id": sid, "slot": "", "summary": ""})
    assert missing.status_code == 422
    panel = patient_client.get(f"/consult/{cid}").get_data(as_text=True)
    assert "Specialist appointments" in panel and "Booked: please confirm" in panel
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
    assert patient_client.get(f"/consult/{cid}/referral").status_code == 403
