"""Helpers for tests that sign people in: users of each role, TOTP codes."""

from __future__ import annotations

from typing import Any

import pyotp

from accounts.models import User
from accounts.passwords import hash_password
from core import clock, crypto
from core.extensions import db

PASSWORD = "correct horse battery"


def make_user(role: str = "patient", email: str | None = None, totp: bool | None = None,
              **fields: Any) -> User:
    """A user with PASSWORD; staff get TOTP enabled unless ``totp=False``."""
    totp = role != "patient" if totp is None else totp
    user = User(email=email or f"{role}-{clock.now().timestamp()}@mail.kz".replace(".", "-", 1),
                role=role, product_line="personal_doctor" if role == "patient" else None,
                language="en", created_at=clock.now(),
                password_hash=hash_password(PASSWORD),
                totp_secret=crypto.encrypt(pyotp.random_base32()) if totp else None,
                totp_enabled=bool(totp), **fields)
    db.session.add(user)
    db.session.commit()
    return user


def code_for(user: User, offset_steps: int = 0) -> str:
    """The TOTP code of ``user`` at the business clock's time (plus steps)."""
    secret = crypto.decrypt(user.totp_secret)
    return pyotp.TOTP(secret).at(clock.now().timestamp() + 30 * offset_steps)


def sign_in(client: Any, user: User, code: str | None = None) -> Any:
    """Sign in through the real pages; returns the last response."""
    r = client.post("/login", data={"email": user.email, "password": PASSWORD})
    if user.totp_enabled:
        assert r.status_code == 302 and "/login/code" in r.headers["Location"], r.status_code
        r = client.post("/login/code", data={"code": code or code_for(user)})
    return r


def signed_in_clients(app, *users):
    """A test client per user, signed in (staff through TOTP), reading English; the
    sign-in limits relaxed for the many sign-ins of one test."""
    app.config.update(RATELIMIT_LOGIN_ACCOUNT_IP="1000 per minute",
                      RATELIMIT_SECOND_FACTOR="1000 per minute")
    out = []
    for user in users:
        c = app.test_client()
        c.set_cookie("lang", "en")
        assert sign_in(c, user).status_code == 302
        out.append(c)
    return out
