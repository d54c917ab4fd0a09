"""Configuration from the environment (and ``instance/config.py``).

Every setting read here is documented in the README. Outside demo and test mode the
application refuses to start without ``SECRET_KEY``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from flask import Config, Flask

from core.sealed import new_key as new_document_key

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
    "RESET_MAIL_PER_ACCOUNT_HOUR",
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
        "DOCUMENT_MAX_PAGES", "RESET_MAIL_PER_ACCOUNT_HOUR"}


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
    instance = Path(instance_path)
    return {**_deployment_defaults(instance), **_access_defaults(), **_service_defaults(),
            **_media_defaults(instance)}


def _deployment_defaults(instance: Path) -> dict[str, Any]:
    """Where the service runs: mode, database, address, mail, broker, languages."""
    return {
        "DEMO": False,
        "TESTING": False,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'personal_doctor.sqlite'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "DATABASE_POOL_SIZE": 20,
        "DATABASE_MAX_OVERFLOW": 10,
        "BASE_URL": "http://127.0.0.1:5000",
        "TIMEZONE": "Asia/Almaty",
        "MAIL_SERVER": None,
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_DEFAULT_SENDER": "Personal Doctor <no-reply@personal-doctor.kz>",
        "OUTBOX_POLL_SECONDS": 1.0,
        "OUTBOX_MAX_ATTEMPTS": 20,
        "REDIS_URL": None,
        "SOCKETIO_MESSAGE_QUEUE": None,  # defaults to REDIS_URL when that is set
        "SOCKETIO_CHANNEL": "personal-doctor",
        "PROXY_FIX_X_FOR": 0,
        "BABEL_DEFAULT_LOCALE": "ru",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent.parent / "translations"),
        "LANGUAGES": ("ru", "kk", "en"),
    }


def _access_defaults() -> dict[str, Any]:
    """Rate limits, sessions, cookies and request sizes."""
    return {
        "RATELIMIT_ACTIVATION": "30 per minute;300 per hour",
        "RATELIMIT_LOGIN": "20 per minute;200 per hour",
        "RATELIMIT_LOGIN_ACCOUNT_IP": "5 per minute;20 per hour;50 per day",
        "RATELIMIT_LOGIN_ACCOUNT": "30 per 10 minutes",
        "RATELIMIT_SECOND_FACTOR": "5 per minute;30 per hour",
        "STAFF_IDLE_MINUTES": 15,
        "PATIENT_IDLE_MINUTES": 60,
        "SESSION_ABSOLUTE_HOURS": 12,
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "SET_PASSWORD_LINK_HOURS": 72,
        "RESET_MAIL_PER_ACCOUNT_HOUR": 3,  # set-password mails per account, whoever asks
        "MAX_CONTENT_LENGTH": 1 * 1024 * 1024,
        # Every form field and file is a part; an upload has six. Werkzeug's default is 1000.
        "MAX_FORM_PARTS": 50,
    }


def _service_defaults() -> dict[str, Any]:
    """The insurer's product: activation, consultations, prices, phone numbers."""
    return {
        "INSURER_NAME": "Insurance company (set INSURER_NAME)",
        "CONTACT_CENTRE_PHONE": "+7 727 000 00 00",
        "SELF_PAY_PRICE_KZT": 5000,
        "EMERGENCY_NUMBERS": "103,112",  # comma-separated; shown as tel: links
        "BOOKING_LEAD_MINUTES": 60,
        "ACTIVATION_MAX_WRONG_CODES": 5,
        "ACTIVATION_LOCK_MINUTES": 15,
        "CONSENT_VERSION": "2026-11-01",
        "CONSULT_MAX_CHATS_PER_DOCTOR": 4,
        "CONSULT_MESSAGE_MAX_CHARS": 4000,
        "PAYMENT_PROVIDER": "sandbox",
    }


def _media_defaults(instance: Path) -> dict[str, Any]:
    """Calls, their recordings and the media workers; medical documents."""
    return {
        # Calls (WebRTC). ICE servers default to none: host candidates only. Never a
        # public STUN server: every address must belong to this deployment.
        "CALL_ICE_SERVERS": "",  # comma-separated stun:/turn: URLs without credentials
        "TURN_URLS": "",  # comma-separated turn:/turns: URLs of coturn (use-auth-secret)
        "TURN_SECRET": None,  # coturn's static-auth-secret
        "TURN_TTL_SECONDS": 3600,  # lifetime of the TURN credentials minted per call
        "CALL_RECORDING": False,  # offer audio recording of calls (with both consents)
        "RECORDINGS_DIR": str(instance / "recordings"),  # encrypted files
        # The aiortc media worker(s): connection tests and recordings.
        "MEDIA_WORKER_URLS": "",  # comma-separated http://host:port; `flask serve` fills it
        "MEDIA_WORKERS": 1,  # workers `flask serve` starts as child processes
        "MEDIA_HOST_ADDRESSES": "",  # the worker's ICE host addresses; empty = all interfaces
        "MEDIA_MAX_SESSIONS": 8,  # concurrent media sessions one worker accepts
        "MEDIA_TEST_SECONDS": 30,  # a connection test's longest duration
        # Medical documents (consult/documents/): sealed with DOCUMENT_KEYS (AES-256-GCM).
        "DOCUMENTS_DIR": str(instance / "documents"),  # outside static/
        "DOCUMENT_STORAGE": "local",  # or module:Class of another store (core.storage)
        "DOCUMENT_MAX_BYTES": 20 * 1024 * 1024,  # one file
        "DOCUMENT_MAX_PIXELS": 50_000_000,  # an image's width x height (decompression bombs)
        "DOCUMENT_MAX_PAGES": 500,  # a PDF's pages
        "UPLOAD_TMP_DIR": None,  # uploads in progress (unnamed files); None = the system's
        "CLAMD_SOCKET": None,  # clamd's Unix socket: scan uploads before they are shown
    }


