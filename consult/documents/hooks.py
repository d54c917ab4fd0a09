"""What documents add to the consultation room and the doctor's desk
(:mod:`consult.hooks`): registered by :mod:`consult.wiring` through :func:`register`."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from consult import hooks
from consult.documents import services
from consult.documents.forms import KIND_LABELS
from consult.models import Consultation


def room_context(consultation: Consultation, side: str, viewer: User) -> dict[str, Any]:
    """The room's documents panel: what ``viewer`` sees of the documents, and the labels
    of their types."""
    return {"room_documents": services.for_room(viewer, consultation, side),
            "doc_kinds": KIND_LABELS}


def desk_context(doctor: User) -> dict[str, Any]:
    """How many documents of the people the doctor is consulting wait for a review."""
    return {"unreviewed": services.unreviewed_for(doctor)}


def register() -> None:
    hooks.add_room_context(room_context)
    hooks.add_desk_context(desk_context)
