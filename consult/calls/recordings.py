"""Audio recording of calls: consent from both sides, where it is recorded, and
playback.

Off unless ``CALL_RECORDING`` is set. One side asks (that is its consent), the other
agrees or refuses; nothing is recorded before both agreed, and either side can stop
it. While recording, each browser also sends its microphone to one media worker
(chosen once per call, so both sides meet there), which mixes them into one Opus file
and stores it encrypted. Each playback is written to the audit log.

Every function here changes the session only; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from accounts import audit
from accounts.models import User
from consult import realtime
from consult.calls import services as calls
from consult.calls.media import client
from consult.errors import ConsultRefused
from consult.models import Call, CallRecording
from core import clock
from core.crypto import DecryptionError, decrypt_bytes
from core.db import rowcount, separate_session
from core.extensions import db


def enabled() -> bool:
    return bool(current_app.config.get("CALL_RECORDING"))


@overload
def payload(recording: CallRecording) -> dict[str, Any]: ...
@overload
def payload(recording: None) -> None: ...
def payload(recording: CallRecording | None) -> dict[str, Any] | None:
    """A recording's state as the pages see it."""
    if recording is None:
        return None
    return {"call": recording.call_id, "status": recording.status,
            "asked_by": recording.asked_by,
            "patient": recording.patient_consent_at is not None,
            "doctor": recording.doctor_consent_at is not None}


def of_call(call_id: int) -> CallRecording | None:
    return db.session.scalar(select(CallRecording).where(CallRecording.call_id == call_id))


def _for_update(call_id: int) -> CallRecording | None:
    return db.session.scalar(select(CallRecording).where(CallRecording.call_id == call_id)
                             .with_for_update())


def consent(user_id: int, call_id: Any, agree: bool) -> CallRecording:
    """The side's answer about recording its active call. The first ``agree`` asks the
    other side; the second side's ``agree`` starts the recording; a refusal before
    that ends the question. Refused when recording is off (403). The row is locked
    while it changes (two answers at once are taken one after the other)."""
    call, side = calls.may_signal(user_id, call_id)
    if not enabled():
        raise ConsultRefused(_("Call recording is not offered."), 403)
    if call.status != "active":
        raise ConsultRefused(_("The call has not started yet."), 409)
    recording = _for_update(call.id)
    if recording is None:
        if not agree:
            raise ConsultRefused(_("Nobody asked to record this call."), 409)
        recording = CallRecording(call_id=call.id, asked_by=side, status="asking")
        try:
            with db.session.begin_nested():
                db.session.add(recording)
        except IntegrityError:  # the other side asked at the same moment
            recording = _for_update(call.id)
            assert recording is not None
    if recording.status != "asking":
        raise ConsultRefused(_("This call's recording was already decided."), 409)
    if not agree:
        recording.status = "refused"
        db.session.flush()
        return recording
    setattr(recording, f"{side}_consent_at", clock.now())
    if recording.patient_consent_at and recording.doctor_consent_at:
        recording.status = "recording"
        recording.started_at = clock.now()
    db.session.flush()
    return recording


@dataclass(frozen=True)
class Offer:
    """Where one side's audio goes: the call's worker, chosen by the first side."""

    call_id: int
    side: str
    worker_url: str


def plan_offer(user_id: int, call_id: Any) -> Offer:
    """Check that the user's browser may send its audio (both consented, still
    recording) and fix the call's worker (the first side's choice holds for both).
    Database only: :func:`send_offer` talks to the worker after the commit."""
    call, side = calls.may_signal(user_id, call_id)
    recording = of_call(call.id)
    if recording is None or recording.status != "recording":
        raise ConsultRefused(_("Both sides must agree before the call is recorded."), 409)
    if recording.worker_url is None:
        urls = client.candidate_urls(current_app.config)
        if not urls:
            raise ConsultRefused(_("Recording is unavailable right now."), 503)
        db.session.execute(update(CallRecording)
                           .where(CallRecording.id == recording.id,
                                  CallRecording.worker_url.is_(None))
                           .values(worker_url=urls[0])
                           .execution_options(synchronize_session=False))
        db.session.refresh(recording)
    assert recording.worker_url is not None
    return Offer(call.id, side, recording.worker_url)


def send_offer(offer: Offer, sdp: str) -> dict[str, str]:
    """Give the side's audio offer to its worker; the worker's answer. Outside any
    transaction (it waits for the worker). 400 bad offer, 503 no worker."""
    try:
        return client.start_session(
            current_app.config, sdp, "record",
            client.new_session_id(f"rec-{offer.call_id}-{offer.side}"),
            urls=[offer.worker_url],
            params={"recording": str(offer.call_id), "side": offer.side})
    except client.OfferRefused:
        raise ConsultRefused(_("The call message is not valid."), 400) from None
    except (client.MediaBusy, client.MediaUnavailable):
        raise ConsultRefused(_("Recording is unavailable right now."), 503) from None


