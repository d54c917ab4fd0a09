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
from consult import calls, realtime, recordings, services
from consult.errors import ConsultRefused
from consult.models import Call
from core.access import STAFF_ROLES
from core.db import writing
from core.extensions import db, socketio

log = logging.getLogger(__name__)

RECHECK_SECONDS = 60.0
SEND_BURST = 20  # messages a connection may send at once …
SEND_PER_SECOND = 5.0  # … and on average
SIGNAL_BURST = 60  # call signaling (ICE candidates come in bursts) …
SIGNAL_PER_SECOND = 10.0
QUALITY_SECONDS = 5.0  # at most one quality sample per socket this often


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
    ``(ack, after)``: ``after`` runs once the commit succeeded (the emits, and calls to
    other services, which must not hold the transaction); a dict it returns is added
    to the acknowledgement, a ConsultRefused it raises becomes the error answer."""

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
                    more = after()
                except ConsultRefused as exc:  # work after the commit was refused
                    return {"ok": False, "code": exc.status, "error": str(exc.detail)}
                except Exception:  # stored and committed: the replay delivers it
                    log.exception("socket event %s: announcing failed", name)
                    more = None
                if isinstance(more, dict):
                    ack = {**(ack or {}), **more}
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
        join_room(realtime.user_room(user.id))
        if user.role == "doctor" and user.on_duty_doctor and services.is_on_shift(user):
            for product in services.products_for(user):
                join_room(realtime.queue_room(product))
        return True
    finally:
        db.session.remove()


@socketio.on("disconnect")
def on_disconnect(*_args: Any) -> None:
    """Forget the socket; the other side of its calls hears it is away (a reload or a
    lost network: the call goes on and resumes when the page is back)."""
    ident = _identities.pop(request.sid, None)  # type: ignore[attr-defined]
    if ident is not None:
        for call_id, (cid, side) in ident.calls.items():
            socketio.emit("call_peer", {"call": call_id, "event": "away", "from": side},
                          to=realtime.room(cid))


@event("join")
def on_join(ident: Identity, data: dict[str, Any]) -> tuple[dict[str, Any], None]:
    """Enter a consultation's room; answers with its state and the messages after
    ``after`` (the newest id this page has), so a reconnect misses nothing."""
    consultation, side = services.participant_consultation(ident.user_id,
                                                           data.get("consultation"))
    join_room(realtime.room(consultation.id))
    ident.rooms[consultation.id] = side
    if consultation.status == "active":  # a specialist appointment: who came
        from consult.schedule import rooms

        appointment = rooms.of_consultation(consultation.id)
        if appointment is not None:
            rooms.note_joined(appointment, side)
    messages = services.messages_after(consultation, data.get("after"))
    ack = {
        "side": side,
        **realtime.status_payload(consultation),
        "marks": services.marks(consultation),
        "messages": [services.message_payload(m, consultation) for m in messages],
    }
    if consultation.status == "waiting":
        ack["wait"] = services.wait_info(consultation)
    call = calls.open_call(consultation.id)
    ack["call"] = calls.call_payload(call) if call is not None else None
    ack["recording"] = recordings.payload(recordings.of_call(call.id)) if call else None
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



# --- calls -----------------------------------------------------------------------------

def _in_room(ident: Identity, call: Any) -> None:
    if call.consultation_id not in ident.rooms:
        raise ConsultRefused(_("Join the consultation first."), 403)


def _announce(call_state: dict[str, Any], messages: list[dict[str, Any]],
              call: Call | None = None) -> Callable[[], None]:
    callee = _callee_id(call) if call is not None else None

    def after() -> None:
        for m in messages:
            realtime.message(m)
        realtime.call_state(call_state, callee)
    return after


def _callee_id(call: Call) -> int | None:
    """The account the call rings for: the side that did not start it."""
    c = call.consultation
    return c.patient_id if call.caller_side == "doctor" else c.doctor_id


@event("call_start")
def on_call_start(ident: Identity, data: dict[str, Any]
                  ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Ring the other side: ``{consultation, kind}`` (audio or video)."""
    call, side, started = calls.start(ident.user_id, data.get("consultation"),
                                      data.get("kind"))
    _in_room(ident, call)
    ident.calls[call.id] = (call.consultation_id, side)
    state = calls.call_payload(call)
    message = services.message_payload(started, call.consultation)
    return ({"call": state, "ice_servers": calls.ice_servers(ident.user_id)},
            _announce(state, [message], call))


