"""The calls' pages on the consultation blueprint: playing a call's recording."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from werkzeug.wrappers import Response

from consult.blueprint import bp
from consult.calls import recordings
from consult.errors import error_page
from core.access import allow
from core.unit import on_refusal


@bp.get("/<int:consultation_id>/calls/<int:call_id>/recording")
@allow("patient", "doctor")
@on_refusal(error_page)
def recording(consultation_id: int, call_id: int) -> Response:
    """A call's audio recording (Ogg Opus), for the consultation's patient and doctor;
    byte ranges are served (phones' players ask for them). Every playback is written
    to the audit log: a request for the start of the file starts one. Never cached."""
    ranges = request.range.ranges if request.range is not None else []
    from_start = not ranges or ranges[0][0] == 0
    audio = recordings.play(current_user, consultation_id, call_id, audit_it=from_start)
    response = Response(audio, mimetype="audio/ogg")
    response.make_conditional(request, accept_ranges=True, complete_length=len(audio))
    response.headers["Content-Disposition"] = f'inline; filename="call-{call_id}.ogg"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
