"""The media worker process: an aiohttp server for the web app (never for browsers)
with aiortc sessions behind it.

Run ``python -m consult.calls.media.worker --host 127.0.0.1 --port 8101`` with its settings
in the environment (``MEDIA_WORKER_TOKEN`` required; ``MEDIA_HOST_ADDRESSES``,
``MEDIA_MAX_SESSIONS``, ``MEDIA_TEST_SECONDS``, ``CALL_ICE_SERVERS``, ``REDIS_URL``), or
``flask media run``, which builds that environment from the app's configuration.

API (every request needs ``Authorization: Bearer <token>``):

* ``POST /offer`` ``{"sdp", "type": "offer", "session", "kind": "echo", "params"?}`` →
  ``{"sdp", "type": "answer"}``; 400 bad body or offer, 409 duplicate session id,
  503 ``{"error"}`` when ``MEDIA_MAX_SESSIONS`` are live.
* ``POST /offer`` with ``kind: "record"`` and ``params: {"recording": "<call id>",
  "side": "patient"|"doctor"}``: that side's microphone for the call's recording
  (needs ``RECORDINGS_DIR`` and ``DATA_KEYS``).
* ``POST /record/finish`` ``{"recording": "<call id>"}`` → ``{"file", "size",
  "duration"}``: ends the call's record sessions, stores the mixed audio encrypted.
* ``GET /health`` → ``{"sessions": n, "max": m}``.

Once listening it prints one JSON line ``{"url": ...}`` on stdout (how ``flask serve``
learns the port when it passes ``--port 0``). With ``--parent-pid`` it exits when that
process is gone. With ``REDIS_URL`` it registers itself every few seconds (key with a
TTL) so web processes on other hosts find it (:mod:`consult.calls.media.client`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from consult.calls.media import sessions as session_kinds
from consult.calls.media.common import (
    HEARTBEAT_SECONDS,
    MAX_SDP_CHARS,
    REGISTRATION_TTL_SECONDS,
    SESSION_KINDS,
    TOKEN_ENV,
    registration,
    registry_prefix,
    split_list,
    stun_urls,
)
from consult.calls.media.hosts import restrict_host_addresses
from consult.calls.media.recorder import Recordings
from consult.calls.media.sessions import SessionRefused, Sessions

log = logging.getLogger("consult.media")
SESSION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")


@dataclass
class Settings:
    """Everything a worker needs, read once at start."""

    host: str
    port: int
    url: str  # how web processes reach it (registered in Redis)
    token: str
    host_addresses: list[str]
    max_sessions: int
    test_seconds: float
    stun: list[str]
    redis_url: str
    parent_pid: int | None = None
    recordings_dir: str = ""  # where encrypted call recordings go ("" = no recording)
    data_keys: str = ""  # DATA_KEYS: the first encrypts the recordings


def settings_from(args: argparse.Namespace, env: dict[str, str]) -> Settings:
    """Settings from the command line and the environment; raises SystemExit without a
    token (an open API would let anyone on the network start media sessions)."""
    token = env.get(TOKEN_ENV, "")
    if len(token) < 16:
        raise SystemExit(f"{TOKEN_ENV} must be set (at least 16 characters)")
    return Settings(
        host=args.host, port=args.port, url=args.url or "", token=token,
        host_addresses=split_list(env.get("MEDIA_HOST_ADDRESSES")),
        max_sessions=int(env.get("MEDIA_MAX_SESSIONS") or 8),
        test_seconds=float(env.get("MEDIA_TEST_SECONDS") or 30),
        stun=stun_urls(env.get("CALL_ICE_SERVERS")),
        redis_url=env.get("REDIS_URL", ""), parent_pid=args.parent_pid,
        recordings_dir=env.get("RECORDINGS_DIR", ""), data_keys=env.get("DATA_KEYS", ""),
    )


SESSIONS = web.AppKey("sessions", Sessions)
RECORDINGS: web.AppKey[Recordings | None] = web.AppKey("recordings")
EXPECTED = web.AppKey("expected", bytes)  # the Authorization header every request needs


def make_app(settings: Settings) -> web.Application:
    """The worker's HTTP API over a fresh session registry."""
    sessions = Sessions(settings.max_sessions, settings.test_seconds, settings.stun)
    recordings = None
    if settings.recordings_dir and settings.data_keys:
        recordings = Recordings(Path(settings.recordings_dir), settings.data_keys)
    session_kinds.RECORDINGS = recordings
    app = web.Application(middlewares=[authorised], client_max_size=4 * MAX_SDP_CHARS)
    app[SESSIONS] = sessions
    app[RECORDINGS] = recordings
    app[EXPECTED] = f"Bearer {settings.token}".encode()
    app.router.add_post("/offer", offer)
    app.router.add_post("/record/finish", finish_recording)
    app.router.add_get("/health", health)
    app.on_shutdown.append(stop_sessions)
    return app


