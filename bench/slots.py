"""Free-slot search for a specialty with 50 specialists over 14 days (issue 7).

Builds a fresh database (SQLite file, or PostgreSQL with ``--db postgres``): one
specialty with 30-minute slots, 50 specialists working Monday–Friday 09:00–13:00 and
14:00–18:00 (Asia/Almaty), a fifth of them with a day off and an extra Saturday in the
fortnight, and about a third of the slots booked. Then times, in this process,
``consult.schedule.slots.free_slots`` for the next 14 days (the doctor's referral
form asks exactly this), against a baseline measured in the same run: the same three
queries alone (hours, exceptions, bookings), so the ratio shows what the slot
arithmetic adds. Target (issue 7): p95 under 50 ms on PostgreSQL.

    .venv/bin/python bench/slots.py [--db postgres] [--runs 300]

Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time as walltime
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import fresh_database, log, machine  # noqa: E402

SPECIALISTS = 50
DAYS = 14
FIRST_DAY = date(2026, 3, 30)  # a Monday


def build(app, rng: random.Random) -> tuple[int, int]:
    """The specialty, specialists, hours, exceptions and bookings; returns the
    specialty's id and the number of appointments."""
    from accounts.models import User
    from activation.models import Insured
    from consult.models import Consultation
    from consult.schedule import slots
    from consult.schedule.models import (
        Appointment,
        AvailabilityException,
        Specialty,
        WorkingHours,
    )
    from core import clock
    from core.extensions import db

    now = clock.now()
    specialty = Specialty(code="cardiology", name_ru="Кардиология", name_kk="Кардиология",
                          name_en="Cardiology", slot_minutes=30)
    db.session.add(specialty)
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
        patient_id=patient.id, insured_id=insured.id, activation_id=_activation(db, insured),
        doctor_id=referrer.id, product="personal_doctor", channel="chat", language="ru",
        complaint_encrypted="x", status="active", coverage="covered",
        payment_status="not_required", requested_at=now, taken_at=now)
    db.session.add(consultation)
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
    db.session.commit()
    offered = slots.free_slots(specialty, FIRST_DAY, DAYS)
    booked = rng.sample(offered, len(offered) // 3)
    for slot in booked:
        held = Consultation(
            patient_id=patient.id, insured_id=insured.id, activation_id=consultation.activation_id,
            doctor_id=slot.specialist_id, product="personal_doctor", channel="video",
            language="ru", complaint_encrypted="x", status="scheduled", coverage="covered",
            payment_status="not_required", requested_at=now)
        db.session.add(held)
        db.session.flush()
        db.session.add(Appointment(
            consultation_id=held.id,
            specialty_id=specialty.id, specialist_id=slot.specialist_id,
            patient_id=patient.id, insured_id=insured.id,
            referring_consultation_id=consultation.id, referred_by_id=referrer.id,
            starts_at=slot.starts_at, ends_at=slot.ends_at, status="booked",
            summary_encrypted="x", created_at=now))
    db.session.commit()
    return specialty.id, len(booked)


def _activation(db, insured) -> int:
    from activation.models import Activation, Policy
    from core import clock

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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--runs", type=int, default=300)
    p.add_argument("--no-settle", action="store_true",
                   help="skip core.app.settle_memory (gc.freeze) after loading")
    args = p.parse_args(argv)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp, \
            fresh_database(args.db, Path(tmp), args.pg_url, "pd_bench_slots") as (url, desc):
        os.environ.update(INSTANCE_PATH=tmp)
        from sqlalchemy import select

        from consult.schedule import slots
        from consult.schedule.models import (
            HOLDING,
            Appointment,
            AvailabilityException,
            Specialty,
            WorkingHours,
        )
        from core import clock
        from core.app import create_app
        from core.extensions import db

        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                          "SECRET_KEY": "bench", "ACTIVATION_CODE_KEY": "bench"})
        with app.app_context():
            db.create_all()
            clock.freeze(datetime.combine(FIRST_DAY, time(7), clock.zone()).astimezone(UTC))
            specialty_id, booked = build(app, rng)
            specialty = db.session.get(Specialty, specialty_id)
            ids = slots.specialists_of(specialty)
            db.session.commit()
            if not args.no_settle:  # as `flask serve` and gunicorn workers do after loading
                from core.app import settle_memory

                settle_memory()

            def baseline() -> None:
                end = FIRST_DAY + timedelta(days=DAYS)
                db.session.execute(select(WorkingHours).where(
                    WorkingHours.doctor_id.in_(ids))).all()
                db.session.execute(select(AvailabilityException).where(
                    AvailabilityException.doctor_id.in_(ids),
                    AvailabilityException.day.between(FIRST_DAY, end))).all()
                db.session.execute(select(Appointment.specialist_id, Appointment.starts_at)
                                   .where(Appointment.specialist_id.in_(ids),
                                          Appointment.status.in_(HOLDING))).all()

            def search() -> int:
                return len(slots.free_slots(specialty, FIRST_DAY, DAYS))

            for _ in range(20):  # warm-up
                search()
                baseline()
                db.session.rollback()
            timings = {"baseline": [], "search": []}
            found = 0
            for _ in range(args.runs):  # interleaved: the same machine state for both
                for name, fn in (("baseline", baseline), ("search", search)):
                    start = walltime.perf_counter()
                    result = fn()
                    timings[name].append((walltime.perf_counter() - start) * 1000)
                    db.session.rollback()
                    if name == "search":
                        found = result
            m = machine()
            log(f"{desc}; {m}")
            log(f"{SPECIALISTS} specialists, {DAYS} days, {booked} booked, {found} free")
            for name, values in timings.items():
                log(f"{name:>8}: p50 {statistics.median(values):6.2f} ms  "
                    f"p95 {percentile(values, 0.95):6.2f} ms  max {max(values):6.2f} ms")
            ratio = percentile(timings["search"], 0.95) / percentile(timings["baseline"], 0.95)
            log(f"search / baseline at p95: {ratio:.2f}x")
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
