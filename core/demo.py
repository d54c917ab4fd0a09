"""Demo data, loaded only by ``flask serve --demo``: unactivated policies of both
products with codes that can be printed, and nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy import select

DEMO_KEY = b"personal-doctor-demo"
PER_PRODUCT = 5


def demo_code(number: str) -> str:
    """The activation code of demo policy ``number`` (derived, so restarts agree)."""
    digest = hmac.new(DEMO_KEY, number.encode(), hashlib.sha256).hexdigest().upper()
    return f"{digest[:4]}-{digest[4:8]}"


def ensure_demo_policies() -> list[tuple[str, str, str]]:
    """Keep ``PER_PRODUCT`` unactivated demo policies of each product; return them as
    ``(number, code, product)``. Flushes; the caller commits."""
    from activation.codes import hash_code
    from activation.models import Policy
    from core import clock
    from core.extensions import db

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
    ("admin@demo.personal-doctor.kz", "admin", {}),
    ("operator@demo.personal-doctor.kz", "operator", {}),
    ("doctor@demo.personal-doctor.kz", "doctor", {"on_duty_doctor": True, "pediatric": True}),
    ("cardiologist@demo.personal-doctor.kz", "doctor", {"specialty": "cardiology"}),
)


def demo_totp_key(email: str) -> str:
    """The demo staff member's TOTP key (derived, so restarts agree)."""
    digest = hmac.new(DEMO_KEY, email.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


def ensure_demo_staff() -> list[tuple[str, str, str]]:
    """Demo staff accounts with a known password and TOTP key: ``(email, role, key)``.
    Flushes; the caller commits."""
    from accounts.models import User
    from accounts.passwords import hash_password
    from core import clock, crypto
    from core.extensions import db

    rows = []
    password_hash = None
    for email, role, fields in DEMO_STAFF:
        key = demo_totp_key(email)
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            password_hash = password_hash or hash_password(DEMO_STAFF_PASSWORD)
            db.session.add(User(email=email, role=role, language="ru", created_at=clock.now(),
                                password_hash=password_hash,
                                totp_secret=crypto.encrypt(key), totp_enabled=True,
                                **fields))
        rows.append((email, role, key))
    db.session.flush()
    return rows
