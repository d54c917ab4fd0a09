"""The baseline of ``bench/chat.py``: a bare python-socketio relay, no database, no auth.

Run under the same server as the app (``gunicorn -k gevent -w 1 --pythonpath bench
chat_echo:app``), so the gevent hub, engine.io, simple-websocket and the Socket.IO
protocol cost the same; only the app's own work (session check, transaction, storing
and encrypting the message) is missing. It speaks the app's chat protocol:

* ``join`` ``{consultation, side}`` enters the room ``consultation:<id>`` and answers
  ``{"ok": true, "messages": []}`` (``side`` is a hint from the benchmark; the app
  works it out from the database and ignores it);
* ``send`` ``{consultation, client_id, body}`` emits ``message`` ``{id, consultation,
  client_id, from, body, sent_at}`` to the room and answers ``{"ok": true, "message":
  ...}``.

With ``ECHO_MESSAGE_QUEUE`` (a Redis URL) and ``ECHO_CHANNEL`` it uses python-socketio's
Redis manager, as the app does with ``SOCKETIO_MESSAGE_QUEUE``. ``GET /api/v1/ping``
answers 200 so the benchmark can wait for it like for the app.
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime
from typing import Any

import socketio

_queue = os.environ.get("ECHO_MESSAGE_QUEUE") or None
_manager = (socketio.RedisManager(_queue, channel=os.environ.get("ECHO_CHANNEL", "echo"))
            if _queue else None)
# The same engine.io options as core.app._init_socketio.
sio = socketio.Server(async_mode="gevent", client_manager=_manager,
                      max_http_buffer_size=64 * 1024, ping_interval=20, ping_timeout=20,
                      logger=False, engineio_logger=False)
_ids = itertools.count(os.getpid() * 10_000_000)
_sides: dict[str, dict[int, str]] = {}


def _ping(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ.get("PATH_INFO") == "/api/v1/ping":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


app = socketio.WSGIApp(sio, _ping)


@sio.on("connect")
def on_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
    _sides[sid] = {}
    return True


@sio.on("disconnect")
def on_disconnect(sid: str, *_args: Any) -> None:
    _sides.pop(sid, None)


@sio.on("join")
def on_join(sid: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("consultation"), int):
        return {"ok": False, "code": 404, "error": "Consultation not found."}
    cid = data["consultation"]
    sio.enter_room(sid, f"consultation:{cid}")
    _sides.setdefault(sid, {})[cid] = str(data.get("side") or "patient")
    return {"ok": True, "consultation": cid, "status": "active", "messages": []}


@sio.on("send")
def on_send(sid: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {"ok": False, "code": 400, "error": "bad request"}
    cid = data.get("consultation")
    side = _sides.get(sid, {}).get(cid)  # type: ignore[arg-type]
    if side is None:
        return {"ok": False, "code": 404, "error": "Consultation not found."}
    payload = {"id": next(_ids), "consultation": cid, "client_id": data.get("client_id"),
               "from": side, "body": data.get("body"),
               "sent_at": datetime.now(UTC).isoformat()}
    sio.emit("message", payload, to=f"consultation:{cid}")
    return {"ok": True, "message": payload}

