"""The sign-in scenario's people and settings: patient accounts sharing one password,
sign-in limits raised, an app in this process."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from accounts import passwords
from accounts.models import User
from bench.harness import app as bench_app
from bench.harness import env as bench_env
from core import clock
from core.db import writing

PASSWORD = "bench-Password-2026!"  # noqa: S105 (a fixed test password)
WRONG_PASSWORD = "bench-Wrong-2026!"  # noqa: S105
LIMIT_SETTINGS = ("RATELIMIT_LOGIN", "RATELIMIT_LOGIN_ACCOUNT_IP", "RATELIMIT_LOGIN_ACCOUNT")
RAISED_LIMIT = "1000000 per minute"


def run_env(database_url: str, tmp: Path, data_key: str) -> dict[str, str]:
    """The servers' and this process's app settings: a fresh database, limits raised."""
    return bench_env.for_app(database_url, tmp, RATELIMIT_ACTIVATION=RAISED_LIMIT,
                             DATA_KEYS=data_key,  # the app encrypts some columns (Fernet)
                             **{k: RAISED_LIMIT for k in LIMIT_SETTINGS})


@contextlib.contextmanager
def app_for(env: dict[str, str]) -> Iterator[Any]:
    """An app in this process with ``env``'s settings; its connections closed afterwards."""
    bench_env.adopt(env)
    app = bench_app.build()
    try:
        yield app
    finally:
        bench_app.release(app)


def create_users(app: Any, count: int) -> list[str]:
    """``count`` patient accounts sharing one password hash; returns their emails."""
    db = bench_app.db
    stored = passwords.hash_password(PASSWORD)
    now = clock.now()
    emails = [f"signin-{i:06d}@example.kz" for i in range(count)]
    rows = [{"email": e, "role": "patient", "product_line": "personal_doctor",
             "password_hash": stored, "language": "ru", "created_at": now,
             "password_changed_at": now, "on_duty_doctor": False,
             "pediatric": False, "totp_enabled": False, "totp_last_step": 0}
            for e in emails]
    with app.app_context(), writing():
        for start in range(0, count, 1000):
            db.session.execute(insert(User), rows[start:start + 1000])
        db.session.commit()
        db.session.remove()
    return emails
