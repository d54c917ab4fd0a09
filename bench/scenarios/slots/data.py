"""The slots' data: one specialty with 30-minute slots, its specialists' hours and
exceptions, and a third of the offered slots booked from a referral."""

from __future__ import annotations

import random
from datetime import date, time, timedelta
from typing import Any

from accounts.models import User
from activation.models import Activation, Insured, Policy
from bench.harness import app as bench_app
from consult.models import Consultation, Specialty
from consult.schedule import slots
from consult.schedule.models import Appointment, AvailabilityException, WorkingHours
from core import clock

SPECIALISTS = 50
DAYS = 14
FIRST_DAY = date(2026, 3, 30)  # a Monday


def build(rng: random.Random) -> tuple[int, int]:
    """The specialty, specialists, hours, exceptions and bookings; returns the
    specialty's id and the number of appointments."""
    db = bench_app.db
    specialty = Specialty(code="cardiology", name_ru="Кардиология", name_kk="Кардиология",
                          name_en="Cardiology", slot_minutes=30)
    db.session.add(specialty)
    referral = _referral()
    _specialists(rng)
    db.session.commit()
    offered = slots.free_slots(specialty, FIRST_DAY, DAYS)
    booked = rng.sample(offered, len(offered) // 3)
    _book(specialty, referral, booked)
    db.session.commit()
    return specialty.id, len(booked)


def _referral() -> Any:
    """A patient's active consultation with a referring doctor, flushed."""
    db = bench_app.db
    now = clock.now()
    patient = User(email="bench-patient@mail.kz", role="patient", created_at=now,
                   language="ru", product_line="personal_doctor")
    referrer = User(email="bench-referrer@clinic.kz", role="doctor", created_at=now,
                    language="ru", on_duty_doctor=True)
    db.session.add_all([patient, referrer])
    db.session.flush()
    insured = Insured(account_id=patient.id, iin_hash="x" * 64, iin_encrypted="x",
                      full_name="Bench Patient", birth_date=date(1980, 1, 1), sex="male")
    db.session.add(insured)
    db.session.flush()
    consultation = Consultation(
        patient_id=patient.id, insured_id=insured.id, activation_id=_activation(insured),
        doctor_id=referrer.id, product="personal_doctor", channel="chat", language="ru",
        complaint_encrypted="x", status="active", coverage="covered",
        payment_status="not_required", requested_at=now, taken_at=now)
    db.session.add(consultation)
    return consultation


def _activation(insured: Any) -> int:
    db = bench_app.db
    now = clock.now()
    policy = Policy(number="BENCH-1", product="personal_doctor", code_hash="x" * 64,
                    imported_at=now, activated_at=now)
    db.session.add(policy)
    db.session.flush()
    activation = Activation(
        policy_id=policy.id, insured_id=insured.id, account_id=insured.account_id,
        product="personal_doctor", activated_at=now, activated_on=FIRST_DAY,
        coverage_starts_on=FIRST_DAY, coverage_ends_on=FIRST_DAY + timedelta(days=300),
        consent_version="bench", consent_given_at=now, locale="ru")
    db.session.add(activation)
    db.session.flush()
    return activation.id


def _specialists(rng: random.Random) -> None:
    """Monday–Friday 09:00–13:00 and 14:00–18:00; a fifth with a day off and an extra
    Saturday."""
    db = bench_app.db
    now = clock.now()
    specialists = []
    for n in range(SPECIALISTS):
        doctor = User(email=f"bench-cardio-{n}@clinic.kz", role="doctor", created_at=now,
                      language="ru", specialty="cardiology", full_name=f"Cardiologist {n}")
        db.session.add(doctor)
        specialists.append(doctor)
    db.session.flush()
    for n, doctor in enumerate(specialists):
        for weekday in range(5):
            db.session.add(WorkingHours(doctor_id=doctor.id, weekday=weekday,
                                        starts=time(9), ends=time(13)))
            db.session.add(WorkingHours(doctor_id=doctor.id, weekday=weekday,
                                        starts=time(14), ends=time(18)))
        if n % 5 == 0:
            db.session.add(AvailabilityException(
                doctor_id=doctor.id, day=FIRST_DAY + timedelta(days=rng.randrange(5)),
                kind="off"))
            db.session.add(AvailabilityException(
                doctor_id=doctor.id, day=FIRST_DAY + timedelta(days=5), kind="extra",
                starts=time(10), ends=time(14)))


def _book(specialty: Any, referral: Any, booked: list[Any]) -> None:
    db = bench_app.db
    now = clock.now()
    for slot in booked:
        held = Consultation(
            patient_id=referral.patient_id, insured_id=referral.insured_id,
            activation_id=referral.activation_id, doctor_id=slot.specialist_id,
            product="personal_doctor", channel="video", language="ru",
            complaint_encrypted="x", status="scheduled", coverage="covered",
            payment_status="not_required", requested_at=now)
        db.session.add(held)
        db.session.flush()
        db.session.add(Appointment(
            consultation_id=held.id,
            specialty_id=specialty.id, specialist_id=slot.specialist_id,
            patient_id=referral.patient_id, insured_id=referral.insured_id,
            referring_consultation_id=referral.id, referred_by_id=referral.doctor_id,
            starts_at=slot.starts_at, ends_at=slot.ends_at, status="booked",
            summary_encrypted="x", created_at=now))