@event("call_answer")
def on_call_answer(ident: Identity, data: dict[str, Any]
                   ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Accept or decline a ringing call: ``{call, accept}``. The answer's call is
    ``active`` (with the ICE servers), ``declined``, or ``missed`` when it rang out."""
    accept = data.get("accept") is True
    call, side, ended = calls.answer(ident.user_id, data.get("call"), accept)
    _in_room(ident, call)
    state = calls.call_payload(call)
    messages = [services.message_payload(ended, call.consultation)] if ended else []
    ack: dict[str, Any] = {"call": state}
    if call.status == "active":
        ident.calls[call.id] = (call.consultation_id, side)
        ack["ice_servers"] = calls.ice_servers(ident.user_id)
    return ack, _announce(state, messages, call)


@event("call_end")
def on_call_end(ident: Identity, data: dict[str, Any]
                ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Hang up (or give up ringing): ``{call}``. A recording of the call is stored
    after the commit."""
    call, _side, ended = calls.hang_up(ident.user_id, data.get("call"))
    ident.calls.pop(call.id, None)
    pending = recordings.begin_finishing(call.consultation_id)
    state = calls.call_payload(call)
    announce = _announce(state, [services.message_payload(ended, call.consultation)], call)
    cid = call.consultation_id

    def after() -> None:
        announce()
        _store_recordings(pending, cid)
    return {"call": state}, after


def _store_recordings(pending: list[recordings.Finishing], consultation_id: int) -> None:
    for recording in recordings.store(pending):
        realtime.recording(consultation_id, recording)


@event("call_join")
def on_call_join(ident: Identity, data: dict[str, Any]
                 ) -> tuple[dict[str, Any], Callable[[], None]]:
    """This page (back after a reload or a new network) takes part in the open call:
    ``{call, pc}`` where ``pc`` is its peer connection's state (``none`` after a
    reload). The other side hears it and the caller's page offers again."""
    call, side = calls.may_signal(ident.user_id, data.get("call"))
    _in_room(ident, call)
    if call.status != "active":
        raise ConsultRefused(_("The call has not started yet."), 409)
    ident.calls[call.id] = (call.consultation_id, side)
    pc = data.get("pc") if data.get("pc") in ("none", "new", "connecting", "connected",
                                              "disconnected", "failed") else "none"
    sid = request.sid  # type: ignore[attr-defined]
    note = {"call": call.id, "event": "joined", "from": side, "pc": pc}
    to = realtime.room(call.consultation_id)
    return ({"call": calls.call_payload(call), "ice_servers": calls.ice_servers(ident.user_id),
             "recording": recordings.payload(recordings.of_call(call.id))},
            lambda: socketio.emit("call_peer", note, to=to, skip_sid=sid))


def _description(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict) or value.get("type") not in ("offer", "answer"):
        return None
    sdp = value.get("sdp")
    if not isinstance(sdp, str) or not 0 < len(sdp) <= 32_000:
        return None
    return {"type": value["type"], "sdp": sdp}


def _candidate(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or not isinstance(value.get("candidate"), str) or len(
            value["candidate"]) > 1000:
        return None
    mid, index = value.get("sdpMid"), value.get("sdpMLineIndex")
    if mid is not None and (not isinstance(mid, str) or len(mid) > 32):
        return None
    if index is not None and (not isinstance(index, int) or isinstance(index, bool)
                              or not 0 <= index < 16):
        return None
    return {"candidate": value["candidate"], "sdpMid": mid, "sdpMLineIndex": index}


@event("call_signal")
def on_call_signal(ident: Identity, data: dict[str, Any]
                   ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Relay an offer, an answer or an ICE candidate to the other participant:
    ``{call, gen, description | candidate}``. Only the call's two participants, in
    the consultation's room, while the call is open."""
    if not ident.signals.take():
        raise ConsultRefused(_("Too many call messages; wait a moment."), 429)
    call, side = calls.may_signal(ident.user_id, data.get("call"))
    _in_room(ident, call)
    gen = data.get("gen")
    if not isinstance(gen, str) or not 1 <= len(gen) <= 64:
        raise ConsultRefused(_("The call message is not valid."), 400)
    relay: dict[str, Any] = {"call": call.id, "from": side, "gen": gen}
    if "description" in data:
        relay["description"] = _description(data["description"])
        if relay["description"] is None:
            raise ConsultRefused(_("The call message is not valid."), 400)
    elif "candidate" in data:
        relay["candidate"] = _candidate(data["candidate"]) if data["candidate"] else None
        if data["candidate"] and relay["candidate"] is None:
            raise ConsultRefused(_("The call message is not valid."), 400)
    else:
        raise ConsultRefused(_("The call message is not valid."), 400)
    ident.calls[call.id] = (call.consultation_id, side)
    sid = request.sid  # type: ignore[attr-defined]
    to = realtime.room(call.consultation_id)
    return {}, lambda: socketio.emit("call_signal", relay, to=to, skip_sid=sid)


@event("call_media")
def on_call_media(ident: Identity, data: dict[str, Any]
                  ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Tell the other side what this side sends now: ``{call, audio, video, reason}``
    (muted, camera off); ``reason`` ``audio`` switches the call to audio on both sides,
    ``poor`` says a poor network made it so."""
    if not ident.signals.take():
        raise ConsultRefused(_("Too many call messages; wait a moment."), 429)
    call, side = calls.may_signal(ident.user_id, data.get("call"))
    _in_room(ident, call)
    note = {"call": call.id, "from": side, "audio": data.get("audio") is not False,
            "video": data.get("video") is True,
            "reason": data.get("reason") if data.get("reason") in ("poor", "audio") else None}
    sid = request.sid  # type: ignore[attr-defined]
    to = realtime.room(call.consultation_id)
    return {}, lambda: socketio.emit("call_media", note, to=to, skip_sid=sid)


@event("call_quality")
def on_call_quality(ident: Identity, data: dict[str, Any]) -> tuple[dict[str, Any], None]:
    """Store a quality sample this page measured (getStats), for support."""
    now = time.monotonic()
    if now - ident.quality_at < QUALITY_SECONDS:
        raise ConsultRefused(_("Too many call messages; wait a moment."), 429)
    sample = calls.record_quality(ident.user_id, data.get("call"), data)
    ident.quality_at = now
    return {"sample": sample.id}, None


# --- recording (with both sides' consent) ------------------------------------------

@event("call_record")
def on_call_record(ident: Identity, data: dict[str, Any]
                   ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Ask for, agree to or refuse the recording of the call's audio:
    ``{call, agree}``. Both pages hear the recording's state."""
    recording = recordings.consent(ident.user_id, data.get("call"), data.get("agree") is True)
    state = recordings.payload(recording)
    cid = recording.call.consultation_id
    return {"recording": state}, lambda: realtime.recording(cid, state)


@event("call_record_offer")
def on_call_record_offer(ident: Identity, data: dict[str, Any]
                         ) -> tuple[dict[str, Any], Callable[[], dict[str, Any]]]:
    """This side's audio for the recording: a complete offer ``{call, sdp}`` passed to
    the call's media worker (the same one for both sides), after the commit; answers
    ``{answer: {sdp, type}}``."""
    if not ident.signals.take():
        raise ConsultRefused(_("Too many call messages; wait a moment."), 429)
    sdp = data.get("sdp")
    if not isinstance(sdp, str) or not 0 < len(sdp) <= 20_000:
        raise ConsultRefused(_("The call message is not valid."), 400)
    offer = recordings.plan_offer(ident.user_id, data.get("call"))
    return {}, lambda: {"answer": recordings.send_offer(offer, sdp)}


@event("call_record_stop")
def on_call_record_stop(ident: Identity, data: dict[str, Any]
                        ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Either side stops the recording; what was recorded so far is kept."""
    call, _side = calls.may_signal(ident.user_id, data.get("call"))
    pending = recordings.begin_finishing(call.consultation_id, call.id)
    if not pending:
        raise ConsultRefused(_("This call is not being recorded."), 409)
    cid = call.consultation_id
    return {}, lambda: _store_recordings(pending, cid)
