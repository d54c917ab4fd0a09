"""Audio and video calls inside a consultation: the rules, and the ICE servers.

Calls are WebRTC peer to peer between the patient's and the doctor's browsers; the
server only keeps the call's state (ringing → active → ended, or declined / missed),
relays the signaling (offers, answers, ICE candidates: consult.calls.sockets) between the
two participants, stores quality samples for support, and writes the call's events
into the chat timeline. The caller's page always makes the offers; a reload or a new
network on either side makes it offer again (a new ``generation``), so the call
resumes without ending the consultation.

Every function here changes the session only; the caller commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from consult.access import participant_consultation
from consult.errors import ConsultRefused
from consult.models import CALL_KINDS, OPEN_CALL, Call, CallQualitySample, ChatMessage, Consultation
from consult.text import as_id
from core import clock
from core.crypto import encrypt
from core.db import rowcount
from core.extensions import db

RING_SECONDS = 60  # an unanswered call is missed after this long
MAX_SAMPLES_PER_SIDE = 720  # one every 5 s: an hour of quality samples per side


# --- ICE servers -----------------------------------------------------------------------

def _urls(setting: str) -> list[str]:
    value = current_app.config.get(setting) or ""
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v]
    return [u.strip() for u in str(value).split(",") if u.strip()]


def turn_credentials(secret: str, user_id: int, ttl_seconds: int, now: float
                     ) -> tuple[str, str]:
    """coturn's ``use-auth-secret`` credentials: the username is ``expiry:user-id``
    (expiry in Unix seconds) and the password the base64 HMAC-SHA1 of the username
    keyed with the shared secret. coturn refuses them once the expiry has passed."""
    username = f"{int(now) + ttl_seconds}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(user_id: int) -> list[dict[str, Any]]:
    """The browser's ``RTCIceServer`` list for a call or a connection test: the STUN
    and TURN URLs of the configuration (none by default: host candidates only), TURN
    with credentials minted now for this user. Never a server outside the deployment."""
    servers: list[dict[str, Any]] = []
    plain = _urls("CALL_ICE_SERVERS")
    if plain:
        servers.append({"urls": plain})
    turn = _urls("TURN_URLS")
    secret = current_app.config.get("TURN_SECRET")
    if turn and secret:
        username, credential = turn_credentials(
            secret, user_id, int(current_app.config["TURN_TTL_SECONDS"]),
            clock.now().timestamp())
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers


# --- state -----------------------------------------------------------------------------

def call_payload(call: Call) -> dict[str, Any]:
    """A call as the pages see it."""
    return {
        "id": call.id,
        "consultation": call.consultation_id,
        "kind": call.kind,
        "status": call.status,
        "caller": call.caller_side,
        "started_at": call.started_at.isoformat(),
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "duration": call.duration_seconds,
        "end_reason": call.end_reason,
        # Seconds rung so far, and since the answer: the pages time the ring and count the
        # call's length from them with their own clocks (which may be set wrong).
        "ringing_for": (max(0, int((clock.now() - call.started_at).total_seconds()))
                        if call.status == "ringing" else None),
        "elapsed": (max(0, int((clock.now() - call.answered_at).total_seconds()))
                    if call.answered_at and call.status == "active" else None),
    }


def open_call(consultation_id: int) -> Call | None:
    """The consultation's ringing or active call, if any (a ringing call nobody answered
    within RING_SECONDS is marked missed first)."""
    call = db.session.scalar(select(Call).where(Call.consultation_id == consultation_id,
                                                Call.status.in_(OPEN_CALL)))
    if call is not None and call.status == "ringing" and _rang_out(call):
        _finish(call, "missed", None, "no_answer")
        return None
    return call


def _rang_out(call: Call) -> bool:
    return clock.now() - call.started_at > timedelta(seconds=RING_SECONDS)


def _participant_call(user_id: int, call_id: Any, lock: bool = False) -> tuple[Call, str]:
    """The call and the user's side in it; 404 for anyone else. ``lock`` takes the
    call's row lock (PostgreSQL; SQLite's writers are serialised anyway) so that two
    changes of state at once (an answer and a hang-up) happen one after the other."""
    cid = as_id(call_id)
    call = db.session.get(Call, cid, with_for_update=lock or None,
                          populate_existing=lock) if cid > 0 else None
    side = call.consultation.side_of(user_id) if call is not None else None
    if call is None or side is None:
        raise ConsultRefused(_("Call not found."), 404)
    return call, side


def start(user_id: int, consultation_id: Any, kind: Any) -> tuple[Call, str, ChatMessage]:
    """Ring the other side: a new call of an active consultation, by one of its two
    participants. Refused while another call of it is open (409), also when two
    presses race: the database holds one open call per consultation."""
    consultation, side = participant_consultation(user_id, consultation_id)
    if kind not in CALL_KINDS:
        raise ConsultRefused(_("Choose an audio or a video call."), 400)
    if consultation.status != "active":
        raise ConsultRefused(_("Calls are possible while the consultation is in progress."),
                             409)
    if open_call(consultation.id) is not None:
        raise ConsultRefused(_("A call is already going on in this consultation."), 409)
    call = Call(consultation_id=consultation.id, kind=kind, caller_side=side,
                status="ringing", started_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(call)
    except IntegrityError:
        raise ConsultRefused(_("A call is already going on in this consultation."),
                             409) from None
    event = _timeline(call, consultation, user_id, "started")
    return call, side, event


def answer(user_id: int, call_id: Any, accept: bool) -> tuple[Call, str, ChatMessage | None]:
    """The called side accepts (the call becomes active) or declines (it ends). Only
    the side that did not call may answer, once; a call that rang longer than
    RING_SECONDS is missed instead (the returned call says so, with its timeline
    event)."""
    call, side = _participant_call(user_id, call_id, lock=True)
    if side == call.caller_side:
        raise ConsultRefused(_("Only the called side can answer."), 403)
    if call.status == "ringing" and _rang_out(call):
        return call, side, _finish(call, "missed", None, "no_answer")
    if call.status != "ringing":
        raise ConsultRefused(_("This call is no longer ringing."), 409)
    if not accept:
        return call, side, _finish(call, "declined", side, "declined", user_id)
    done = rowcount(db.session.execute(
        update(Call).where(Call.id == call.id, Call.status == "ringing")
        .values(status="active", answered_at=clock.now())
        .execution_options(synchronize_session=False)))
    if not done:  # answered in another window a moment ago
        raise ConsultRefused(_("This call is no longer ringing."), 409)
    db.session.refresh(call)
    return call, side, None


def hang_up(user_id: int, call_id: Any) -> tuple[Call, str, ChatMessage]:
    """Either side ends the call: an active call ends (with its duration), a ringing
    one is missed (the caller gave up)."""
    call, side = _participant_call(user_id, call_id, lock=True)
    if call.status not in OPEN_CALL:
        raise ConsultRefused(_("This call has already ended."), 409)
    if call.status == "ringing":
        return call, side, _finish(call, "missed", side, "cancelled", user_id)
    return call, side, _finish(call, "ended", side, "hang_up", user_id)


def end_open_calls(consultation: Consultation, reason: str) -> list[ChatMessage]:
    """End whatever call is open in the consultation (it is being closed)."""
    call = open_call(consultation.id)
    if call is None:
        return []
    status = "ended" if call.status == "active" else "missed"
    return [_finish(call, status, None, reason)]


def _finish(call: Call, status: str, side: str | None, reason: str,
            user_id: int | None = None) -> ChatMessage:
    call.status = status
    call.ended_at = clock.now()
    call.ended_by = side
    call.end_reason = reason
    db.session.flush()
    event = "ended" if status == "ended" else status
    consultation = call.consultation
    sender = user_id if user_id is not None else (
        consultation.doctor_id if call.caller_side == "doctor" else consultation.patient_id)
    return _timeline(call, consultation, sender or consultation.patient_id, event)


def _timeline(call: Call, consultation: Consultation, sender_id: int, event: str
              ) -> ChatMessage:
    """Write a call event into the consultation's chat (stored like a message)."""
    body = {"event": event, "kind": call.kind, "by": call.caller_side
            if event == "started" else call.ended_by, "duration": call.duration_seconds}
    message = ChatMessage(consultation_id=consultation.id, sender_id=sender_id,
                          # ":" never occurs in a chat message's id: no collision
                          client_id=f"call:{call.id}:{event}", call_id=call.id,
                          body_encrypted=encrypt(json.dumps(body)), sent_at=clock.now())
    db.session.add(message)
    db.session.flush()
    return message


