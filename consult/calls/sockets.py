"""The calls' Socket.IO events: start, answer, join and end a call, relay its signaling
(offers, answers, ICE candidates) and media state, store quality samples, and the
recording's consent and audio offers. The socket machinery is :mod:`consult.events`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import request
from flask_babel import gettext as _

from consult import realtime
from consult.calls import recordings
from consult.calls import services as calls
from consult.errors import ConsultRefused
from consult.events import Identity, event
from consult.models import Call, ChatMessage, Consultation
from core.extensions import socketio

QUALITY_SECONDS = 5.0  # at most one quality sample per socket this often
PC_STATES = ("none", "new", "connecting", "connected", "disconnected", "failed")


def joined(consultation: Consultation, side: str, data: dict[str, Any]) -> dict[str, Any]:
    """What a page joining the room learns of calls: the open call and its recording."""
    call = calls.open_call(consultation.id)
    return {"call": calls.call_payload(call) if call is not None else None,
            "recording": recordings.payload(recordings.of_call(call.id)) if call else None}


def away(ident: Identity) -> None:
    """A socket went away (a reload or a lost network): the other side of its calls
    hears it; the call goes on and resumes when the page is back."""
    for call_id, (cid, side) in ident.calls.items():
        socketio.emit("call_peer", {"call": call_id, "event": "away", "from": side},
                      to=realtime.room(cid))


def _in_room(ident: Identity, call: Any) -> None:
    if call.consultation_id not in ident.rooms:
        raise ConsultRefused(_("Join the consultation first."), 403)


def _signal_allowed(ident: Identity) -> None:
    if not ident.signals.take():
        raise ConsultRefused(_("Too many call messages; wait a moment."), 429)


def _invalid() -> ConsultRefused:
    return ConsultRefused(_("The call message is not valid."), 400)


def _announce(call: Call, timeline: list[ChatMessage]) -> tuple[dict[str, Any],
                                                                  Callable[[], None]]:
    """The call's state, and the work after the commit: its timeline events to the
    room, its state to both pages and to the callee's other pages."""
    state = calls.call_payload(call)
    messages = [realtime.message_payload(m, call.consultation) for m in timeline]
    callee = _callee_id(call)

    def after() -> None:
        for m in messages:
            realtime.message(m)
        realtime.call_state(state, callee)
    return state, after


def _callee_id(call: Call) -> int | None:
    """The account the call rings for: the side that did not start it."""
    c = call.consultation
    return c.patient_id if call.caller_side == "doctor" else c.doctor_id


def _relay(event_name: str, payload: dict[str, Any], consultation_id: int
           ) -> Callable[[], None]:
    """After the commit: ``payload`` to the other pages of the room."""
    sid = request.sid  # type: ignore[attr-defined]
    to = realtime.room(consultation_id)
    return lambda: socketio.emit(event_name, payload, to=to, skip_sid=sid)


@event("call_start")
def on_call_start(ident: Identity, data: dict[str, Any]
                  ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Ring the other side: ``{consultation, kind}`` (audio or video)."""
    call, side, started = calls.start(ident.user_id, data.get("consultation"),
                                      data.get("kind"))
    _in_room(ident, call)
    ident.calls[call.id] = (call.consultation_id, side)
    state, after = _announce(call, [started])
    return {"call": state, "ice_servers": calls.ice_servers(ident.user_id)}, after


@event("call_answer")
def on_call_answer(ident: Identity, data: dict[str, Any]
                   ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Accept or decline a ringing call: ``{call, accept}``. The answer's call is
    ``active`` (with the ICE servers), ``declined``, or ``missed`` when it rang out."""
    accept = data.get("accept") is True
    call, side, ended = calls.answer(ident.user_id, data.get("call"), accept)
    _in_room(ident, call)
    state, after = _announce(call, [ended] if ended else [])
    ack: dict[str, Any] = {"call": state}
    if call.status == "active":
        ident.calls[call.id] = (call.consultation_id, side)
        ack["ice_servers"] = calls.ice_servers(ident.user_id)
    return ack, after


@event("call_end")
def on_call_end(ident: Identity, data: dict[str, Any]
                ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Hang up (or give up ringing): ``{call}``. A recording of the call is stored
    after the commit."""
    call, _side, ended = calls.hang_up(ident.user_id, data.get("call"))
    ident.calls.pop(call.id, None)
    pending = recordings.begin_finishing(call.consultation_id)
    state, announce = _announce(call, [ended])
    cid = call.consultation_id

    def after() -> None:
        announce()
        recordings.finish(pending, cid)
    return {"call": state}, after


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
    pc = data.get("pc") if data.get("pc") in PC_STATES else "none"
    note = {"call": call.id, "event": "joined", "from": side, "pc": pc}
    return ({"call": calls.call_payload(call), "ice_servers": calls.ice_servers(ident.user_id),
             "recording": recordings.payload(recordings.of_call(call.id))},
            _relay("call_peer", note, call.consultation_id))


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


def _signal(data: dict[str, Any], relay: dict[str, Any]) -> dict[str, Any]:
    """``relay`` with the message's description or candidate; refused (400) when it has
    neither or it is not valid."""
    if "description" in data:
        relay["description"] = _description(data["description"])
        if relay["description"] is None:
            raise _invalid()
    elif "candidate" in data:
        relay["candidate"] = _candidate(data["candidate"]) if data["candidate"] else None
        if data["candidate"] and relay["candidate"] is None:
            raise _invalid()
    else:
        raise _invalid()
    return relay


@event("call_signal")
def on_call_signal(ident: Identity, data: dict[str, Any]
                   ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Relay an offer, an answer or an ICE candidate to the other participant:
    ``{call, gen, description | candidate}``. Only the call's two participants, in
    the consultation's room, while the call is open."""
    _signal_allowed(ident)
    call, side = calls.may_signal(ident.user_id, data.get("call"))
    _in_room(ident, call)
    gen = data.get("gen")
    if not isinstance(gen, str) or not 1 <= len(gen) <= 64:
        raise _invalid()
    relay = _signal(data, {"call": call.id, "from": side, "gen": gen})
    ident.calls[call.id] = (call.consultation_id, side)
    return {}, _relay("call_signal", relay, call.consultation_id)


@event("call_media")
def on_call_media(ident: Identity, data: dict[str, Any]
                  ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Tell the other side what this side sends now: ``{call, audio, video, reason}``
    (muted, camera off); ``reason`` ``audio`` switches the call to audio on both sides,
    ``poor`` says a poor network made it so."""
    _signal_allowed(ident)
    call, side = calls.may_signal(ident.user_id, data.get("call"))
    _in_room(ident, call)
    note = {"call": call.id, "from": side, "audio": data.get("audio") is not False,
            "video": data.get("video") is True,
            "reason": data.get("reason") if data.get("reason") in ("poor", "audio") else None}
    return {}, _relay("call_media", note, call.consultation_id)


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
    _signal_allowed(ident)
    sdp = data.get("sdp")
    if not isinstance(sdp, str) or not 0 < len(sdp) <= 20_000:
        raise _invalid()
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
    return {}, lambda: recordings.finish(pending, cid)
