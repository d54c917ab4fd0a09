"""Demo data: printed policies that activate, staff that can sign in with their keys."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp
from flask_babel import force_locale
from sqlalchemy import select

from activation.models import Insured
from core import clock
from core.extensions import db
from service.demo import (
    DEMO_STAFF_PASSWORD,
    demo_code,
    ensure_demo_policies,
    ensure_demo_staff,
)


def test_demo_policies_are_kept_available_and_activate_with_their_printed_codes(app, client):
    policies = ensure_demo_policies()
    db.session.commit()
    assert len(policies) == 10
    number, code, _product = policies[0]
    assert code == demo_code(number)
    r = client.post("/api/v1/activations", json={
        "policy_number": number, "activation_code": code, "iin": "871008401427",
        "full_name": "Сейткали Айгерім", "email": "demo@mail.kz", "consent": True})
    assert r.status_code == 201
    again = ensure_demo_policies()
    db.session.commit()
    assert len(again) == 10 and number not in {n for n, _, _ in again}


def test_demo_staff_sign_in_with_the_printed_password_and_key(app, client):
    staff = ensure_demo_staff()
    db.session.commit()
    assert ensure_demo_staff() == staff  # idempotent
    app.config["WTF_CSRF_ENABLED"] = False
    email, _role, key = staff[0]
    client.post("/login", data={"email": email, "password": DEMO_STAFF_PASSWORD})
    r = client.post("/login/code", data={"code": pyotp.TOTP(key).at(clock.now().timestamp())})
    assert r.status_code == 302 and r.headers["Location"].endswith("/staff/")


def test_demo_doctors_have_names_languages_and_a_specialist_with_hours(app):
    from accounts.models import User
    from consult.doctors import doctor_label
    from consult.models import Specialty
    from consult.schedule.models import WorkingHours

    ensure_demo_staff()
    ensure_demo_staff()  # a restart adds nothing twice
    db.session.commit()
    codes = set(db.session.scalars(select(Specialty.code)))
    assert {"cardiology", "neurology", "pediatrics"} <= codes
    doctors = db.session.scalars(select(User).where(User.role == "doctor")).all()
    assert doctors and all(d.full_name and d.languages and d.profile_line for d in doctors)
    cardiologist = next(d for d in doctors if d.specialty == "cardiology")
    hours = db.session.scalars(select(WorkingHours).where(
        WorkingHours.doctor_id == cardiologist.id)).all()
    assert sorted(h.weekday for h in hours) == [0, 1, 2, 3, 4, 5]
    # Every demo specialty has a specialist with hours: a referral to any of them works.
    for code in ("cardiology", "neurology", "pediatrics"):
        specialist = next(d for d in doctors if d.specialty == code)
        assert db.session.scalar(select(WorkingHours.id).where(
            WorkingHours.doctor_id == specialist.id).limit(1)) is not None
    with force_locale("en"):
        assert doctor_label(cardiologist) == "Dr Ким Иван Петрович, Cardiology"


def test_on_a_fresh_demo_a_referral_to_a_seeded_specialty_books_a_slot(app, client):
    from accounts.models import User
    from consult.duty import queue as duty_queue
    from consult.duty.requests import ConsultationRequest, request_consultation
    from consult.duty.shifts import start_shift
    from consult.models import Specialty
    from consult.schedule import booking, slots
    from consult.schedule.models import Appointment

    monday = datetime(2026, 3, 30, 11, 0, tzinfo=clock.zone())  # Almaty
    clock.freeze(monday - timedelta(days=20))
    policies = ensure_demo_policies()
    ensure_demo_staff()
    db.session.commit()
    number, code, _product = next(p for p in policies if p[2] == "personal_doctor")
    assert client.post("/api/v1/activations", json={
        "policy_number": number, "activation_code": code, "iin": "871008401427",
        "full_name": "Сейткали Айгерім", "email": "demo@mail.kz", "consent": True,
    }).status_code == 201
    clock.freeze(monday)
    patient = db.session.scalar(select(User).where(User.email == "demo@mail.kz"))
    insured = db.session.scalar(select(Insured).where(Insured.account_id == patient.id))
    doctor = db.session.scalar(select(User).where(User.email == "doctor@demo.personal-doctor.kz"))
    start_shift(doctor)
    consultation = request_consultation(
        patient, ConsultationRequest(insured.id, "Chest pain on stairs", "chat"), "ru")
    duty_queue.take(doctor, consultation.id)
    db.session.commit()

    cardiology = db.session.scalar(select(Specialty).where(Specialty.code == "cardiology"))
    free = slots.free_slots(cardiology)
    assert free, "the demo cardiologist offers slots"
    appointment = booking.book(doctor, consultation.id, booking.BookingRequest(
        specialty_id=cardiology.id, specialist_id=free[0].specialist_id,
        starts_at=free[0].starts_at.isoformat(), summary="Exertional chest pain, ECG please"))
    db.session.commit()
    assert db.session.get(Appointment, appointment.id).status == "booked"
