"""The web app's side of the media workers: find one and hand it an offer.

With ``REDIS_URL``, workers registered there are tried first (each refreshes a key
with its URL and load every few seconds; least loaded first, full ones skipped), then
those of ``MEDIA_WORKER_URLS`` (``flask serve`` fills it with its child workers); a
worker that does not answer or is busy is skipped for the next. Plain HTTP with a
timeout: nothing here imports aiortc, so a gevent or threaded web worker never runs
codecs.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, TypedDict

from consult.calls.media.common import registry_prefix, split_list, worker_token

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10
_redis_clients: dict[str, Any] = {}


class Worker(TypedDict):
    """A worker registered in Redis: its URL, its sessions now and at most."""

    url: str
    sessions: int
    max: int


class MediaUnavailable(Exception):
    """No worker is configured or none answered."""


class MediaBusy(Exception):
    """Every reachable worker is at ``MEDIA_MAX_SESSIONS``."""


class OfferRefused(Exception):
    """A worker could not answer the offer (it is malformed or has no media)."""


def _redis(url: str) -> Any:
    import redis

    if url not in _redis_clients:
        _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=2,
                                                   socket_connect_timeout=2)
    return _redis_clients[url]


def registered_workers(config: Mapping[str, Any]) -> list[Worker]:
    """The live workers registered in Redis, least loaded first ([] without Redis or
    when Redis cannot be read)."""
    if not config.get("REDIS_URL"):
        return []
    prefix = registry_prefix(worker_token(config["SECRET_KEY"]))
    try:
        client = _redis(config["REDIS_URL"])
        keys = list(client.scan_iter(match=prefix + "*", count=100))
        values = client.mget(keys) if keys else []
    except Exception as exc:  # the configured URLs still work without Redis
        log.warning("cannot read the media workers from Redis: %s", exc)
        return []
    workers: list[Worker] = []
    for value in values:
        if value is None:
            continue  # expired between SCAN and MGET
        try:
            entry = json.loads(value)
            workers.append({"url": str(entry["url"]), "sessions": int(entry["sessions"]),
                            "max": max(int(entry["max"]), 1)})
        except (ValueError, KeyError, TypeError):
            continue
    workers.sort(key=lambda w: (w["sessions"] / w["max"], w["sessions"]))
    return workers


def candidate_urls(config: Mapping[str, Any]) -> list[str]:
    """Worker URLs to try in order: registered ones with room, least loaded first, then
    the configured ones (from a random one, to spread the load) not registered."""
    registered = registered_workers(config)
    urls = [w["url"] for w in registered if w["sessions"] < w["max"]]
    known = {w["url"] for w in registered}
    configured = [u for u in split_list(config.get("MEDIA_WORKER_URLS")) if u not in known]
    start = random.randrange(len(configured)) if configured else 0  # noqa: S311 (spreading)
    return urls + configured[start:] + configured[:start]


def available(config: Mapping[str, Any]) -> bool:
    """True when some worker is configured or registered (it may still be busy)."""
    return bool(split_list(config.get("MEDIA_WORKER_URLS")) or registered_workers(config))


def new_session_id(prefix: str) -> str:
    """A session id no other session has: ``prefix`` and random hex."""
    return f"{prefix}-{secrets.token_hex(8)}"


def _post(url: str, token: str, body: dict[str, Any], path: str = "/offer"
          ) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (http(s) URLs from our own config)
        url.rstrip("/") + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}


def start_session(config: Mapping[str, Any], sdp: str, kind: str, session_id: str,
                  urls: list[str] | None = None, params: dict[str, str] | None = None
                  ) -> dict[str, str]:
    """Give a complete offer to the first worker that takes it (of ``urls``, by default
    every candidate); return its answer ``{"sdp", "type"}``. Raises MediaUnavailable,
    MediaBusy or OfferRefused."""
    urls = candidate_urls(config) if urls is None else urls
    if not urls:
        if registered_workers(config):
            raise MediaBusy()
        raise MediaUnavailable()
    token = worker_token(config["SECRET_KEY"])
    body: dict[str, Any] = {"sdp": sdp, "type": "offer", "session": session_id,
                            "kind": kind}
    if params:
        body["params"] = params
    busy = False
    for url in urls:
        try:
            status, answer = _post(url, token, body)
        except (OSError, ValueError) as exc:  # refused, timed out, not JSON
            log.warning("media worker %s did not answer: %s", url, exc)
            continue
        if status == 200 and isinstance(answer.get("sdp"), str):
            return {"sdp": answer["sdp"], "type": str(answer.get("type", "answer"))}
        if status == 503:
            busy = True
            continue
        if status == 400:
            raise OfferRefused(str(answer.get("error", "")))
        log.error("media worker %s answered %s %s", url, status, answer)
    if busy:
        raise MediaBusy()
    raise MediaUnavailable()


def finish_recording(config: Mapping[str, Any], url: str, key: str) -> dict[str, Any] | None:
    """Have the worker at ``url`` store the recording ``key``: ``{file, size, duration}``,
    or None when it has none. Raises MediaUnavailable when it does not answer."""
    try:
        status, stored = _post(url, worker_token(config["SECRET_KEY"]), {"recording": key},
                               "/record/finish")
    except (OSError, ValueError) as exc:
        raise MediaUnavailable() from exc
    return stored if status == 200 else None
