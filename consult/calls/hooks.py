"""How calls take part in the consultation (registered by :mod:`consult.wiring`): a
closing consultation ends its call and finishes its recordings; the room lists the
ready recordings; a page joining the room learns of the open call; a socket gone away
is told to the other side of its calls."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from consult import events, hooks
from consult.calls import recordings, sockets
from consult.calls import services as calls
from consult.models import Consultation
from core.unit import after_commit


def closing(consultation: Consultation) -> None:
    """The call ends with the consultation; its recordings are stored once the closing
    is committed (the worker is waited for), and both pages hear of them."""
    calls.end_open_calls(consultation, "closed")
    pending = recordings.begin_finishing(consultation.id)
    consultation_id = consultation.id
    after_commit(lambda: recordings.finish(pending, consultation_id))


def room_context(consultation: Consultation, side: str, viewer: User) -> dict[str, Any]:
    """The room's recordings: the ready ones by call id, and whether recording is offered."""
    return {"recorded": recordings.ready_for([consultation.id]),
            "recording_offered": recordings.enabled()}


def register() -> None:
    hooks.on_closing(closing)
    hooks.add_room_context(room_context)
    hooks.on_join(sockets.joined)
    events.on_disconnect(sockets.away)
