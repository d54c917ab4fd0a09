"""The appointment's room: booked as a scheduled consultation with the specialist,
opened five minutes before the start (moved clock), no-shows, the conclusion in the
patient's history, coverage on the appointment's date, shared documents."""

from __future__ import annotations

from consult.duty.closing import Conclusion, close
from consult.models import Consultation
from consult.schedule import appointments, booking
from consult.schedule.cli import upkeep
from consult.schedule.models import Appointment
from core import clock
from core.db import writing
from core.extensions import db
from tests.fixtures.documents import jpeg_bytes, upload
from tests.fixtures.schedule import MONDAY, _at, _request


def test_the_room_opens_five_minutes_before_and_the_conclusion_reaches_the_history(app,
                                                                                 referral,
                                                                                 signed_in_clients):
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, 11))
    db.session.commit()
    held = db.session.get(Consultation, appointment.consultation_id)
    assert (held.status, held.doctor_id, held.coverage) == (
        "scheduled", referral["specialist"].id, "covered")
    assert held.complaint == "ECG changes, please"  # the specialist reads the summary first
    patient_c, specialist_c = signed_in_clients(referral["patient"], referral["specialist"])
    page = patient_c.get(f"/consult/{held.id}").get_data(as_text=True)
    assert "The consultation opens at 10:55" in page
    clock.freeze(_at(MONDAY, 10, 54))  # staff sessions end after 15 idle minutes
    patient_c, specialist_c = signed_in_clients(referral["patient"], referral["specialist"])
    specialist_c.get(f"/consult/{held.id}")
    db.session.expire_all()
    assert db.session.get(Consultation, held.id).status == "scheduled"
    clock.freeze(_at(MONDAY, 10, 55))
    page = specialist_c.get(f"/consult/{held.id}").get_data(as_text=True)
    assert "Referral summary" in page and "ECG changes" in page
    assert "Specialist consultation, booked by" in page
    patient_c.get(f"/consult/{held.id}")
    db.session.expire_all()
    assert db.session.get(Consultation, held.id).status == "active"
    booked = db.session.get(Appointment, appointment.id)
    assert booked.patient_joined_at and booked.specialist_joined_at
    clock.freeze(_at(MONDAY, 11, 20))
    with writing():
        upkeep()  # both came: no no-show
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "booked"
    close(referral["specialist"], held.id, Conclusion(
        "Palpitations", "Sinus rhythm", "Holter monitoring", ""))
    from consult.schedule import rooms

    rooms.completed(held.id)
    db.session.commit()
    assert db.session.get(Appointment, appointment.id).status == "completed"
    history = patient_c.get("/consult/history").get_data(as_text=True)
    assert "Sinus rhythm" in history
    assert "Specialist consultation, referred from the consultation of" in history
    assert f'href="/consult/{referral["consultation"].id}"' in history


def test_a_side_absent_fifteen_minutes_after_the_start_is_a_no_show(app, referral,
                                                                    signed_in_clients):
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, 10))
    db.session.commit()
    clock.freeze(_at(MONDAY, 9, 58))
    (specialist_c,) = signed_in_clients(referral["specialist"])
    specialist_c.get(f"/consult/{appointment.consultation_id}")
    clock.freeze(_at(MONDAY, 10, 14))
    with writing():
        upkeep()
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "booked"
    clock.freeze(_at(MONDAY, 10, 15))
    with writing():
        upkeep()
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "no_show"
    assert db.session.get(Consultation, appointment.consultation_id).status == "cancelled"
    assert [a.id for a in appointments.needing_new_time()] == [appointment.id]  # the desk


def test_coverage_is_decided_on_the_appointments_date(app, client, no_csrf, self_pay_referral):
    """A policy activated 20 days before Monday is past its 15-day waiting period; one
    activated 10 days before is not: that appointment is self-pay, paid on confirming
    and refunded on cancelling."""
    r = self_pay_referral(client)
    c, doctor, patient = r["consultation"], r["doctor"], r["patient"]
    appointment = booking.book(doctor, c.id, _request(r, 9))
    db.session.commit()
    held = db.session.get(Consultation, appointment.consultation_id)
    assert (held.coverage, held.payment_status, held.price_amount) == ("self_pay", "pending",
                                                                       5000)
    appointments.confirm(patient, appointment.id)
    db.session.commit()
    assert db.session.get(Consultation, held.id).payment_status == "paid"
    appointments.cancel(patient, appointment.id)
    db.session.commit()
    held = db.session.get(Consultation, held.id)
    assert (held.status, held.payment_status) == ("cancelled", "refunded")


