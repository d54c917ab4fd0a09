"""Dev-only mailbox: in demo mode, outgoing mail is readable at /dev/mailbox.

Registered only when ``DEMO`` is on; outside demo mode these routes do not exist.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template
from markupsafe import Markup, escape
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.access import public
from core.extensions import db
from core.outbox import OutboxMessage, materialise, render_attachment

bp = Blueprint("devmail", __name__, url_prefix="/dev/mailbox")


_URL = re.compile(r"https?://[^\s<>\"']+")


@bp.app_template_filter("linkify")
def linkify(text: str) -> Markup:
    """Escape ``text`` and make its web addresses clickable."""
    escaped = str(escape(text))
    # Safe: the text was escaped above and the pattern excludes quotes and angle brackets.
    return Markup(_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))  # noqa: S704


def _shown(msg: OutboxMessage) -> OutboxMessage:
    """``msg`` rendered for the page only: taken out of the session first, so what is
    rendered is never written (a GET writes nothing; the sender renders it again)."""
    db.session.expunge(msg)
    return materialise(msg)


def _get(msg_id: int) -> OutboxMessage:
    msg = db.session.get(OutboxMessage, msg_id)
    if msg is None:
        abort(404)
    return _shown(msg)


@bp.get("/")
@public
def index() -> str:
    """Every message in the outbox, newest first."""
    messages = db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)
    ).all()
    for msg in messages:
        _shown(msg)
    return render_template("devmail/index.html", messages=messages)


@bp.get("/<int:msg_id>")
@public
def show(msg_id: int) -> str:
    """One message: headers, the text part, links to the HTML part and attachments."""
    return render_template("devmail/show.html", msg=_get(msg_id))


@bp.get("/<int:msg_id>/html")
@public
def html(msg_id: int) -> Response:
    """The HTML part as the recipient's mail program would show it (no scripts)."""
    msg = _get(msg_id)
    response = Response(msg.html_body or "", mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'none'; form-action 'none'"
    )
    return response


@bp.get("/<int:msg_id>/attachments/<int(min=0):index>")
@public
def attachment(msg_id: int, index: int) -> Response:
    """Render and download attachment ``index`` of the message."""
    msg = _get(msg_id)
    if index >= len(msg.attachments or []):
        abort(404)
    spec = msg.attachments[index]
    att = render_attachment(spec["kind"], spec["ref"], msg.locale)
    return Response(
        att.data, mimetype=att.content_type,
        headers={"Content-Disposition": f'attachment; filename="{att.filename}"'},
    )
