"""Who the doctor is: doctors have a name, a specialty from the list, languages and a
profile line; patients see "Dr Full Name, specialty" everywhere, never a staff email;
the queue shows the patient's language against the doctor's."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask_babel import force_locale, gettext
from icalendar import Calendar
from sqlalchemy import select

from accounts.audit import AuditEntry
from accounts.models import User
from consult import realtime
from consult.doctors import doctor_label
from consult.documents import services as documents
from consult.duty import queue as duty_queue
from consult.duty.requests import ConsultationRequest, request_consultation
from consult.models import Specialty
from consult.schedule import booking, notify
from core import clock, outbox
from core.access import STAFF_ROLES
from core.extensions import db
from core.outbox import OutboxMessage
from tests.fixtures.accounts import sign_in
from tests.fixtures.consult import COVERED
from tests.fixtures.documents import jpeg_bytes, upload
from tests.fixtures.schedule import MONDAY, _at

DOCTOR = "Aigerim Sadykova"
SPECIALIST = "Aliya Sarsenova"  # tests.fixtures.schedule.make_specialist


def _cardiology(make_specialty: Any) -> Specialty:
    specialty = make_specialty()
    db.session.commit()
    return specialty


# --- the label ---------------------------------------------------------------------------

def test_the_label_is_dr_name_and_specialty_in_the_page_language(app, make_specialty, make_user):
    _cardiology(make_specialty)
    specialist = make_user("doctor", email="kim@clinic.kz", full_name="Kim  Ivan",
                           specialty="cardiology")
    on_duty = make_user("doctor", email="duty@clinic.kz", full_name="Sadykova A.",
                        on_duty_doctor=True)
    pediatrician = make_user("doctor", email="ped@clinic.kz", full_name="Omarova Z.",
                             on_duty_doctor=True, pediatric=True)
    with app.test_request_context(), force_locale("en"):
        assert doctor_label(specialist) == "Dr Kim Ivan, Cardiology"
        assert doctor_label(on_duty) == "Dr Sadykova A., on-duty doctor"
        assert doctor_label(pediatrician) == "Dr Omarova Z., pediatrician"
        assert doctor_label(specialist, "ru") == "Врач Kim Ivan, Кардиология"


def test_a_doctor_without_a_name_is_never_shown_by_email(app, make_user):
    nameless = make_user("doctor", email="nameless@clinic.kz", on_duty_doctor=True)
    with app.test_request_context(), force_locale("en"):
        label = doctor_label(nameless)
    assert "@" not in label and label == "Your doctor, on-duty doctor"


# --- staff accounts ------------------------------------------------------------------------

def _add(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["staff", "add", *args])


def test_staff_add_refuses_a_doctor_without_a_name_or_with_an_unknown_specialty(app,
                                                                                make_specialty):
    _cardiology(make_specialty)
    nameless = _add(app, "--email", "doc@clinic.kz", "--role", "doctor", "--on-duty")
    assert nameless.exit_code == 1 and "full name" in nameless.output
    unknown = _add(app, "--email", "doc@clinic.kz", "--role", "doctor", "--name", "Kim Ivan",
                   "--specialty", "cardio")
    assert unknown.exit_code == 1 and "no specialty cardio" in unknown.output
    bad_language = _add(app, "--email", "doc@clinic.kz", "--role", "doctor", "--on-duty",
                        "--name", "Kim Ivan", "--speaks", "kk,de")
    assert bad_language.exit_code == 1 and "de" in bad_language.output
    assert db.session.scalar(select(User).where(User.email == "doc@clinic.kz")) is None
    ok = _add(app, "--email", "doc@clinic.kz", "--role", "doctor", "--name", "Kim Ivan",
              "--specialty", "cardiology", "--speaks", "kk, ru", "--profile", "18 years")
    assert ok.exit_code == 0, ok.output
    user = db.session.scalar(select(User).where(User.email == "doc@clinic.kz"))
    assert (user.full_name, user.specialty, user.languages, user.profile_line) == (
        "Kim Ivan", "cardiology", "ru,kk", "18 years")
    # Operators and admins still need no name.
    assert _add(app, "--email", "op@insurer.kz", "--role", "operator").exit_code == 0


def test_the_admin_adds_a_doctor_with_a_specialty_picker_and_languages(client, no_csrf,
                                                                       make_specialty, make_user):
    specialty = _cardiology(make_specialty)
    sign_in(client, make_user("admin"))
    client.set_cookie("lang", "en")
    page = client.get("/staff/").get_data(as_text=True)
    assert '<select id="specialty" name="specialty">' in page
    assert f'<option value="{specialty.code}">Cardiology</option>' in page
    assert 'type="checkbox" value="kk"' in page
    nameless = client.post("/staff/", data={"email": "doc@clinic.kz", "role": "doctor",
                                            "specialty": "cardiology"})
    assert nameless.status_code == 422
    html = nameless.get_data(as_text=True)
    # Said under the name field, the one to correct (not under the email).
    assert re.search(r'id="full_name-error">\s*Enter the doctor&#39;s full name: patients '
                     r'see it\.', html), html
    bare = client.post("/staff/", data={"email": "doc@clinic.kz", "role": "doctor",
                                        "full_name": "Kim Ivan"})
    assert bare.status_code == 422
    assert re.search(r'id="on_duty-error">\s*A doctor is on duty, a specialist, or both',
                     bare.get_data(as_text=True))
    r = client.post("/staff/", data={
        "email": "doc@clinic.kz", "role": "doctor", "full_name": "Kim Ivan",
        "specialty": "cardiology", "languages": ["ru", "kk"], "profile_line": "Cardiologist"})
    assert r.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "doc@clinic.kz"))
    assert (user.specialty, user.languages, user.profile_line) == (
        "cardiology", "ru,kk", "Cardiologist")
    assert "Dr Kim Ivan, Cardiology" in client.get("/staff/").get_data(as_text=True)


def test_the_admin_edits_a_doctors_profile_and_it_is_audited(client, no_csrf, make_specialty,
                                                             make_user):
    _cardiology(make_specialty)
    sign_in(client, make_user("admin"))
    doctor = make_user("doctor", email="doc@clinic.kz", on_duty_doctor=True)
    form = client.get(f"/staff/{doctor.id}/edit").get_data(as_text=True)
    assert 'name="full_name"' in form and 'name="profile_line"' in form
    refused = client.post(f"/staff/{doctor.id}/edit", data={"on_duty": "y"})
    assert refused.status_code == 422
    r = client.post(f"/staff/{doctor.id}/edit", data={
        "full_name": "Sadykova Aigerim", "on_duty": "y", "specialty": "cardiology",
        "languages": ["kk"], "profile_line": "12 years on call"})
    assert r.status_code == 302
    db.session.refresh(doctor)
    assert (doctor.full_name, doctor.specialty, doctor.languages, doctor.on_duty_doctor) == (
        "Sadykova Aigerim", "cardiology", "kk", True)
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "staff.profile_changed"))
    assert entry.subject == f"user:{doctor.id}"
    assert entry.details["changed"]["full_name"] == "Sadykova Aigerim"
    assert "Staff profile changed" in client.get(
        "/staff/audit/?action=staff.profile_changed").get_data(as_text=True)
    assert client.get("/staff/999999/edit").status_code == 404
    assert client.get(f"/staff/{2**70}/edit").status_code == 404  # not a 500


# --- the queue -----------------------------------------------------------------------------

def test_the_queue_shows_the_patients_language_and_marks_a_match(app, client, no_csrf,
                                                                 activated_patient,
                                                                 on_shift_doctor):
    clock.freeze(COVERED - timedelta(days=20))
    patient, insured = activated_patient(client)
    clock.freeze(COVERED)
    doctor = on_shift_doctor(full_name=DOCTOR, languages="ru,kk")
    request_consultation(
        patient, ConsultationRequest(insured.id, "Cough", "chat"), "kk")
    db.session.commit()
    desk = app.test_client()
    desk.set_cookie("lang", "en")
    sign_in(desk, doctor)
    [item] = desk.get("/api/v1/queue").json["items"]
    assert (item["language"], item["language_match"]) == ("kk", True)
    page = desk.get("/consult/desk").get_data(as_text=True)
    assert "Your languages: Russian, Kazakh" in page and "(you speak it)" in page
    doctor.languages = "en"
    db.session.commit()
    assert desk.get("/api/v1/queue").json["items"][0]["language_match"] is False
    assert "(not among your languages)" in desk.get("/consult/desk").get_data(as_text=True)


# --- a patient's journey: no staff email anywhere ------------------------------------------

@pytest.fixture
def journey(app: Any, client: Any, no_csrf: Any, activated_patient: Any, make_specialist: Any,
            make_specialty: Any, on_shift_doctor: Any) -> dict[str, Any]:
    """A patient who activated, was taken by an on-duty doctor, uploaded a document the
    doctor reviewed, and was referred to a cardiologist next Monday; the reminders of
    that appointment were queued. Everything in English."""
    next_monday = MONDAY + timedelta(days=7)
    clock.freeze(_at(MONDAY, 6) - timedelta(days=20))
    patient, insured = activated_patient(client)
    patient.language = "en"
    clock.freeze(_at(MONDAY, 6))
    doctor = on_shift_doctor(full_name=DOCTOR, email="aigerim.staff@clinic.kz",
                             languages="ru,kk")
    consultation = request_consultation(
        patient, ConsultationRequest(insured.id, "Chest pain", "chat"), "en")
    duty_queue.take(doctor, consultation.id)
    db.session.commit()
    client.set_cookie("lang", "en")
    assert sign_in(client, patient).status_code == 302
    doc_id = upload(client, jpeg_bytes(), insured_id=insured.id,
                    consultation_id=consultation.id).json["id"]
    documents.review(doctor, doc_id, "Normal.")
    specialty = make_specialty()
    specialist = make_specialist(hours={0: [("09:00", "12:00")]})
    appointment = booking.book(doctor, consultation.id, booking.BookingRequest(
        specialty_id=specialty.id, specialist_id=specialist.id,
        starts_at=_at(next_monday, 9).isoformat(), summary="ECG changes"))
    db.session.commit()
    for before in (timedelta(hours=23), timedelta(minutes=10)):
        clock.freeze(_at(next_monday, 9) - before)
        notify.send_due_reminders()
        db.session.commit()
    assert sign_in(client, patient).status_code == 302  # a week on: a new session
    return {"patient": patient, "consultation": consultation, "doc_id": doc_id,
            "appointment": appointment}


def _patient_pages(client: Any, j: dict[str, Any]) -> dict[str, str]:
    c, a = j["consultation"], j["appointment"]
    urls = {
        "room": f"/consult/{c.id}", "history": "/consult/history",
        "appointments": "/consult/appointments", "account": "/account",
        "appointments_panel": f"/consult/{c.id}/appointments",
        "specialist_room": f"/consult/{a.consultation_id}",
        "documents": "/documents/", "document": f"/documents/{j['doc_id']}",
        "documents_panel": f"/documents/consultation/{c.id}",
        "api_consultation": f"/api/v1/consultations/{c.id}",
        "api_consultations": "/api/v1/consultations",
        "api_document": f"/api/v1/documents/{j['doc_id']}",
        "api_messages": f"/api/v1/consultations/{c.id}/messages",
    }
    pages = {}
    for name, url in urls.items():
        r = client.get(url)
        assert r.status_code == 200, (name, url, r.status_code)
        pages[name] = r.get_data(as_text=True)
    return pages


def _patient_mail(patient: User) -> dict[str, str]:
    mails = {}
    for msg in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.to_addr == patient.email).order_by(OutboxMessage.id)):
        message = outbox.build_message(msg)
        parts = [message.subject, message.body, message.html or ""]
        for attachment in message.attachments:
            raw = attachment.data.decode("utf-8", "replace")
            parts.append(raw.replace("\r\n ", ""))  # unfolded, as a calendar reads it
            if attachment.content_type.startswith("text/calendar"):
                for event in Calendar.from_ical(attachment.data).walk("VEVENT"):
                    parts += [str(event.get("summary")), str(event.get("description"))]
                    mails[f"{msg.id}:ics"] = str(event.get("description"))
        mails[f"{msg.id}:{msg.template}"] = "\n".join(parts)
    return mails


def test_no_staff_email_reaches_a_patient_and_the_doctor_is_dr_name(app, client, journey):
    staff_emails = set(db.session.scalars(select(User.email).where(
        User.role.in_(STAFF_ROLES))))
    assert "aigerim.staff@clinic.kz" in staff_emails and len(staff_emails) >= 2
    pages = _patient_pages(client, journey)
    mails = _patient_mail(journey["patient"])
    templates = {key.split(":", 1)[1] for key in mails}
    assert {"appointment_booked", "appointment_reminder_day",
            "appointment_reminder_soon"} <= templates, templates
    realtime_status = str(realtime.status_payload(journey["consultation"]))
    for name, text in {**pages, **mails, "realtime status": realtime_status}.items():
        for email in staff_emails:
            assert email.lower() not in text.lower(), f"{email} shown to the patient in {name}"

    on_duty = f"Dr {DOCTOR}, on-duty doctor"
    cardiologist = f"Dr {SPECIALIST}, Cardiology"
    assert on_duty in pages["room"] and on_duty in pages["history"]
    assert f"Reviewed by {on_duty}" in pages["document"]
    assert cardiologist in pages["appointments"] and cardiologist in pages["specialist_room"]
    assert pages["api_consultation"].count(on_duty) == 1
    # The live status is written for the patient's page, in the consultation's language.
    consultation = journey["consultation"]
    with force_locale(consultation.language):
        expected = gettext("Dr %(name)s, %(specialty)s", name=DOCTOR,
                           specialty=gettext("on-duty doctor"))
    assert realtime.status_payload(consultation)["doctor"] == expected
    for key, text in mails.items():
        if "appointment" in key or key.endswith(":ics"):
            assert cardiologist in text, key
    assert any(key.endswith(":ics") for key in mails)
