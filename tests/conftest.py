"""Fixtures: a fresh database per test session (SQLite file, or a uniquely named
PostgreSQL database when ``TEST_DATABASE_URL`` is set), emptied after each test;
an app per test; a real SMTP server; a live HTTP server; factories."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from core import clock
from core.app import create_app
from core.extensions import db, limiter

os.environ.pop("DATABASE_URL", None)


def _pg_admin_url(url: str) -> str:
    from core.config import normalise_db_url

    return normalise_db_url(url)


@contextmanager
def fresh_database(directory: Path, prefix: str) -> Iterator[str]:
    """A new empty database: a SQLite file in ``directory``, or, when
    ``TEST_DATABASE_URL`` names a PostgreSQL server, a uniquely named database there,
    dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{directory / (prefix + '.sqlite')}"
        return
    admin = make_url(_pg_admin_url(base))
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this test session only; dropped at the end."""
    with fresh_database(tmp_path_factory.mktemp("db"), "pd_test") as url:
        yield url


TEST_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "ACTIVATION_CODE_KEY": "test-activation-key",
    "BASE_URL": "http://localhost",
    "WTF_CSRF_ENABLED": True,
    "RATELIMIT_ACTIVATION": "10000 per minute",
    "RATELIMIT_LOGIN": "10000 per minute",
    "MAIL_SERVER": None,
    "SOCKETIO_MESSAGE_QUEUE": None,
}


@pytest.fixture(scope="session")
def schema_url(database_url: str) -> str:
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return database_url


def make_app(database_url: str, **overrides: Any) -> Any:
    return create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **overrides})


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Per-test overrides of the app's configuration (set before ``app`` is built)."""
    return {}


class FreshContextClient(FlaskClient):
    """Runs each request in its own app context, as a server does, so ``g`` (cached
    locale, signed-in user) and the DB session never leak from the test into it."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import has_app_context

        if has_app_context():
            db.session.commit()  # end the test's transaction: the request must see its
            # writes, and the test's next read must see the request's.
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(schema_url: str, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    application = make_app(schema_url, **{"DOCUMENTS_DIR": str(tmp_path / "documents"),
                                          **app_config})
    application.test_client_class = FreshContextClient
    with application.app_context():
        limiter.reset()
        yield application
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()
    clock.reset()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def no_csrf(app: Any) -> Any:
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def frozen_clock() -> Iterator[Any]:
    """Freeze business time at 2026-03-10 09:00 Asia/Almaty (04:00 UTC)."""
    clock.freeze(datetime(2026, 3, 10, 4, 0, tzinfo=UTC))
    yield clock
    clock.reset()


# --- factories -----------------------------------------------------------------------

ADULT_IIN = "871008401427"  # born 1987-10-08, female
ADULT_IIN_2 = "760212350620"  # born 1976-02-12, male
CHILD_IIN = "150301500128"  # born 2015-03-01, male


def iin_for(birth: date, sex: str = "male", serial: int = 1) -> str:
    """A valid IIN for ``birth`` (tests need many distinct people)."""
    from activation.rules import iin_check_digit

    century = {1800: 1, 1900: 3, 2000: 5}[birth.year // 100 * 100]
    digit = century + (0 if sex == "male" else 1)
    while True:
        first = f"{birth:%y%m%d}{digit}{serial:04d}"
        check = iin_check_digit(first)
        if check is not None:
            return first + str(check)
        serial += 1


def make_policy(number: str | None = None, code: str = "CODE-1234",
                product: str = "personal_doctor", activate_by: date | None = None,
                iin: str | None = None) -> Any:
    from activation.codes import hash_code
    from activation.models import Policy
    from activation.services import iin_lookup

    policy = Policy(number=number or f"P-{uuid.uuid4().hex[:10].upper()}", product=product,
                    code_hash=hash_code(code), activate_by=activate_by,
                    expected_iin_hash=iin_lookup(iin) if iin else None,
                    imported_at=clock.now(), failed_attempts=0)
    db.session.add(policy)
    db.session.commit()
    return policy


def activation_body(policy: Any, **changes: Any) -> dict[str, Any]:
    body = {"policy_number": policy.number, "activation_code": "CODE-1234",
            "iin": ADULT_IIN, "full_name": "Иванов Иван Иванович",
            "email": "ivanov@mail.kz", "consent": True}
    body.update(changes)
    return body


# --- real servers ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


class LiveServer:
    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


REPO = Path(__file__).resolve().parent.parent


# Shared fixtures defined beside their helpers (imported last: they use LiveServer).
from tests.document_helpers import docs  # noqa: E402, F401
from tests.media_helpers import loopback_peer, recording_worker  # noqa: E402, F401
from tests.schedule_helpers import referral  # noqa: E402, F401
from tests.socket_helpers import room  # noqa: E402, F401