def load(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config``: defaults, then instance/config.py, environment, ``overrides``.

    Raises :class:`ConfigError` when a production setting is missing.
    """
    given = overrides or {}
    config = app.config
    config.from_mapping(defaults(app.instance_path))
    config.from_pyfile("config.py", silent=True)
    _read_environment(config)
    config.update(given)
    _choose_database(config, Path(app.instance_path), given)
    _fill_secrets(config)
    _derive(config, given)


def _read_environment(config: Config) -> None:
    """The settings of :data:`ENV_SETTINGS` that the environment sets (not empty)."""
    for key in ENV_SETTINGS:
        if key in os.environ and os.environ[key] != "":
            config[key] = _coerce(key, os.environ[key])
    if os.environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(os.environ["DATABASE_URL"])


def _choose_database(config: Config, instance: Path, given: dict[str, Any]) -> None:
    """Demo mode's own SQLite file (unless a database is named), the psycopg 3 driver,
    and a connection pool for servers other than SQLite."""
    if config["DEMO"] and not os.environ.get("DATABASE_URL") and (
        "SQLALCHEMY_DATABASE_URI" not in given
    ):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'demo.sqlite'}"
    config["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(config["SQLALCHEMY_DATABASE_URI"])
    if not config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A gevent worker runs many socket events at once: a pool sized for that keeps
        # connections open instead of opening and closing overflow ones per event.
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **config["SQLALCHEMY_ENGINE_OPTIONS"],
            "pool_size": config["DATABASE_POOL_SIZE"],
            "max_overflow": config["DATABASE_MAX_OVERFLOW"],
        }


def _fill_secrets(config: Config) -> None:
    """Keys are required outside demo and test mode; there, a fixed demo key (demo data
    survives restarts) or a fresh one (each test app its own)."""
    _fill_secret(config, "SECRET_KEY", None, lambda: secrets.token_hex(32))
    # Activation codes are hashed with their own key so the session key can rotate.
    _fill_secret(config, "ACTIVATION_CODE_KEY", "demo-activation-key",
                 lambda: secrets.token_hex(32))
    _fill_secret(config, "DATA_KEYS", "ZGVtby1kYXRhLWtleS1kby1ub3QtdXNlLWluLXByb2Q=",
                 lambda: Fernet.generate_key().decode(),
                 "; make a key with: python -c 'from cryptography.fernet import Fernet; "
                 "print(Fernet.generate_key().decode())'")
    _fill_secret(config, "DOCUMENT_KEYS", "demo:ZGVtby1kb2N1bWVudC1rZXktMzItYnl0ZXMtbG9uZyE",
                 lambda: new_document_key("test"),
                 "; make a key with: flask keys new-document-key")


def _fill_secret(config: Config, key: str, demo: str | None, fresh: Callable[[], str],
                 how: str = "") -> None:
    """Set ``key`` when it is missing: ``demo`` in demo mode (if given), else ``fresh()``;
    outside demo and test mode a missing key is a :class:`ConfigError` (``how`` says how
    to make one)."""
    if config.get(key):
        return
    if not (config["DEMO"] or config["TESTING"]):
        raise ConfigError(f"{key} must be set outside demo and test mode{how}")
    config[key] = demo if config["DEMO"] and demo is not None else fresh()


def _derive(config: Config, given: dict[str, Any]) -> None:
    """Settings that follow from others: secure cookies on HTTPS, Redis for the rate
    limits and the Socket.IO message queue."""
    if config["BASE_URL"].startswith("https://"):
        config["SESSION_COOKIE_SECURE"] = True
        config["SESSION_COOKIE_NAME"] = "__Host-session"
    if config.get("REDIS_URL"):
        config.setdefault("RATELIMIT_STORAGE_URI", config["REDIS_URL"])
        if config["SOCKETIO_MESSAGE_QUEUE"] is None and "SOCKETIO_MESSAGE_QUEUE" not in given:
            config["SOCKETIO_MESSAGE_QUEUE"] = config["REDIS_URL"]
    else:
        config.setdefault("RATELIMIT_STORAGE_URI", "memory://")


def normalise_db_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
