"""The chat's data: active consultations with their people and signed-in sessions,
inserted with the app's models; and the messages stored afterwards."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, update

from accounts.models import User, UserSession
from activation.models import Activation, Insured, Policy
from bench.harness import app as bench_app
from bench.harness import env as bench_env
from bench.harness import log
from consult.models import ChatMessage, Consultation
from core import clock
from core.crypto import digest, encrypt, lookup_hash


@dataclass(frozen=True)
class Pair:
    consultation: int
    patient_cookie: str
    doctor_cookie: str


def seed(env: dict[str, str], n: int) -> tuple[list[Pair], Any]:
    """Insert ``n`` active consultations with their people and signed-in sessions;
    return them with the app built in this process (for counting rows later)."""
    bench_env.adopt(env)
    app = bench_app.build()
    db = bench_app.db
    t0 = time.perf_counter()
    with app.app_context():
        patients, doctors, consultations = _consultations(n)
        cookie = _signed_in(app, patients + doctors)
        pairs = [Pair(c.id, cookie(c.patient_id), cookie(c.doctor_id))  # type: ignore[arg-type]
                 for c in consultations]
        db.session.commit()
        db.engine.dispose()
    log(f"seeded {n} consultations ({6 * n} rows + {2 * n} sessions) in "
        f"{time.perf_counter() - t0:.1f}s")
    return pairs, app


def _consultations(n: int) -> tuple[list[Any], list[Any], list[Any]]:
    """Patients (policy, insured person, activation), on-duty doctors and one active chat
    consultation per pair, flushed."""
    db = bench_app.db
    now, today = clock.now(), clock.today()
    iin = encrypt("871008401427")
    complaint = encrypt("Температура 38,2 со вчерашнего дня, болит голова.")
    patients = [User(email=f"chat-p{i}@example.kz", role="patient",
                     product_line="personal_doctor", full_name=f"Пациентова Анна {i}",
                     language="ru", created_at=now) for i in range(n)]
    doctors = [User(email=f"chat-d{i}@example.kz", role="doctor", full_name=f"Врач {i}",
                    language="ru", created_at=now, on_duty_doctor=True, totp_enabled=True)
               for i in range(n)]
    policies = [Policy(number=f"CHAT-{i:07d}", product="personal_doctor", code_hash="0" * 64,
                       imported_at=now, failed_attempts=0, activated_at=now) for i in range(n)]
    db.session.add_all(patients + doctors + policies)
    db.session.flush()
    insured = [Insured(account_id=p.id, iin_hash=lookup_hash(f"chat-{i}", "iin"),
                       iin_encrypted=iin, full_name=p.full_name, birth_date=date(1987, 10, 8),
                       sex="female") for i, p in enumerate(patients)]
    db.session.add_all(insured)
    db.session.flush()
    activations = [Activation(policy_id=pol.id, insured_id=ins.id, account_id=ins.account_id,
                              product="personal_doctor", activated_at=now, activated_on=today,
                              coverage_starts_on=today - timedelta(days=30),
                              coverage_ends_on=today + timedelta(days=335),
                              consent_version="2026-11-01", consent_given_at=now,
                              client_ip="127.0.0.1", locale="ru")
                   for pol, ins in zip(policies, insured, strict=True)]
    db.session.add_all(activations)
    db.session.flush()
    consultations = [
        Consultation(patient_id=a.account_id, insured_id=a.insured_id, activation_id=a.id,
                     doctor_id=d.id, product="personal_doctor", channel="chat", language="ru",
                     complaint_encrypted=complaint, status="active", coverage="covered",
                     price_amount=0, currency="KZT", payment_status="not_required",
                     requested_at=now - timedelta(minutes=5), taken_at=now - timedelta(minutes=1))
        for a, d in zip(activations, doctors, strict=True)]
    db.session.add_all(consultations)
    return patients, doctors, consultations


def _signed_in(app: Any, users: list[Any]) -> Any:
    """A server-side session for each of ``users``; returns ``cookie(user_id)``, the
    signed Flask session cookie that goes with it, as after a sign-in."""
    db = bench_app.db
    now = clock.now()
    tokens: dict[int, str] = {}
    for user in users:
        tokens[user.id] = secrets.token_urlsafe(32)
        db.session.add(UserSession(user_id=user.id, token_hash=digest(tokens[user.id]),
                                   created_at=now, last_seen_at=now, ip="127.0.0.1",
                                   user_agent="bench/chat.py"))
    db.session.flush()
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]

    def cookie(user_id: int) -> str:
        value = serializer.dumps({"sid": tokens[user_id], "_user_id": str(user_id),
                                  "_fresh": True, "_permanent": True})
        return f"{name}={value}"

    return cookie


def refresh_sessions(app: Any) -> None:
    """Mark every session as just used (the doctors' idle limit is 15 minutes)."""
    db = bench_app.db
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(update(UserSession).values(last_seen_at=clock.now()))
        db.engine.dispose()


def count_messages(app: Any) -> int:
    db = bench_app.db
    with app.app_context():
        with db.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(ChatMessage)).scalar_one()
        db.engine.dispose()
    return int(count)
