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

from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from accounts import audit
from accounts.models import User
from consult import calls
from consult.errors import ConsultRefused
from consult.models import Call, CallRecording
from core import clock
from core.crypto import DecryptionError, decrypt_bytes
from core.extensions import db


def enabled() -> bool:
    return bool(current_app.config.get("CALL_RECORDING"))


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


def consent(user_id: int, call_id: Any, agree: bool) -> CallRecording:
    """The side's answer about recording its active call. The first ``agree`` asks the
    other side; the second side's ``agree`` starts the recording; a refusal before
    that ends the question. Refused when recording is off (403)."""
    if not enabled():
        raise ConsultRefused(_("Call recording is not offered."), 403)
    call, side = calls.may_signal(user_id, call_id)
    if call.status != "active":
        raise ConsultRefused(_("The call has not started yet."), 409)
    recording = of_call(call.id)
    if recording is None:
        if not agree:
            raise ConsultRefused(_("Nobody asked to record this call."), 409)
        recording = CallRecording(call_id=call.id, asked_by=side, status="asking")
        try:
            with db.session.begin_nested():
                db.session.add(recording)
        except IntegrityError:  # the other side asked at the same moment
            recording = of_call(call.id)
            assert recording is not None
    if recording.status not in ("asking",):
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


def recording_for_offer(user_id: int, call_id: Any) -> tuple[CallRecording, str]:
    """The call's recording, when the user's browser may send its audio to it (both
    consented, still recording), and the user's side."""
    call, side = calls.may_signal(user_id, call_id)
    recording = of_call(call.id)
    if recording is None or recording.status != "recording":
        raise ConsultRefused(_("Both sides must agree before the call is recorded."), 409)
    return recording, side


def claim_worker(recording: CallRecording, url: str) -> str:
    """The worker this call records on: the first side's choice holds for both."""
    db.session.execute(update(CallRecording)
                       .where(CallRecording.id == recording.id,
                              CallRecording.worker_url.is_(None))
                       .values(worker_url=url).execution_options(synchronize_session=False))
    db.session.refresh(recording)
    assert recording.worker_url is not None
    return recording.worker_url


def connect(recording: CallRecording, side: str, sdp: str) -> dict[str, str]:
    """Pass this side's audio offer to the call's worker (chosen now by the first
    side); returns the worker's answer. 503 when no worker takes it."""
    from consult.media import client

    config = current_app.config
    try:
        url = recording.worker_url or client.candidate_urls(config)[0]
    except IndexError:
        raise ConsultRefused(_("Recording is unavailable right now."), 503) from None
    url = claim_worker(recording, url)
    try:
        return client.start_session(
            config, sdp, "record", client.new_session_id(f"rec-{recording.call_id}-{side}"),
            urls=[url], params={"recording": str(recording.call_id), "side": side})
    except client.OfferRefused:
        raise ConsultRefused(_("The call message is not valid."), 400) from None
    except (client.MediaBusy, client.MediaUnavailable):
        raise ConsultRefused(_("Recording is unavailable right now."), 503) from None


def finish(recording: CallRecording) -> None:
    """Ask the worker to close the recording and store it; note the result."""
    from consult.media import client

    result = None
    if recording.worker_url:
        try:
            result = client.finish_recording(current_app.config, recording.worker_url,
                                             str(recording.call_id))
        except client.MediaUnavailable:
            current_app.logger.error("recording of call %s: the worker did not answer",
                                     recording.call_id)
    finished(recording, result)


def finish_open(consultation_id: int) -> list[CallRecording]:
    """Finish every recording still running in the consultation (its call ended)."""
    rows = list(db.session.scalars(
        select(CallRecording).join(Call, Call.id == CallRecording.call_id)
        .where(Call.consultation_id == consultation_id,
               CallRecording.status.in_(("recording", "asking")))))
    for recording in rows:
        if recording.status == "asking":
            recording.status = "refused"  # the call ended before the other side agreed
            db.session.flush()
        else:
            finish(recording)
    return rows


def finished(recording: CallRecording, result: dict[str, Any] | None) -> None:
    """Note what the worker stored (``file``, ``size``, ``duration``), or a failure."""
    recording.finished_at = clock.now()
    if result and isinstance(result.get("file"), str):
        recording.status = "ready"
        recording.file_name = result["file"]
        recording.size_bytes = int(result.get("size") or 0)
        recording.duration_seconds = int(result.get("duration") or 0)
    else:
        recording.status = "failed"
    db.session.flush()


def to_finish(call: Call) -> CallRecording | None:
    """The call's recording if it is still recording (the call is ending)."""
    recording = of_call(call.id)
    return recording if recording is not None and recording.status == "recording" else None


def ready_for(consultation_ids: list[int]) -> dict[int, CallRecording]:
    """The ready recordings of these consultations' calls, by call id."""
    if not consultation_ids:
        return {}
    rows = db.session.scalars(
        select(CallRecording).join(Call, Call.id == CallRecording.call_id)
        .where(Call.consultation_id.in_(consultation_ids), CallRecording.status == "ready"))
    return {r.call_id: r for r in rows}


def play(user: User, consultation_id: int, call_id: int) -> bytes:
    """The decrypted audio (Ogg Opus) of a ready recording, for the consultation's
    patient or doctor only (404 for anyone else), written to the audit log (its own
    transaction, committed before this returns)."""
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
    # Committed on its own before the audio goes out: no playback without its entry.
    audit.append_now("call.recording_played", actor=user, subject=f"call:{call.id}",
                     details={"consultation": consultation_id, "recording": recording.id})
    return audio
