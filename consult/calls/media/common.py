"""What the web app and the worker share without importing aiortc: the API token, the
Redis key names, and reading the MEDIA_* settings."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

TOKEN_ENV = "MEDIA_WORKER_TOKEN"  # noqa: S105 (the name of the variable)
SESSION_KINDS = ("echo", "record")
MAX_SDP_CHARS = 20_000
HEARTBEAT_SECONDS = 3
REGISTRATION_TTL_SECONDS = 10


def worker_token(secret_key: str | bytes) -> str:
    """The bearer token of the worker API: an HMAC of a constant under ``SECRET_KEY``,
    so every web process and worker of one deployment agree without another secret."""
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(key, b"personal-doctor media worker api v1", hashlib.sha256).hexdigest()


def registry_prefix(token: str) -> str:
    """Redis key prefix of the live workers: one namespace per token, so deployments (and
    test runs) sharing a Redis never pick each other's workers."""
    return f"personal-doctor:media:{hashlib.sha256(token.encode()).hexdigest()[:12]}:"


def registration(url: str, sessions: int, maximum: int) -> str:
    """The value a worker stores under its Redis key."""
    return json.dumps({"url": url, "sessions": sessions, "max": maximum})


def split_list(value: Any) -> list[str]:
    """A comma-separated setting (or a list) as a list of non-empty stripped items."""
    if not value:
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def stun_urls(ice_servers: Any) -> list[str]:
    """The ``stun:``/``stuns:`` URLs of ``CALL_ICE_SERVERS``: the worker uses no TURN."""
    return [url for url in split_list(ice_servers) if url.split(":", 1)[0] in ("stun", "stuns")]


def worker_environment(config: Mapping[str, Any]) -> dict[str, str]:
    """The environment a worker reads its settings from, made from the app's config."""
    env = {
        TOKEN_ENV: worker_token(config["SECRET_KEY"]),
        "MEDIA_HOST_ADDRESSES": ",".join(split_list(config.get("MEDIA_HOST_ADDRESSES"))),
        "MEDIA_MAX_SESSIONS": str(config.get("MEDIA_MAX_SESSIONS", 8)),
        "MEDIA_TEST_SECONDS": str(config.get("MEDIA_TEST_SECONDS", 30)),
        "CALL_ICE_SERVERS": ",".join(stun_urls(config.get("CALL_ICE_SERVERS"))),
        "REDIS_URL": config.get("REDIS_URL") or "",
    }
    if config.get("CALL_RECORDING"):
        # The worker encrypts recordings itself, so plain audio never reaches the disk;
        # it gets the data keys only where recording is on.
        env["RECORDINGS_DIR"] = str(config.get("RECORDINGS_DIR") or "")
        env["DATA_KEYS"] = str(config.get("DATA_KEYS") or "")
    return env
