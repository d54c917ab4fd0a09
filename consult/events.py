"""The consultation room's Socket.IO machinery: who is on each socket, the ``@event``
transaction, connecting, and joining or leaving a consultation's room.

A connection is accepted only with a live signed-in session (the same cookie as the
pages); staff must have finished their second factor. Every event re-checks the
server-side session at most every minute, and keeps it alive while people chat.
Only the consultation's patient and doctor may join its room; the features add what
they tell a page that joins (:func:`consult.hooks.joined`) and their own events
(the chat: :mod:`consult.duty.sockets`, calls: :mod:`consult.calls.sockets`).

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
from accounts.models import User
from consult import hooks, realtime
from consult.access import participant_consultation
from consult.errors import ConsultRefused
from core.access import STAFF_ROLES
from core.extensions import db, socketio
from core.unit import transaction

log = logging.getLogger(__name__)

RECHECK_SECONDS = 60.0
SEND_BURST = 20  # messages a connection may send at once …
SEND_PER_SECOND = 5.0  # … and on average
SIGNAL_BURST = 60  # call signaling (ICE candidates come in bursts) …
SIGNAL_PER_SECOND = 10.0


@dataclass
class Identity:
    """Who is on the other end of one socket, and what they may do."""

    user_id: int
    role: str
    checked_at: float
    rooms: dict[int, str] = field(default_factory=dict)  # consultation id -> side
    # Calls this socket takes part in: call id -> (consultation id, side).
    calls: dict[int, tuple[int, str]] = field(default_factory=dict)
    sends: TokenBucket = field(default_factory=lambda: TokenBucket(SEND_BURST,
                                                                   SEND_PER_SECOND))
    signals: TokenBucket = field(default_factory=lambda: TokenBucket(SIGNAL_BURST,
                                                                     SIGNAL_PER_SECOND))
    quality_at: float = 0.0

    def may_send(self) -> bool:
        return self.sends.take()


class TokenBucket:
    """``burst`` actions at once, ``rate`` a second on average."""

    def __init__(self, burst: int, rate: float) -> None:
        self.burst, self.rate = burst, rate
        self.tokens: float = burst
        self.refilled_at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.refilled_at) * self.rate)
        self.refilled_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


_identities: dict[str, Identity] = {}  # socket id -> who (this process's sockets)
Connected = Callable[[User], None]
Gone = Callable[[Identity], None]
_connected: list[Connected] = []
_gone: list[Gone] = []


class Refused(Exception):
    """The socket's session is gone: it is disconnected."""


def on_connect(hook: Connected) -> Connected:
    """Run ``hook(user)`` when a signed-in user's socket connects (join more rooms)."""
    if hook not in _connected:
        _connected.append(hook)
    return hook


def on_disconnect(hook: Gone) -> Gone:
    """Run ``hook(identity)`` when a socket goes away (tell the other side)."""
    if hook not in _gone:
        _gone.append(hook)
    return hook


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


Handler = Callable[[Identity, dict[str, Any]], tuple[dict[str, Any] | None, Any]]


def event(name: str) -> Callable[[Handler], Handler]:
    """Register a handler run as one unit of work (:func:`core.unit.transaction`). The
    handler returns ``(ack, after)``: ``after`` runs once the commit succeeded (the
    emits, and calls to other services, which must not hold the transaction); a dict
    it returns is added to the acknowledgement, a ConsultRefused it raises becomes the
    error answer."""

    def register(handler: Handler) -> Handler:
        def run(data: Any = None) -> dict[str, Any]:
            try:
                with transaction():
                    ack, after = handler(_identity(), data if isinstance(data, dict) else {})
            except Refused:
                _disconnect_soon(request.sid)  # type: ignore[attr-defined]
                return {"ok": False, "code": 401, "error": _("You are signed out. Sign in again.")}
            except ConsultRefused as exc:
                return {"ok": False, "code": exc.status, "error": str(exc.detail),
                        "errors": {k: [str(m) for m in v] for k, v in exc.errors.items()}}
            except Exception:
                log.exception("socket event %s failed", name)
                return {"ok": False, "code": 500,
                        "error": _("Something went wrong; please try again.")}
            finally:
                db.session.remove()
            return _answer(name, ack, after)

        run.__name__ = f"on_{name}"
        socketio.on_event(name, run)
        return handler

    return register


def _answer(name: str, ack: dict[str, Any] | None, after: Callable[[], Any] | None
            ) -> dict[str, Any]:
    """The acknowledgement, once ``after`` ran (its dict added to it)."""
    if after is not None:
        try:
            more = after()
        except ConsultRefused as exc:  # work after the commit was refused
            return {"ok": False, "code": exc.status, "error": str(exc.detail)}
        except Exception:  # stored and committed: the replay delivers it
            log.exception("socket event %s: announcing failed", name)
            more = None
        if isinstance(more, dict):
            ack = {**(ack or {}), **more}
    return {"ok": True, **(ack or {})}


def _disconnect_soon(sid: str) -> None:
    """Close the socket once the refusal's acknowledgement has gone out."""

    def close() -> None:
        socketio.sleep(0.2)  # type: ignore[arg-type]  # the stubs take only whole seconds
        socketio.server.disconnect(sid)  # type: ignore[attr-defined]  # missing from the stubs

    socketio.start_background_task(close)


@socketio.on("connect")
def on_connected(auth: Any = None) -> bool:
    """Accept signed-in users only; the features join them to more rooms (doctors on
    shift: their queues')."""
    try:
        user = current_user
        if not user.is_authenticated or (user.is_staff and not user.totp_enabled):
            return False
        # The first re-check falls anywhere in the next minute: sockets that connected
        # together (a restart) do not all re-check at the same moment.
        checked = time.monotonic() - random.uniform(0, RECHECK_SECONDS)  # noqa: S311
        _identities[request.sid] = Identity(user.id, user.role,  # type: ignore[attr-defined]
                                            checked)
        join_room(realtime.user_room(user.id))
        for hook in _connected:
            hook(user)
        return True
    finally:
        db.session.remove()


@socketio.on("disconnect")
def on_disconnected(*_args: Any) -> None:
    """Forget the socket; the features tell whoever needs to know (the other side of
    its calls hears it is away)."""
    ident = _identities.pop(request.sid, None)  # type: ignore[attr-defined]
    if ident is not None:
        for hook in _gone:
            hook(ident)


@event("join")
def on_join(ident: Identity, data: dict[str, Any]) -> tuple[dict[str, Any], None]:
    """Enter a consultation's room; answers with its state and what the features add
    (the messages after ``after``, the newest id this page has, so a reconnect misses
    nothing; the open call)."""
    consultation, side = participant_consultation(ident.user_id, data.get("consultation"))
    join_room(realtime.room(consultation.id))
    ident.rooms[consultation.id] = side
    return {"side": side, **realtime.status_payload(consultation),
            **hooks.joined(consultation, side, data)}, None


@event("leave")
def on_leave(ident: Identity, data: dict[str, Any]) -> tuple[dict[str, Any], None]:
    cid = data.get("consultation")
    if isinstance(cid, int) and ident.rooms.pop(cid, None) is not None:
        leave_room(realtime.room(cid))
    return {}, None