def test_the_specialist_sees_the_shared_documents_before_the_room_opens(app, referral,
                                                                        signed_in_clients):
    patient_c, specialist_c = signed_in_clients(referral["patient"], referral["specialist"])
    shared = upload(patient_c, jpeg_bytes(), insured_id=referral["consultation"].insured_id,
                    title="ECG").json["id"]
    private = upload(patient_c, jpeg_bytes(), insured_id=referral["consultation"].insured_id,
                     title="Other").json["id"]
    assert specialist_c.get(f"/documents/{shared}").status_code == 404
    booking.book(referral["doctor"], referral["consultation"].id,
                 _request(referral, 9, document_ids=(shared,)))
    db.session.commit()
    assert specialist_c.get(f"/documents/{shared}").status_code == 200
    assert specialist_c.get(f"/documents/{private}").status_code == 404


def test_a_request_for_another_time_reaches_the_on_duty_desk_and_is_rebooked(app, referral,
                                                                             on_shift_doctor,
                                                                             signed_in_clients):
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, 9))
    db.session.commit()
    appointments.request_reschedule(referral["patient"], appointment.id)
    db.session.commit()
    colleague = on_shift_doctor(full_name="Another On-Duty")
    (desk,) = signed_in_clients(colleague)
    page = desk.get("/consult/desk").get_data(as_text=True)
    assert "need a new time" in page and "asked for another time" in page
    cid = referral["consultation"].id
    r = desk.post(f"/consult/{cid}/referral", data={
        "specialty_id": referral["specialty"].id, "summary": "Moved at the patient's request",
        "slot": f"{referral['specialist'].id}|{_at(MONDAY, 10).isoformat()}"})
    assert r.status_code == 302
    assert "need a new time" not in desk.get("/consult/desk").get_data(as_text=True)


def test_answers_stop_when_the_room_opens(app, referral):
    from consult.errors import ConsultRefused

    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, 9))
    db.session.commit()
    clock.freeze(_at(MONDAY, 8, 55))
    try:
        appointments.cancel(referral["patient"], appointment.id)
        raise AssertionError("cancelled after the room opened")
    except ConsultRefused as exc:
        assert exc.status == 409  # noqa: PT017
    db.session.rollback()


def test_an_unpaid_self_pay_room_does_not_open_and_a_missing_specialist_refunds(
        app, client, no_csrf, self_pay_referral, signed_in_clients):
    r = self_pay_referral(client)
    c, doctor, patient = r["consultation"], r["doctor"], r["patient"]
    unpaid = booking.book(doctor, c.id, _request(r, 9))
    paid = booking.book(doctor, c.id, _request(r, 10))
    db.session.commit()
    appointments.confirm(patient, paid.id)
    db.session.commit()
    clock.freeze(_at(MONDAY, 8, 56))
    with writing():
        upkeep()
    db.session.expire_all()
    assert db.session.get(Consultation, unpaid.consultation_id).status == "scheduled"
    clock.freeze(_at(MONDAY, 9, 56))
    (patient_c,) = signed_in_clients(patient)
    patient_c.get(f"/consult/{paid.consultation_id}")  # the patient comes, the specialist not
    clock.freeze(_at(MONDAY, 10, 15))
    with writing():
        upkeep()
    db.session.expire_all()
    assert db.session.get(Appointment, paid.id).status == "no_show"
    assert db.session.get(Consultation, paid.consultation_id).payment_status == "refunded"


def test_in_the_room_the_specialist_sees_only_what_the_referral_shares(app, referral,
                                                                       signed_in_clients):
    patient_c, = signed_in_clients(referral["patient"])
    insured_id = referral["consultation"].insured_id
    shared = upload(patient_c, jpeg_bytes(), insured_id=insured_id, title="ECG").json["id"]
    private = upload(patient_c, jpeg_bytes(), insured_id=insured_id, title="Other").json["id"]
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, 9, document_ids=(shared,)))
    db.session.commit()
    clock.freeze(_at(MONDAY, 8, 56))
    specialist_c, patient_c = signed_in_clients(referral["specialist"], referral["patient"])
    specialist_c.get(f"/consult/{appointment.consultation_id}")
    db.session.expire_all()
    assert db.session.get(Consultation, appointment.consultation_id).status == "active"
    assert specialist_c.get(f"/documents/{shared}").status_code == 200
    assert specialist_c.get(f"/documents/{private}").status_code == 404
    panel = specialist_c.get(f"/documents/consultation/{appointment.consultation_id}")
    assert f'data-document="{shared}"' in panel.get_data(as_text=True)
    assert f'data-document="{private}"' not in panel.get_data(as_text=True)
