"""Core fixtures: a fresh database per test session (SQLite file, or a uniquely named
PostgreSQL database when ``TEST_DATABASE_URL`` is set), emptied after each test; an app
per test and its client. The fixtures of each domain (factories of policies, users,
patients, doctors, specialists; rooms, documents, media workers, real servers) are in
tests/fixtures/, loaded here as plugins."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, has_app_context, request, request_started, request_tearing_down
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as RequestSession
from sqlalchemy import event

from core import clock
from core.db import SAFE_METHODS
from core.extensions import db, limiter
from tests.fixtures.app import fresh_database, make_app

pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.activation",
    "tests.fixtures.accounts",
    "tests.fixtures.consult",
    "tests.fixtures.documents",
    "tests.fixtures.schedule",
    "tests.fixtures.sockets",
    "tests.fixtures.media",
]

os.environ.pop("DATABASE_URL", None)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this test session only; dropped at the end."""
    with fresh_database(tmp_path_factory.mktemp("db"), "pd_test") as url:
        yield url


@pytest.fixture(scope="session")
def schema_url(database_url: str) -> str:
    app = make_app(database_url)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return database_url


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Per-test overrides of the app's configuration (set before ``app`` is built)."""
    return {}


class FreshContextClient(FlaskClient):
    """Runs each request in its own app context, as a server does, so ``g`` (cached
    locale, signed-in user) and the DB session never leak from the test into it."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            db.session.commit()  # end the test's transaction: the request must see its
            # writes, and the test's next read must see the request's.
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(schema_url: str, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
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
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def no_csrf(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def frozen_clock() -> Iterator[Any]:
    """Freeze business time at 2026-03-10 09:00 Asia/Almaty (04:00 UTC)."""
    clock.freeze(datetime(2026, 3, 10, 4, 0, tzinfo=UTC))
    yield clock
    clock.reset()



@pytest.fixture(autouse=True)
def get_requests_write_nothing() -> Iterator[None]:
    """Every test also checks that no GET request flushed or committed the request's
    session while its view ran: a page that needs a write records it through its own
    path (audit entries, a specialist room's visit). Only requests dispatched by Flask
    count (not socket events, nor a test's own request context)."""
    writes: list[str] = []

    def started(_app: Flask, **_extra: Any) -> None:
        if request.method in SAFE_METHODS:
            g._reading_request = f"{request.method} {request.path}"

    def ended(_app: Flask, **_extra: Any) -> None:
        g.pop("_reading_request", None)

    def note(_session: Any, *_args: Any) -> None:
        if has_app_context() and g.get("_reading_request"):
            writes.append(g._reading_request)

    request_started.connect(started)
    request_tearing_down.connect(ended)
    event.listen(RequestSession, "before_flush", note)
    event.listen(RequestSession, "before_commit", note)
    yield
    event.remove(RequestSession, "before_flush", note)
    event.remove(RequestSession, "before_commit", note)
    request_started.disconnect(started)
    request_tearing_down.disconnect(ended)
    assert not writes, f"GET requests wrote through the request's session: {writes}"
