"""Socket.IO events of the consultation room.

A connection is accepted only with a live signed-in session (the same cookie as the
pages); staff must have finished their second factor. Every event re-checks the
server-side session at most every minute, and keeps it alive while people chat.
Only the consultation's patient and doctor may join its room or write to it.

Each event is one transaction (one commit), and what it announces is emitted after
the commit. Events answer through the Socket.IO acknowledgement:
``{"ok": true, ...}`` or ``{"ok": false, "code": 409, "error": "…"}``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import join_room, leave_room

from accounts import sessions
from consult import realtime, services
from consult.errors import ConsultRefused
from core.access import STAFF_ROLES
from core.db import writing
from core.extensions import db, socketio

log = logging.getLogger(__name__)

RECHECK_SECONDS = 60.0
SEND_BURST = 20  # messages a connection may send at once …
SEND_PER_SECOND = 5.0  # … and on average


@dataclass
class Identity:
    """Who is on the other end of one socket, and what they may do."""

    user_id: int
    role: str
    checked_at: float
    rooms: dict[int, str] = field(default_factory=dict)  # consultation id -> side
    tokens: float = SEND_BURST
    refilled_at: float = field(default_factory=time.monotonic)

    def may_send(self) -> bool:
        now = time.monotonic()
        self.tokens = min(SEND_BURST, self.tokens + (now - self.refilled_at) * SEND_PER_SECOND)
        self.refilled_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


_identities: dict[str, Identity] = {}  # socket id -> who (this process's sockets)


class Refused(Exception):
    """The socket's session is gone: it is disconnected."""


def _identity() -> Identity:
    """The socket's user, re-checking the server-side session now and then (and noting
    the activity, so a long chat does not end the session): one UPDATE."""
    ident = _identities.get(request.sid)  # type: ignore[attr-defined]
    if ident is None:
        raise Refused
    if time.monotonic() - ident.checked_at > RECHECK_SECONDS:
        if not sessions.touch_if_live(ident.user_id, ident.role in STAFF_ROLES):
            raise Refused
        ident.checked_at = time.monotonic()
    return ident


def event(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a handler run as one writing transaction. The handler returns
    ``(ack, after)``: ``after`` runs once the commit succeeded (the emits)."""

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(data: Any = None) -> dict[str, Any]:
            if not isinstance(data, dict):
                data = {}
            after: Callable[[], None] | None = None
            try:
                with writing():
                    ident = _identity()
                    ack, after = handler(ident, data)
                    db.session.commit()
            except Refused:
                db.session.rollback()
                _disconnect_soon(request.sid)  # type: ignore[attr-defined]
                return {"ok": False, "code": 401, "error": _("You are signed out. Sign in again.")}
            except ConsultRefused as exc:
                db.session.rollback()
                return {"ok": False, "code": exc.status, "error": str(exc.detail),
                        "errors": {k: [str(m) for m in v] for k, v in exc.errors.items()}}
            except Exception:
                db.session.rollback()
                log.exception("socket event %s failed", name)
                return {"ok": False, "code": 500,
                        "error": _("Something went wrong; please try again.")}
            finally:
                db.session.remove()
            if after is not None:
                try:
                    after()
                except Exception:  # stored and committed: the replay delivers it
                    log.exception("socket event %s: announcing failed", name)
            return {"ok": True, **(ack or {})}

        run.__name__ = f"on_{name}"
        socketio.on_event(name, run)
        return handler

    return register


def _disconnect_soon(sid: str) -> None:
    """Close the socket once the refusal's acknowledgement has gone out."""

    def close() -> None:
        socketio.sleep(0.2)
        socketio.server.disconnect(sid)

    socketio.start_background_task(close)


@socketio.on("connect")
def on_connect(auth: Any = None) -> bool:
    """Accept signed-in users only; doctors on shift join their queues' rooms."""
    try:
        user = current_user
        if not user.is_authenticated or (user.is_staff and not user.totp_enabled):
            return False
        # The first re-check falls anywhere in the next minute: sockets that connected
        # together (a restart) do not all re-check at the same moment.
        checked = time.monotonic() - random.uniform(0, RECHECK_SECONDS)  # noqa: S311
        _identities[request.sid] = Identity(user.id, user.role,  # type: ignore[attr-defined]
                                            checked)
        if user.role == "doctor" and user.on_duty_doctor and services.is_on_shift(user):
            for product in services.products_for(user):
                join_room(realtime.queue_room(product))
        return True
    finally:
        db.session.remove()


@socketio.on("disconnect")
def on_disconnect(*_args: Any) -> None:
    _identities.pop(request.sid, None)  # type: ignore[attr-defined]


@event("join")
def on_join(ident: Identity, data: dict[str, Any]) -> tuple[dict[str, Any], None]:
    """Enter a consultation's room; answers with its state and the messages after
    ``after`` (the newest id this page has), so a reconnect misses nothing."""
    consultation, side = services.participant_consultation(ident.user_id,
                                                           data.get("consultation"))
    join_room(realtime.room(consultation.id))
    ident.rooms[consultation.id] = side
    messages = services.messages_after(consultation, data.get("after"))
    ack = {
        "side": side,
        **realtime.status_payload(consultation),
        "marks": services.marks(consultation),
        "messages": [services.message_payload(m, consultation) for m in messages],
    }
    if consultation.status == "waiting":
        ack["wait"] = services.wait_info(consultation)
    return ack, None


@event("leave")
def on_leave(ident: Identity, data: dict[str, Any]) -> tuple[dict[str, Any], None]:
    cid = data.get("consultation")
    if isinstance(cid, int) and ident.rooms.pop(cid, None) is not None:
        leave_room(realtime.room(cid))
    return {}, None


@event("send")
def on_send(ident: Identity, data: dict[str, Any]
            ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Store the message (once per client id), then send it to the room."""
    if not ident.may_send():
        raise ConsultRefused(_("Too many messages; wait a moment."), 429)
    cid = data.get("consultation")
    payload = services.send_message(ident.user_id, cid, data.get("client_id"),
                                    data.get("body"),
                                    side=ident.rooms.get(cid) if isinstance(cid, int) else None)
    sid = request.sid  # type: ignore[attr-defined]
    # The sender has it in the acknowledgement; its other tabs get the emit.
    return {"message": payload}, lambda: realtime.message(payload, skip_sid=sid)


@event("typing")
def on_typing(ident: Identity, data: dict[str, Any]
              ) -> tuple[dict[str, Any], Callable[[], None] | None]:
    cid = data.get("consultation")
    side = ident.rooms.get(cid) if isinstance(cid, int) else None
    if side is None:
        raise ConsultRefused(_("Join the consultation first."), 403)
    sid = request.sid  # type: ignore[attr-defined]
    return {}, lambda: socketio.emit("typing", {"consultation": cid, "from": side},
                                     to=realtime.room(cid), skip_sid=sid)


@event("receipt")
def on_receipt(ident: Identity, data: dict[str, Any]
               ) -> tuple[dict[str, Any], Callable[[], None]]:
    """The page received (``delivered``) or showed (``read``) messages up to ``upto``."""
    consultation, side = services.participant_consultation(ident.user_id,
                                                           data.get("consultation"))
    kind = "read" if data.get("kind") == "read" else "delivered"
    marks = services.mark(consultation, side, kind, data.get("upto"))
    payload = {"consultation": consultation.id, "marks": marks}
    to = realtime.room(consultation.id)
    return {"marks": marks}, lambda: socketio.emit("receipt", payload, to=to)