@dataclass(frozen=True)
class Finishing:
    """A recording whose call ended: its worker is asked to store it (after the
    commit), then the row says ready or failed."""

    recording_id: int
    call_id: int
    worker_url: str | None


def begin_finishing(consultation_id: int, call_id: int | None = None) -> list[Finishing]:
    """Mark the consultation's (or one call's) running recordings ``finishing`` (each
    by exactly one caller: a conditional UPDATE) and its unanswered requests
    ``refused``. Returns what :func:`store` must finish once this is committed."""
    query = (select(CallRecording).join(Call, Call.id == CallRecording.call_id)
             .where(Call.consultation_id == consultation_id,
                    CallRecording.status.in_(("recording", "asking"))))
    if call_id is not None:
        query = query.where(Call.id == call_id)
    pending = []
    for recording in db.session.scalars(query):
        if recording.status == "asking":  # the call ended before the other side agreed
            recording.status = "refused"
            continue
        moved = rowcount(db.session.execute(
            update(CallRecording).where(CallRecording.id == recording.id,
                                        CallRecording.status == "recording")
            .values(status="finishing").execution_options(synchronize_session=False)))
        if moved:
            pending.append(Finishing(recording.id, recording.call_id, recording.worker_url))
    db.session.flush()
    return pending


def store(pending: list[Finishing]) -> list[dict[str, Any]]:
    """Have each worker store its recording, then note the results (a transaction of
    their own, after the caller's commit); returns the recordings' new states."""
    results: list[tuple[Finishing, dict[str, Any] | None]] = []
    for item in pending:
        result = None
        if item.worker_url:
            try:
                result = client.finish_recording(current_app.config, item.worker_url,
                                                  str(item.call_id))
            except client.MediaUnavailable:
                current_app.logger.error("recording of call %s: the worker did not answer",
                                         item.call_id)
        results.append((item, result))
    if not results:
        return []
    states = []
    # A session of its own: the caller's may still be in use (a page's request).
    with separate_session(db.engine) as session:
        for item, result in results:
            recording = session.get(CallRecording, item.recording_id)
            if recording is not None and recording.status == "finishing":
                _note(recording, result)
                states.append(payload(recording))
        session.commit()
    return [state for state in states if state is not None]


def finish(pending: list[Finishing], consultation_id: int) -> None:
    """After the commit: store the recordings, then tell both pages their states."""
    for state in store(pending):
        realtime.recording(consultation_id, state)


def _note(recording: CallRecording, result: dict[str, Any] | None) -> None:
    """Note what the worker stored (``file``, ``size``, ``duration``), or a failure."""
    recording.finished_at = clock.now()
    if result and isinstance(result.get("file"), str):
        recording.status = "ready"
        recording.file_name = result["file"]
        recording.size_bytes = int(result.get("size") or 0)
        recording.duration_seconds = int(result.get("duration") or 0)
    else:
        recording.status = "failed"


def ready_for(consultation_ids: list[int]) -> dict[int, CallRecording]:
    """The ready recordings of these consultations' calls, by call id."""
    if not consultation_ids:
        return {}
    rows = db.session.scalars(
        select(CallRecording).join(Call, Call.id == CallRecording.call_id)
        .where(Call.consultation_id.in_(consultation_ids), CallRecording.status == "ready"))
    return {r.call_id: r for r in rows}


def play(user: User, consultation_id: int, call_id: int, audit_it: bool = True) -> bytes:
    """The decrypted audio (Ogg Opus) of a ready recording, for the consultation's
    patient or doctor only (404 for anyone else), written to the audit log (its own
    transaction, committed before this returns) unless ``audit_it`` is false (the
    rest of a playback already audited: a later byte range)."""
    call = db.session.get(Call, call_id)
    if call is None or call.consultation_id != consultation_id or \
            call.consultation.side_of(user.id) is None:
        raise ConsultRefused(_("Recording not found."), 404)
    recording = of_call(call.id)
    if recording is None or recording.status != "ready" or not recording.file_name:
        raise ConsultRefused(_("Recording not found."), 404)
    path = Path(current_app.config["RECORDINGS_DIR"]) / recording.file_name
    try:
        audio = decrypt_bytes(path.read_bytes())
    except (OSError, DecryptionError) as exc:
        current_app.logger.error("recording %s unreadable: %s", recording.id, exc)
        raise ConsultRefused(_("The recording cannot be read; support has been told."),
                             500) from None
    if not audit_it:
        return audio
    # Committed on its own before the audio goes out: no playback without its entry.
    audit.append_now("call.recording_played", actor=user, subject=f"call:{call.id}",
                     details={"consultation": consultation_id, "recording": recording.id})
    return audio
