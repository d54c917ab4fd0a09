"""The calls' data: one patient with an activated policy, one on-duty doctor with TOTP,
and one active video consultation between them, inserted with the app's models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyotp

from accounts.models import User
from accounts.passwords import hash_password
from activation.models import Activation, Insured, Policy
from bench.harness import app as bench_app
from bench.harness import env as bench_env
from consult.models import Consultation
from core import clock
from core.crypto import encrypt, lookup_hash

PASSWORD = "bench calls correct horse"  # noqa: S105


@dataclass(frozen=True)
class People:
    consultation: int
    patient_email: str
    doctor_email: str
    totp_key: str


def seed(env: dict[str, str]) -> People:
    """Insert the two people and their consultation; this process's connections closed."""
    bench_env.adopt(env)
    app = bench_app.build()
    key = pyotp.random_base32()
    with app.app_context():
        patient, doctor, insured, activation_id = _patient_and_doctor(key)
        consultation = _consultation(patient, doctor, insured, activation_id)
        bench_app.db.session.commit()
        people = People(consultation.id, patient.email, doctor.email, key)
    bench_app.release(app)
    return people


def _patient_and_doctor(key: str) -> tuple[Any, Any, Any, int]:
    db = bench_app.db
    now, today = clock.now(), clock.today()
    patient = User(email="calls-patient@example.kz", role="patient",
                   product_line="personal_doctor", full_name="Patient Bench",
                   language="en", created_at=now, password_hash=hash_password(PASSWORD))
    doctor = User(email="calls-doctor@example.kz", role="doctor", full_name="Doctor Bench",
                  language="en", created_at=now, on_duty_doctor=True,
                  password_hash=hash_password(PASSWORD), totp_secret=encrypt(key),
                  totp_enabled=True)
    policy = Policy(number="CALLS-0000001", product="personal_doctor", code_hash="0" * 64,
                    imported_at=now, failed_attempts=0, activated_at=now)
    db.session.add_all([patient, doctor, policy])
    db.session.flush()
    insured = Insured(account_id=patient.id, iin_hash=lookup_hash("calls-bench", "iin"),
                      iin_encrypted=encrypt("871008401427"), full_name=patient.full_name,
                      birth_date=date(1987, 10, 8), sex="female")
    db.session.add(insured)
    db.session.flush()
    activation = Activation(policy_id=policy.id, insured_id=insured.id,
                            account_id=patient.id, product="personal_doctor",
                            activated_at=now, activated_on=today,
                            coverage_starts_on=today - timedelta(days=30),
                            coverage_ends_on=today + timedelta(days=335),
                            consent_version="2026-11-01", consent_given_at=now,
                            client_ip="127.0.0.1", locale="en")
    db.session.add(activation)
    db.session.flush()
    return patient, doctor, insured, activation.id


def _consultation(patient: Any, doctor: Any, insured: Any, activation_id: int) -> Any:
    now = clock.now()
    consultation = Consultation(
        patient_id=patient.id, insured_id=insured.id, activation_id=activation_id,
        doctor_id=doctor.id, product="personal_doctor", channel="video", language="en",
        complaint_encrypted=encrypt("Rash on the arm since yesterday."), status="active",
        coverage="covered", price_amount=0, currency="KZT", payment_status="not_required",
        requested_at=now - timedelta(minutes=5), taken_at=now - timedelta(minutes=1))
    bench_app.db.session.add(consultation)
    return consultation
