"""Configuration from the environment (and ``instance/config.py``).

Every setting read here is documented in the README. Outside demo and test mode the
application refuses to start without ``SECRET_KEY``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ENV_SETTINGS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "BASE_URL",
    "TIMEZONE",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER",
    "REDIS_URL",
    "ACTIVATION_CODE_KEY",
    "DATA_KEYS",
    "PROXY_FIX_X_FOR",
    "INSURER_NAME",
    "CONTACT_CENTRE_PHONE",
    "SELF_PAY_PRICE_KZT",
    "EMERGENCY_NUMBERS",
    "BOOKING_LEAD_MINUTES",
    "RATELIMIT_ACTIVATION",
    "RATELIMIT_LOGIN",
    "RATELIMIT_LOGIN_ACCOUNT_IP",
    "RATELIMIT_LOGIN_ACCOUNT",
    "RATELIMIT_SECOND_FACTOR",
    "CONSULT_MAX_CHATS_PER_DOCTOR",
    "PAYMENT_PROVIDER",
    "SOCKETIO_MESSAGE_QUEUE",
    "SOCKETIO_CHANNEL",
    "DATABASE_POOL_SIZE",
    "DATABASE_MAX_OVERFLOW",
    "CALL_ICE_SERVERS",
    "TURN_URLS",
    "TURN_SECRET",
    "TURN_TTL_SECONDS",
    "CALL_RECORDING",
    "MEDIA_WORKER_URLS",
    "MEDIA_WORKERS",
    "MEDIA_HOST_ADDRESSES",
    "MEDIA_MAX_SESSIONS",
    "MEDIA_TEST_SECONDS",
    "RECORDINGS_DIR",
    "DOCUMENT_KEYS",
    "DOCUMENTS_DIR",
    "DOCUMENT_STORAGE",
    "DOCUMENT_MAX_BYTES",
    "DOCUMENT_MAX_PIXELS",
    "DOCUMENT_MAX_PAGES",
    "UPLOAD_TMP_DIR",
    "CLAMD_SOCKET",
)

_BOOL = {"MAIL_USE_TLS", "MAIL_USE_SSL", "DEMO", "TESTING", "CALL_RECORDING"}
_INT = {"MAIL_PORT", "PROXY_FIX_X_FOR", "SELF_PAY_PRICE_KZT", "BOOKING_LEAD_MINUTES",
        "CONSULT_MAX_CHATS_PER_DOCTOR",
        "DATABASE_POOL_SIZE", "DATABASE_MAX_OVERFLOW", "TURN_TTL_SECONDS", "MEDIA_WORKERS",
        "MEDIA_MAX_SESSIONS", "MEDIA_TEST_SECONDS", "DOCUMENT_MAX_BYTES", "DOCUMENT_MAX_PIXELS",
        "DOCUMENT_MAX_PAGES"}


class ConfigError(RuntimeError):
    """The configuration is unusable; the message says which setting and why."""


def _coerce(key: str, value: str) -> Any:
    if key in _BOOL:
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if key in _INT:
        try:
            return int(value)
        except ValueError as exc:
            raise ConfigError(f"{key} must be an integer, got {value!r}") from exc
    return value


def defaults(instance_path: str) -> dict[str, Any]:
    """Settings used when neither the environment nor the caller gives one."""
    db_file = Path(instance_path) / "personal_doctor.sqlite"
    return {
        "DEMO": False,
        "TESTING": False,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
        "BASE_URL": "http://127.0.0.1:5000",
        "TIMEZONE": "Asia/Almaty",
        "MAIL_SERVER": None,
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_DEFAULT_SENDER": "Personal Doctor <no-reply@personal-doctor.kz>",
        "REDIS_URL": None,
        "PROXY_FIX_X_FOR": 0,
        "INSURER_NAME": "Insurance company (set INSURER_NAME)",
        "CONTACT_CENTRE_PHONE": "+7 727 000 00 00",
        "SELF_PAY_PRICE_KZT": 5000,
        "EMERGENCY_NUMBERS": "103,112",  # comma-separated; shown as tel: links
        "BOOKING_LEAD_MINUTES": 60,
        "RATELIMIT_ACTIVATION": "30 per minute;300 per hour",
        "RATELIMIT_LOGIN": "20 per minute;200 per hour",
        "RATELIMIT_LOGIN_ACCOUNT_IP": "5 per minute;20 per hour;50 per day",
        "RATELIMIT_LOGIN_ACCOUNT": "30 per 10 minutes",
        "RATELIMIT_SECOND_FACTOR": "5 per minute;30 per hour",
        "STAFF_IDLE_MINUTES": 15,
        "PATIENT_IDLE_MINUTES": 60,
        "SESSION_ABSOLUTE_HOURS": 12,
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "BABEL_DEFAULT_LOCALE": "ru",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent.parent / "translations"),
        "LANGUAGES": ("ru", "kk", "en"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 1 * 1024 * 1024,
        "SET_PASSWORD_LINK_HOURS": 72,
        "ACTIVATION_MAX_WRONG_CODES": 5,
        "ACTIVATION_LOCK_MINUTES": 15,
        "CONSENT_VERSION": "2026-11-01",
        "OUTBOX_POLL_SECONDS": 1.0,
        "OUTBOX_MAX_ATTEMPTS": 20,
        "CONSULT_MAX_CHATS_PER_DOCTOR": 4,
        "CONSULT_MESSAGE_MAX_CHARS": 4000,
        "PAYMENT_PROVIDER": "sandbox",
        "SOCKETIO_MESSAGE_QUEUE": None,  # defaults to REDIS_URL when that is set
        "SOCKETIO_CHANNEL": "personal-doctor",
        "DATABASE_POOL_SIZE": 20,
        "DATABASE_MAX_OVERFLOW": 10,
        # Calls (WebRTC). ICE servers default to none: host candidates only. Never a
        # public STUN server: every address must belong to this deployment.
        "CALL_ICE_SERVERS": "",  # comma-separated stun:/turn: URLs without credentials
        "TURN_URLS": "",  # comma-separated turn:/turns: URLs of coturn (use-auth-secret)
        "TURN_SECRET": None,  # coturn's static-auth-secret
        "TURN_TTL_SECONDS": 3600,  # lifetime of the TURN credentials minted per call
        "CALL_RECORDING": False,  # offer audio recording of calls (with both consents)
        "RECORDINGS_DIR": str(Path(instance_path) / "recordings"),  # encrypted files
        # The aiortc media worker(s): connection tests and recordings.
        "MEDIA_WORKER_URLS": "",  # comma-separated http://host:port; `flask serve` fills it
        "MEDIA_WORKERS": 1,  # workers `flask serve` starts as child processes
        "MEDIA_HOST_ADDRESSES": "",  # the worker's ICE host addresses; empty = all interfaces
        "MEDIA_MAX_SESSIONS": 8,  # concurrent media sessions one worker accepts
        "MEDIA_TEST_SECONDS": 30,  # a connection test's longest duration
        # Medical documents (consult/documents/): sealed with DOCUMENT_KEYS (AES-256-GCM).
        "DOCUMENTS_DIR": str(Path(instance_path) / "documents"),  # outside static/
        "DOCUMENT_STORAGE": "local",  # or module:Class of another store (core.storage)
        "DOCUMENT_MAX_BYTES": 20 * 1024 * 1024,  # one file
        "DOCUMENT_MAX_PIXELS": 50_000_000,  # an image's width x height (decompression bombs)
        "DOCUMENT_MAX_PAGES": 500,  # a PDF's pages
        "UPLOAD_TMP_DIR": None,  # uploads in progress (unnamed files); None = the system's
        "CLAMD_SOCKET": None,  # clamd's Unix socket: scan uploads before they are shown
        # Every form field and file is a part; an upload has six. Werkzeug's default is 1000.
        "MAX_FORM_PARTS": 50,
    }


def load(app: Any, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config``: defaults, then instance/config.py, environment, ``overrides``.

    Raises :class:`ConfigError` when a production setting is missing.
    """
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    for key in ENV_SETTINGS:
        if key in os.environ and os.environ[key] != "":
            app.config[key] = _coerce(key, os.environ[key])
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(os.environ["DATABASE_URL"])
    if overrides:
        app.config.update(overrides)
    if app.config["DEMO"] and not os.environ.get("DATABASE_URL") and not (
        overrides and "SQLALCHEMY_DATABASE_URI" in overrides
    ):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'demo.sqlite'}"
        )
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A gevent worker runs many socket events at once: a pool sized for that keeps
        # connections open instead of opening and closing overflow ones per event.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "pool_size": app.config["DATABASE_POOL_SIZE"],
            "max_overflow": app.config["DATABASE_MAX_OVERFLOW"],
        }

    relaxed = app.config["DEMO"] or app.config["TESTING"]
    if not app.config.get("SECRET_KEY"):
        if not relaxed:
            raise ConfigError("SECRET_KEY must be set outside demo and test mode")
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    if not app.config.get("ACTIVATION_CODE_KEY"):
        # Activation codes are hashed with their own key so the session key can rotate.
        if not relaxed:
            raise ConfigError("ACTIVATION_CODE_KEY must be set outside demo and test mode")
        app.config["ACTIVATION_CODE_KEY"] = (
            "demo-activation-key" if app.config["DEMO"] else secrets.token_hex(32)
        )
    if not app.config.get("DATA_KEYS"):
        if not relaxed:
            raise ConfigError(
                "DATA_KEYS must be set outside demo and test mode; make a key with: python -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        from cryptography.fernet import Fernet

        # Demo data survives restarts; tests get a fresh key.
        app.config["DATA_KEYS"] = (
            "ZGVtby1kYXRhLWtleS1kby1ub3QtdXNlLWluLXByb2Q=" if app.config["DEMO"]
            else Fernet.generate_key().decode()
        )
    if not app.config.get("DOCUMENT_KEYS"):
        if not relaxed:
            raise ConfigError(
                "DOCUMENT_KEYS must be set outside demo and test mode; make a key with: "
                "flask keys new-document-key"
            )
        from core.sealed import new_key

        app.config["DOCUMENT_KEYS"] = (
            "demo:ZGVtby1kb2N1bWVudC1rZXktMzItYnl0ZXMtbG9uZyE" if app.config["DEMO"]
            else new_key("test")
        )
    if app.config["BASE_URL"].startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
    if app.config.get("REDIS_URL"):
        app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
        if app.config["SOCKETIO_MESSAGE_QUEUE"] is None and not (
            overrides and "SOCKETIO_MESSAGE_QUEUE" in overrides
        ):
            app.config["SOCKETIO_MESSAGE_QUEUE"] = app.config["REDIS_URL"]
    else:
        app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")


def normalise_db_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