@web.middleware
async def authorised(request: web.Request, handler: Any) -> web.StreamResponse:
    given = request.headers.get("Authorization", "").encode()
    if not hmac.compare_digest(given, request.app[EXPECTED]):
        return web.json_response({"error": "unauthorised"}, status=401)
    return await handler(request)


def _valid_offer(body: Any) -> bool:
    return (isinstance(body, dict) and body.get("type") == "offer"
            and isinstance(body.get("sdp"), str) and len(body["sdp"]) <= MAX_SDP_CHARS
            and isinstance(body.get("session"), str) and bool(SESSION_ID.match(body["session"]))
            and body.get("kind", "echo") in SESSION_KINDS
            and isinstance(body.get("params", {}), dict))


async def offer(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return web.json_response({"error": "the body must be JSON"}, status=400)
    if not _valid_offer(body):
        return web.json_response(
            {"error": "expected {sdp, type: offer, session, kind, params?}"}, status=400)
    try:
        answer = await request.app[SESSIONS].start(
            body["session"], body.get("kind", "echo"), body["sdp"], body.get("params"))
    except SessionRefused as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    return web.json_response({"sdp": answer.sdp, "type": answer.type})


async def finish_recording(request: web.Request) -> web.Response:
    """End a call's record sessions and store its recording: ``{"recording": key}``
    → ``{"file", "size", "duration"}``; 404 when this worker has none by that key."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    key = body.get("recording") if isinstance(body, dict) else None
    sessions, recordings = request.app[SESSIONS], request.app[RECORDINGS]
    if not isinstance(key, str) or recordings is None:
        return web.json_response({"error": "expected {recording}"}, status=400)
    for session in [s for s in sessions.live.values()
                    if s.kind == "record" and s.params.get("recording") == key]:
        await sessions.end(session.id)
    stored = await recordings.finish(key)
    if stored is None:
        return web.json_response({"error": "no such recording"}, status=404)
    return web.json_response(stored)


async def health(request: web.Request) -> web.Response:
    sessions = request.app[SESSIONS]
    return web.json_response({"sessions": len(sessions), "max": sessions.maximum})


async def stop_sessions(app: web.Application) -> None:
    await app[SESSIONS].end_all()


async def heartbeat(settings: Settings, sessions: Any) -> None:
    """Keep this worker's registration in Redis fresh until cancelled, then remove it."""
    import redis.asyncio as aioredis

    key = registry_prefix(settings.token) + settings.url
    client = aioredis.Redis.from_url(settings.redis_url, socket_timeout=2)
    try:
        while True:
            try:
                await client.set(key, registration(settings.url, len(sessions),
                                                   sessions.maximum),
                                 ex=REGISTRATION_TTL_SECONDS)
            except Exception as exc:  # Redis down: keep serving, retry next beat
                log.warning("cannot register in Redis: %s", exc)
            await asyncio.sleep(HEARTBEAT_SECONDS)
    finally:
        with contextlib.suppress(Exception):
            await client.delete(key)
        await client.aclose()


async def watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    """Set ``stop`` when the process that started us is gone (we were re-parented)."""
    while not stop.is_set():
        if os.getppid() != parent_pid:
            log.warning("parent %d is gone: stopping", parent_pid)
            stop.set()
            return
        await asyncio.sleep(1)


async def serve(settings: Settings) -> None:
    """Listen until SIGTERM/SIGINT (or the parent's end), then close every session."""
    restrict_host_addresses(settings.host_addresses)
    app = make_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    port = runner.addresses[0][1]
    if not settings.url:
        settings.url = f"http://{settings.host}:{port}"
    print(json.dumps({"url": settings.url}), flush=True)
    log.info("media worker listening at %s (max %d sessions)", settings.url,
             settings.max_sessions)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = []
    if settings.parent_pid:
        tasks.append(asyncio.create_task(watch_parent(settings.parent_pid, stop)))
    if settings.redis_url:
        tasks.append(asyncio.create_task(heartbeat(settings, app[SESSIONS])))
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m consult.calls.media.worker", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8101, help="port (0: any free one)")
    p.add_argument("--url", default="", help="URL web processes use to reach this worker "
                   "(default http://HOST:PORT; set it when HOST is 0.0.0.0)")
    p.add_argument("--parent-pid", type=int, default=None, help="exit when this pid is gone")
    return p


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m consult.calls.media.worker``."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s media[%(process)d] %(levelname)s %(message)s")
    for noisy in ("aioice", "aiortc"):  # a line per ICE check otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = settings_from(parser().parse_args(argv), dict(os.environ))
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
