"""The app for the uploads run: its keys and folders in the run's temp dir, CSRF and
rate limits off, a patient to upload as, and the bare baseline beside it
(``POST /bench/drop``); served by werkzeug in this process or by gunicorn."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from werkzeug.serving import make_server

from accounts import passwords
from accounts.models import User
from activation.models import Insured
from bench.harness import app as bench_app
from bench.harness.env import APP_ENV
from bench.harness.servers import free_port
from core import clock
from core.crypto import encrypt, lookup_hash
from core.sealed import new_key

PASSWORD = "bench-uploads-password-1"  # noqa: S105 (fixed on purpose)
# The target gunicorn serves: :func:`served_app` in this module.
GUNICORN_TARGET = "bench.scenarios.uploads.app:served_app()"


def build_app(database_url: str, tmp: Path, create: bool = True) -> Any:
    """The app on ``database_url`` with the run's keys and directories (kept in the
    environment under ``BENCH_UPLOADS_*`` for :func:`served_app`), CSRF and rate limits
    off; creates the schema when ``create``."""
    for key in APP_ENV:
        os.environ.pop(key, None)
    os.environ["INSTANCE_PATH"] = str(tmp / "instance")
    os.environ.setdefault("BENCH_UPLOADS_DATA_KEYS", Fernet.generate_key().decode())
    os.environ.setdefault("BENCH_UPLOADS_DOCUMENT_KEYS", new_key("bench"))
    os.environ["BENCH_UPLOADS_DB"] = database_url
    os.environ["BENCH_UPLOADS_TMP"] = str(tmp)
    app = bench_app.build({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "bench-uploads-secret-key-0123456789",
        "ACTIVATION_CODE_KEY": "bench-uploads-code-key-0123456789",
        "DATA_KEYS": os.environ["BENCH_UPLOADS_DATA_KEYS"],
        "DOCUMENT_KEYS": os.environ["BENCH_UPLOADS_DOCUMENT_KEYS"],
        "DOCUMENTS_DIR": str(tmp / "documents"),
        "UPLOAD_TMP_DIR": str(tmp / "uploading"),
        "BASE_URL": "http://127.0.0.1",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "MAIL_SERVER": None,
        "SOCKETIO_MESSAGE_QUEUE": None,
        "CLAMD_SOCKET": None,
    })
    (tmp / "uploading").mkdir(exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if create:
        with app.app_context():
            bench_app.db.create_all()
    return app


def served_app() -> Any:
    """The app for the gunicorn worker (:data:`GUNICORN_TARGET`), configured from the
    ``BENCH_UPLOADS_*`` variables the bench sets."""
    app = build_app(os.environ["BENCH_UPLOADS_DB"], Path(os.environ["BENCH_UPLOADS_TMP"]),
                    create=False)
    app.wsgi_app = with_drop(app.wsgi_app)  # type: ignore[method-assign]
    if bench_app.async_mode() == "gevent":  # as wsgi.py does
        bench_app.settle_memory()
    return app


def make_patient(app: Any) -> tuple[str, int]:
    """A patient account with one insured person; returns (email, insured id)."""
    db = bench_app.db
    with app.app_context():
        now = clock.now()
        user = User(email="bench-uploads@example.kz", role="patient",
                    product_line="personal_doctor",
                    password_hash=passwords.hash_password(PASSWORD), language="en",
                    created_at=now, password_changed_at=now, on_duty_doctor=False,
                    pediatric=False, totp_enabled=False, totp_last_step=0)
        db.session.add(user)
        db.session.flush()
        insured = Insured(account_id=user.id, iin_hash=lookup_hash("900101300017", "iin"),
                          iin_encrypted=encrypt("900101300017"), full_name="Bench Patient",
                          birth_date=date(1990, 1, 1), sex="male")
        db.session.add(insured)
        db.session.commit()
        result = user.email, insured.id
        db.session.remove()
    return result


def drop_body(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The bare baseline: read the request body in 64 KiB pieces and drop it."""
    stream = environ["wsgi.input"]
    left = int(environ.get("CONTENT_LENGTH") or 0)
    while left > 0:
        data = stream.read(min(65536, left))
        if not data:
            break
        left -= len(data)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def with_drop(app: Any) -> Callable[..., Any]:
    """``app``, with ``POST /bench/drop`` answered by :func:`drop_body` (the baseline on
    the same server)."""
    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == "/bench/drop":
            return drop_body(environ, start_response)
        return app(environ, start_response)

    return dispatch


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` under werkzeug's threaded server on a free port, in a thread."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
