"""Demo data, loaded only by ``flask serve --demo``: unactivated policies of both
products with codes that can be printed, and nothing else."""

from __future__ import annotations

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
