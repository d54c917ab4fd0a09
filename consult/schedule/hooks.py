"""How specialist appointments take part in the consultation (registered by
:mod:`consult.wiring` through :func:`register`): the room opens when its time has come
and notes who came; it shows the appointments booked from it and the appointment it
was booked for; the desk lists appointments that need a new time; the history links a
specialist consultation to the one that referred it; closing completes the appointment;
and documents learn what a referral shares with the specialist."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from consult import hooks
from consult.documents import sharing
from consult.models import Consultation
from consult.schedule import context, referrals, rooms


def room_context(consultation: Consultation, side: str, viewer: User) -> dict[str, Any]:
    """The room's appointments panel, and the appointment the room was booked for."""
    return {"appointments_panel": context.panel(consultation),
            **context.room_context(rooms.of_consultation(consultation.id))}


def desk_context(doctor: User) -> dict[str, Any]:
    """The appointments that need a new time (every on-duty doctor's list)."""
    return context.desk_context()


def history_context(consultations: list[Consultation]) -> dict[str, Any]:
    """For the specialist consultations of the page: the appointment each was booked for
    (``booked``), when it was paid (``paid_at``: confirmed), and the consultation that
    referred it (``referrals``)."""
    ids = [c.id for c in consultations]
    booked = context.appointments_of(ids)
    return {"booked": booked, "referrals": context.referred_from(ids),
            "paid_at": {cid: a.confirmed_at for cid, a in booked.items()}}


def joined(consultation: Consultation, side: str, data: dict[str, Any]) -> dict[str, Any]:
    """A side's page joined an open appointment room: it came (the first time counts)."""
    if consultation.status == "active":
        appointment = rooms.of_consultation(consultation.id)
        if appointment is not None:
            rooms.note_joined(appointment, side)
    return {}


def closing(consultation: Consultation) -> None:
    """The specialist's conclusion completes the appointment (if it was one)."""
    rooms.completed(consultation.id)


def register() -> None:
    hooks.on_arrival(rooms.arrive)
    hooks.on_join(joined)
    hooks.on_closing(closing)
    hooks.add_room_context(room_context)
    hooks.add_desk_context(desk_context)
    hooks.add_history_context(history_context)
    sharing.use_referrals(referrals.REFERRALS)
