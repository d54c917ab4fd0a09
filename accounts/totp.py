"""The second factor: TOTP (RFC 6238) with pyotp, and single-use recovery codes.

A code is accepted in its 30-second step or the neighbouring ones (``valid_window``
1), and only once: the last accepted step is stored, and a code from that step or an
earlier one is refused, so an observed code cannot be replayed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import pyotp
import segno
from sqlalchemy import delete, update

from accounts.models import RecoveryCode, User
from core import clock, crypto
from core.db import rowcount
from core.extensions import db

ISSUER = "Personal Doctor"
RECOVERY_CODES = 10
STEP = 30


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG data URI, drawn here (no outside service)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _digits(code: str) -> str:
    return "".join(ch for ch in code if ch.isdigit() and ch.isascii())


def matching_step(secret: str, code: str) -> int | None:
    """The time step (now, or one either side) whose code is ``code``, if any."""
    code = _digits(code)
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(clock.now().timestamp()) // STEP
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def accept_code(user: User, code: str, secret: str | None = None) -> bool:
    """Accept ``code`` for ``user`` once; records its step atomically (flushes)."""
    if secret is None:
        if not user.totp_secret:
            return False
        secret = crypto.decrypt(user.totp_secret)
    step = matching_step(secret, code)
    if step is None:
        return False
    result = db.session.execute(
        update(User).where(User.id == user.id, User.totp_last_step < step)
        .values(totp_last_step=step).execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return False  # this step (or a later one) was already used: a replay
    user.totp_last_step = step
    return True


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with 10 fresh ones; returns them in clear once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()[:16]
        code = "-".join(raw[i:i + 4] for i in range(0, 16, 4))
        codes.append(code)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(code)))
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Spend one recovery code; False if unknown or already used (flushes)."""
    result = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=clock.now())
    )
    return rowcount(result) == 1


def enable(user: User, secret: str, code: str) -> list[str] | None:
    """Turn TOTP on if ``code`` proves the app holds ``secret``; returns recovery codes."""
    if not accept_code(user, code, secret):
        return None
    user.totp_secret = crypto.encrypt(secret)  # encrypted at rest (DATA_KEYS)
    user.totp_enabled = True
    return new_recovery_codes(user)


def disable(user: User) -> None:
    user.totp_enabled = False
    user.totp_secret = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
