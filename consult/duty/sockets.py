"""The chat's Socket.IO events: send a message, say one is typing, mark messages
delivered or read; and what the chat tells a page joining the room (its marks, the
messages it missed, the place in line). The socket machinery is :mod:`consult.events`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_socketio import join_room

from accounts.models import User
from consult import realtime
from consult.access import participant_consultation
from consult.duty import chat
from consult.duty.queue import products_for
from consult.duty.shifts import is_on_shift
from consult.errors import ConsultRefused
from consult.events import Identity, event
from consult.line import wait_info
from consult.models import Consultation
from core.extensions import socketio


def join_queues(user: User) -> None:
    """A doctor on shift hears of new patients in the queues they serve."""
    if user.role == "doctor" and user.on_duty_doctor and is_on_shift(user):
        for product in products_for(user):
            join_room(realtime.queue_room(product))


def joined(consultation: Consultation, side: str, data: dict[str, Any]) -> dict[str, Any]:
    """What the chat tells a page joining the room: the marks, the messages after
    ``data["after"]`` and, while waiting, the place in line."""
    messages = chat.messages_after(consultation, data.get("after"))
    answer = {"marks": chat.marks(consultation),
              "messages": [realtime.message_payload(m, consultation) for m in messages]}
    if consultation.status == "waiting":
        answer["wait"] = wait_info(consultation)
    return answer


@event("send")
def on_send(ident: Identity, data: dict[str, Any]
            ) -> tuple[dict[str, Any], Callable[[], None]]:
    """Store the message (once per client id), then send it to the room."""
    if not ident.may_send():
        raise ConsultRefused(_("Too many messages; wait a moment."), 429)
    cid = data.get("consultation")
    payload = chat.send_message(ident.user_id, cid, data.get("client_id"), data.get("body"),
                                side=ident.rooms.get(cid) if isinstance(cid, int) else None)
    sid = request.sid  # type: ignore[attr-defined]
    # The sender has it in the acknowledgement; its other tabs get the emit.
    return {"message": payload}, lambda: realtime.message(payload, skip_sid=sid)


@event("typing")
def on_typing(ident: Identity, data: dict[str, Any]
              ) -> tuple[dict[str, Any], Callable[[], None] | None]:
    cid = data.get("consultation")
    if not isinstance(cid, int) or (side := ident.rooms.get(cid)) is None:
        raise ConsultRefused(_("Join the consultation first."), 403)
    sid = request.sid  # type: ignore[attr-defined]
    return {}, lambda: socketio.emit("typing", {"consultation": cid, "from": side},
                                     to=realtime.room(cid), skip_sid=sid)


@event("receipt")
def on_receipt(ident: Identity, data: dict[str, Any]
               ) -> tuple[dict[str, Any], Callable[[], None]]:
    """The page received (``delivered``) or showed (``read``) messages up to ``upto``."""
    consultation, side = participant_consultation(ident.user_id, data.get("consultation"))
    kind = "read" if data.get("kind") == "read" else "delivered"
    marks = chat.mark(consultation, side, kind, data.get("upto"))
    payload = {"consultation": consultation.id, "marks": marks}
    to = realtime.room(consultation.id)
    return {"marks": marks}, lambda: socketio.emit("receipt", payload, to=to)
