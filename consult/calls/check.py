"""The connection test: a patient (or doctor) checks camera, microphone and network
against a media worker, which echoes their audio and video back. The web app only
passes the browser's complete offer to a worker and its answer back
(:mod:`consult.calls.media.client`)."""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from consult.blueprint import bp
from consult.calls.media import client
from consult.calls.media.common import MAX_SDP_CHARS
from consult.calls.services import ice_servers
from core import unit
from core.access import allow
from core.extensions import limiter

OFFER_LIMIT = "10 per minute"


def _limit_key() -> str:
    """Per signed-in user (one patient behind a shared NAT must not block others)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr}"


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


@bp.get("/check")
@allow("patient", "doctor")
def check() -> str:
    """The connection test page (it says when no media worker is available)."""
    config = current_app.config
    return render_template("consult/check.html", ice_servers=ice_servers(current_user.id),
                           available=client.available(config),
                           seconds=min(int(config["MEDIA_TEST_SECONDS"]), 10))


@bp.post("/check/offer")
@allow("patient", "doctor")
@limiter.limit(OFFER_LIMIT, key_func=_limit_key)
def check_offer() -> tuple[Response, int] | Response:
    """Start an echo session for the browser's complete offer ``{sdp, type: "offer"}``;
    answer ``{sdp, type}``, or ``{error}`` with 400 (bad body) or 503 (no worker free)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, _("The request must be a JSON object."))
    sdp = body.get("sdp")
    if body.get("type") != "offer" or not isinstance(sdp, str) or not sdp.strip():
        return _error(400, _("The request must contain a WebRTC offer."))
    if len(sdp) > MAX_SDP_CHARS:
        return _error(400, _("The offer is too large."))
    session_id = client.new_session_id(f"check-{current_user.id}")
    # Loading the user opened a transaction (on SQLite a POST's holds the writer gate)
    # and nothing is written here: end it before waiting for the worker, or every
    # writer of the service would wait.
    unit.release_reads()
    try:
        answer = client.start_session(current_app.config, sdp, "echo", session_id)
    except client.OfferRefused:
        return _error(400, _("The offer could not be answered."))
    except client.MediaBusy:
        return _error(503, _("The test server is busy. Please try again in a minute."))
    except client.MediaUnavailable:
        return _error(503, _("The connection test is unavailable right now."))
    return jsonify(sdp=answer["sdp"], type=answer["type"])
