"""Demo data, loaded only by ``flask serve --demo``: unactivated policies of both
products with codes that can be printed, staff who can sign in (doctors with names,
languages and profile lines), and specialties with specialists' working hours."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy import select

from accounts.models import User
from accounts.passwords import hash_password
from activation.codes import hash_code
from activation.models import Policy
from consult.models import Specialty
from consult.schedule.models import WorkingHours
from core import clock, crypto
from core.extensions import db

DEMO_KEY = b"personal-doctor-demo"
PER_PRODUCT = 5


def demo_code(number: str) -> str:
    """The activation code of demo policy ``number`` (derived, so restarts agree)."""
    digest = hmac.new(DEMO_KEY, number.encode(), hashlib.sha256).hexdigest().upper()
    return f"{digest[:4]}-{digest[4:8]}"


def ensure_demo_policies() -> list[tuple[str, str, str]]:
    """Keep ``PER_PRODUCT`` unactivated demo policies of each product; return them as
    ``(number, code, product)``. Flushes; the caller commits."""

    prefixes = {"personal_doctor": "PD", "child_doctor": "CD"}
    free: list[tuple[str, str, str]] = []
    for product, prefix in prefixes.items():
        numbers = set(db.session.scalars(
            select(Policy.number).where(Policy.product == product)))
        unactivated = sorted(db.session.scalars(
            select(Policy.number).where(Policy.product == product,
                                        Policy.activated_at.is_(None))))
        serial = 1
        while len(unactivated) < PER_PRODUCT:
            number = f"DEMO-{prefix}-{serial:04d}"
            serial += 1
            if number in numbers:
                continue
            db.session.add(Policy(number=number, product=product,
                                  code_hash=hash_code(demo_code(number)),
                                  imported_at=clock.now(), failed_attempts=0))
            unactivated.append(number)
        free.extend((n, demo_code(n), product) for n in unactivated)
    db.session.flush()
    return free


DEMO_PEOPLE = {
    "personal_doctor": ("871008401427", "Сейткали Айгерім Нұрланқызы"),
    "child_doctor": ("150301500128", "Иванов Иван Иванович"),  # born 2015-03-01
}


DEMO_STAFF_PASSWORD = "demo staff password 2026"  # noqa: S105  (demo mode only, printed)
DEMO_STAFF = (
    ("admin@demo.personal-doctor.kz", "admin", {"full_name": "Омарова Жанна Серікқызы"}),
    ("operator@demo.personal-doctor.kz", "operator",
     {"full_name": "Ахметов Ерлан Болатұлы"}),
    ("doctor@demo.personal-doctor.kz", "doctor",
     {"full_name": "Сейітова Айгерім Нұрланқызы", "on_duty_doctor": True, "pediatric": True,
      "languages": "ru,kk", "profile_line": "Педиатр, терапевт; стаж 12 лет"}),
    ("cardiologist@demo.personal-doctor.kz", "doctor",
     {"full_name": "Ким Иван Петрович", "specialty": "cardiology", "languages": "ru,en",
      "profile_line": "Кардиолог, к.м.н.; стаж 18 лет"}),
    ("neurologist@demo.personal-doctor.kz", "doctor",
     {"full_name": "Жұмабаева Динара Маратқызы", "specialty": "neurology",
      "languages": "ru,kk,en", "profile_line": "Невролог; стаж 9 лет"}),
    ("pediatrician@demo.personal-doctor.kz", "doctor",
     {"full_name": "Нұрланова Әсел Қайратқызы", "specialty": "pediatrics",
      "languages": "kk,ru", "profile_line": "Педиатр; стаж 7 лет"}),
)
# Specialties of the demo: (code, ru, kk, en, slot minutes).
DEMO_SPECIALTIES = (
    ("cardiology", "Кардиология", "Кардиология", "Cardiology", 30),
    ("neurology", "Неврология", "Неврология", "Neurology", 30),
    ("pediatrics", "Педиатрия", "Педиатрия", "Pediatrics", 20),
)
# The demo specialists work Monday to Saturday, 09:00–18:00 Almaty time, so that a
# referral on a fresh demo finds free slots.
DEMO_WEEKDAYS = range(6)
DEMO_HOURS = ("09:00", "18:00")


def ensure_demo_specialties() -> None:
    """Keep the demo specialties (idempotent: existing ones are left as an admin set
    them). Flushes; the caller commits."""

    known = set(db.session.scalars(select(Specialty.code)))
    for code, ru, kk, en, minutes in DEMO_SPECIALTIES:
        if code not in known:
            db.session.add(Specialty(code=code, name_ru=ru, name_kk=kk, name_en=en,
                                     slot_minutes=minutes, active=True))
    db.session.flush()


def _ensure_demo_hours(doctor_id: int) -> None:
    """Give a demo specialist regular hours, unless they already have some."""
    from datetime import time


    if db.session.scalar(select(WorkingHours.id).where(WorkingHours.doctor_id == doctor_id)
                         .limit(1)) is not None:
        return
    starts, ends = (time.fromisoformat(t) for t in DEMO_HOURS)
    for weekday in DEMO_WEEKDAYS:
        db.session.add(WorkingHours(doctor_id=doctor_id, weekday=weekday, starts=starts,
                                    ends=ends))


def demo_totp_key(email: str) -> str:
    """The demo staff member's TOTP key (derived, so restarts agree)."""
    digest = hmac.new(DEMO_KEY, email.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


def ensure_demo_staff() -> list[tuple[str, str, str]]:
    """Demo staff accounts with a known password and TOTP key: ``(email, role, key)``;
    doctors with names and languages, the demo specialties, and the specialists' working
    hours. Idempotent (restarts agree). Flushes; the caller commits."""

    ensure_demo_specialties()
    rows = []
    password_hash = None
    for email, role, fields in DEMO_STAFF:
        key = demo_totp_key(email)
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            password_hash = password_hash or hash_password(DEMO_STAFF_PASSWORD)
            user = User(email=email, role=role, language="ru", created_at=clock.now(),
                        password_hash=password_hash,
                        totp_secret=crypto.encrypt(key), totp_enabled=True, **fields)
            db.session.add(user)
            db.session.flush()
        else:
            # A demo database from before names and languages: fill in what is missing.
            for field, value in fields.items():
                if getattr(user, field) in (None, ""):
                    setattr(user, field, value)
        if user.role == "doctor" and user.specialty:
            _ensure_demo_hours(user.id)
        rows.append((email, role, key))
    db.session.flush()
    return rows
