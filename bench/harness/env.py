"""The settings the benchmarks give the app: fixed keys for the run, a fresh database,
and nothing inherited that the app would read."""

from __future__ import annotations

import os
from pathlib import Path

SECRET_KEY = "bench-secret-key-not-for-production-0123456789"  # noqa: S105 (fixed on purpose)
CODE_KEY = "bench-activation-code-key-0123456789"
DATA_KEY = "YmVuY2gtZGF0YS1rZXktbm90LWZvci1wcm9kdWN0aW8="  # a Fernet key for the run
DOCUMENT_KEY = "bench:YmVuY2gtZG9jdW1lbnQta2V5LW5vdC1mb3ItcHJvZCE"  # AES-256 for the run
# Settings the app reads from the environment: servers and in-process apps get only ours.
APP_ENV = ("DATABASE_URL", "SECRET_KEY", "BASE_URL", "TIMEZONE", "MAIL_SERVER", "MAIL_PORT",
           "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_USERNAME", "MAIL_PASSWORD",
           "MAIL_DEFAULT_SENDER", "REDIS_URL", "ACTIVATION_CODE_KEY", "PROXY_FIX_X_FOR",
           "INSURER_NAME", "CONTACT_CENTRE_PHONE", "SELF_PAY_PRICE_KZT",
           "RATELIMIT_ACTIVATION", "RATELIMIT_LOGIN", "RATELIMIT_LOGIN_ACCOUNT_IP",
           "RATELIMIT_LOGIN_ACCOUNT", "INSTANCE_PATH", "FLASK_APP", "DATA_KEYS",
           "DOCUMENT_KEYS", "DOCUMENTS_DIR", "DOCUMENT_STORAGE", "UPLOAD_TMP_DIR",
           "CLAMD_SOCKET", "SOCKETIO_MESSAGE_QUEUE", "SOCKETIO_CHANNEL",
           "CONSULT_MAX_CHATS_PER_DOCTOR", "PAYMENT_PROVIDER", "CALL_ICE_SERVERS", "TURN_URLS",
           "TURN_SECRET", "MEDIA_WORKERS", "MEDIA_WORKER_URLS", "DEMO", "ECHO_MESSAGE_QUEUE",
           "ECHO_CHANNEL")


def base(tmp: Path) -> dict[str, str]:
    """This process's environment without the app's settings, with an instance folder."""
    env = {k: v for k, v in os.environ.items() if k not in APP_ENV}
    env.update({"INSTANCE_PATH": str(tmp / "instance"), "PYTHONUNBUFFERED": "1"})
    return env


def for_app(database_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """The app's environment for a run on ``database_url``, with ``extra`` settings."""
    env = base(tmp)
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY,
                "ACTIVATION_CODE_KEY": CODE_KEY, "DATA_KEYS": DATA_KEY,
                "DOCUMENT_KEYS": DOCUMENT_KEY, **extra})
    return env


def adopt(env: dict[str, str]) -> None:
    """Give this process the app settings of ``env`` (for an app built in process)."""
    for key in APP_ENV:
        os.environ.pop(key, None)
    os.environ.update({k: env[k] for k in APP_ENV if k in env})
