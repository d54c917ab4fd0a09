"""The consultation's chat: storing a message once per client id, replaying what a page
missed, and the delivered / read marks. Flushes, never commits."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, bindparam, func, select, text, update

from consult.errors import ConsultRefused
from consult.models import ChatMessage, Consultation
from consult.text import MESSAGE_ID_MAX, as_cursor, as_id, clean_text
from core import clock
from core.crypto import decrypt, encrypt
from core.db import UTCDateTime
from core.extensions import db

# The send path runs for every chat message: Core statements on the table (no ORM
# compilation, no entities), built once, executed on the session's connection.
_CONSULTATION = Consultation.__table__
_MESSAGE = ChatMessage.__table__
_PARTICIPANTS = select(_CONSULTATION.c.patient_id, _CONSULTATION.c.doctor_id,
                       _CONSULTATION.c.status).where(_CONSULTATION.c.id == bindparam("cid"))
_STORE = text(  # stores only for a participant of an active consultation, once per id
    "INSERT INTO chat_message (consultation_id, sender_id, client_id, body_encrypted, sent_at)"
    " SELECT :cid, :uid, :client_id, :body, :sent_at WHERE EXISTS (SELECT 1 FROM consultation"
    " WHERE id = :cid AND status = 'active' AND (patient_id = :uid OR doctor_id = :uid))"
    " ON CONFLICT (consultation_id, sender_id, client_id) DO NOTHING RETURNING id"
).bindparams(bindparam("sent_at", type_=UTCDateTime())).columns(id=Integer)
_FIND = select(_MESSAGE.c.id, _MESSAGE.c.body_encrypted, _MESSAGE.c.sent_at).where(
    _MESSAGE.c.consultation_id == bindparam("cid"), _MESSAGE.c.sender_id == bindparam("uid"),
    _MESSAGE.c.client_id == bindparam("client_id"))


def send_message(user_id: int, consultation_id: Any, client_id: Any, body: Any,
                 side: str | None = None) -> dict[str, Any]:
    """Store a chat message once per ``client_id`` and return it as the clients see it
    (:func:`consult.realtime.message_payload`). Only the two participants of an active
    consultation may add one; a resend with the same id returns the stored message
    (even once the chat is closed). ``side`` (patient / doctor), when the caller knows
    it, saves a query: the common case is one ``INSERT … SELECT … WHERE EXISTS … ON
    CONFLICT DO NOTHING RETURNING id`` (the caller commits)."""
    cid = as_id(consultation_id)
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= 64 or not all(
            c.isalnum() or c in "-_" for c in client_id):
        raise ConsultRefused(_("The message has no valid id; reload the page."), 400)
    conn = db.session.connection()
    keys = {"cid": cid, "uid": user_id, "client_id": client_id}
    new_id = text_ = now = None
    if cid:
        text_ = clean_text(body, "body", int(current_app.config["CONSULT_MESSAGE_MAX_CHARS"]))
        now = clock.now()
        new_id = conn.execute(_STORE, {**keys, "body": encrypt(text_),
                                       "sent_at": now}).scalar()
    if new_id is None or side is None:
        row = conn.execute(_PARTICIPANTS, {"cid": cid}).first() if cid else None
        if row is None or user_id not in (row.patient_id, row.doctor_id):
            raise ConsultRefused(_("Consultation not found."), 404)
        side = "patient" if user_id == row.patient_id else "doctor"
    if new_id is not None and now is not None:
        return {"id": new_id, "consultation": cid, "client_id": client_id, "from": side,
                "body": text_, "sent_at": now.isoformat()}
    existing = conn.execute(_FIND, keys).first()
    if existing is not None:  # a resend: the first one is the message
        return {"id": existing.id, "consultation": cid, "client_id": client_id, "from": side,
                "body": decrypt(existing.body_encrypted), "sent_at": existing.sent_at.isoformat()}
    assert row is not None  # read above: no message was stored
    if row.status == "closed":
        raise ConsultRefused(_("This consultation is closed; the chat is read-only."), 409)
    raise ConsultRefused(_("The chat opens when a doctor takes the consultation."), 409)


def messages_after(consultation: Consultation, after_id: Any, limit: int = 1000
                   ) -> list[ChatMessage]:
    """The consultation's messages newer than ``after_id``, oldest first; a cursor
    that is not a message id is refused (ConsultRefused 422)."""
    after = as_cursor(after_id, "after", maximum=MESSAGE_ID_MAX) or 0
    return list(db.session.scalars(
        select(ChatMessage).where(ChatMessage.consultation_id == consultation.id,
                                  ChatMessage.id > after)
        .order_by(ChatMessage.id).limit(limit)))


def mark(consultation: Consultation, side: str, kind: str, upto: Any) -> dict[str, int]:
    """Move the side's delivered or read mark forward to ``upto`` (never back, never
    past the newest message); reading implies delivery. Returns the marks (flushes)."""
    newest = db.session.scalar(select(func.max(ChatMessage.id)).where(
        ChatMessage.consultation_id == consultation.id)) or 0
    upto_id = min(as_id(upto, MESSAGE_ID_MAX), newest)
    columns = [f"{side}_delivered_id"] + ([f"{side}_read_id"] if kind == "read" else [])
    for column in columns:
        attr = getattr(Consultation, column)
        db.session.execute(
            update(Consultation).where(Consultation.id == consultation.id, attr < upto_id)
            .values({column: upto_id}).execution_options(synchronize_session=False))
    db.session.refresh(consultation)
    return marks(consultation)


def marks(consultation: Consultation) -> dict[str, int]:
    """Each side's delivered and read marks: ``patient_delivered``, ``patient_read``,
    ``doctor_delivered``, ``doctor_read``."""
    return {f"{side}_{kind}": getattr(consultation, f"{side}_{kind}_id")
            for side in ("patient", "doctor") for kind in ("delivered", "read")}