def may_signal(user_id: int, call_id: Any, consultation_id: int | None = None
               ) -> tuple[Call, str]:
    """The open call and the user's side, for relaying signaling; refused for anyone
    but its two participants and once the call has ended."""
    call, side = _participant_call(user_id, call_id)
    if consultation_id is not None and call.consultation_id != consultation_id:
        raise ConsultRefused(_("Call not found."), 404)
    if call.status not in OPEN_CALL:
        raise ConsultRefused(_("This call has already ended."), 409)
    return call, side


# --- quality ---------------------------------------------------------------------------

def _measure(data: dict[str, Any], key: str, upper: float, scale: float = 1.0) -> int | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if value < 0 or value > upper:
        return None
    return int(round(value * scale))


def record_quality(user_id: int, call_id: Any, data: dict[str, Any]) -> CallQualitySample:
    """Store one side's measurement of its call (values outside sane ranges are
    dropped, not stored); at most MAX_SAMPLES_PER_SIDE per side and call."""
    call, side = may_signal(user_id, call_id)
    if call.status != "active":
        raise ConsultRefused(_("The call has not started yet."), 409)
    stored = db.session.execute(
        select(func.count()).select_from(CallQualitySample)
        .where(CallQualitySample.call_id == call.id, CallQualitySample.side == side)
    ).scalar_one()
    if stored >= MAX_SAMPLES_PER_SIDE:
        raise ConsultRefused(_("Enough quality samples for this call."), 429)
    sample = CallQualitySample(
        call_id=call.id, side=side, measured_at=clock.now(),
        rtt_ms=_measure(data, "rtt_ms", 60_000), loss_permille=_measure(data, "loss", 1, 1000),
        bitrate_kbps=_measure(data, "bitrate_kbps", 100_000),
        width=_measure(data, "width", 8192), height=_measure(data, "height", 8192),
        fps=_measure(data, "fps", 240), audio_only=data.get("audio_only") is True)
    db.session.add(sample)
    db.session.flush()
    return sample


def quality_samples(call: Call) -> list[CallQualitySample]:
    return list(db.session.scalars(select(CallQualitySample)
                                   .where(CallQualitySample.call_id == call.id)
                                   .order_by(CallQualitySample.id)))
