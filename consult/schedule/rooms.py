"""The appointment's room: it opens (its consultation becomes active) five minutes
before the start; each side's first visit is noted; a side still absent 15 minutes
after the start makes it a no-show, and the on-duty doctors are told; the
specialist's conclusion completes it. Flushes, never commits."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from consult import payments
from consult.models import Consultation
from consult.schedule.models import HOLDING, Appointment
from core import clock
from core.extensions import db

OPENS_BEFORE = timedelta(minutes=5)
NO_SHOW_AFTER = timedelta(minutes=15)


def of_consultation(consultation_id: int) -> Appointment | None:
    """The appointment a specialist consultation was booked for (None for on-duty)."""
    return db.session.scalar(select(Appointment).where(
        Appointment.consultation_id == consultation_id))


def open_due(consultation_id: int | None = None) -> list[int]:
    """Open the rooms whose time has come (only that consultation's, when given);
    returns their consultation ids."""
    now = clock.now()
    query = select(Appointment.consultation_id).where(
        Appointment.status.in_(HOLDING), Appointment.starts_at <= now + OPENS_BEFORE,
        Appointment.starts_at > now - NO_SHOW_AFTER)
    if consultation_id is not None:
        query = query.where(Appointment.consultation_id == consultation_id)
    due = list(db.session.scalars(query))
    opened = []
    for consultation_id in due:
        # Not before a self-pay appointment is paid (the patient pays by confirming);
        # ``taken_at`` stays empty: the on-duty queue's waiting figures leave it out.
        done = db.session.execute(
            update(Consultation).where(
                Consultation.id == consultation_id, Consultation.status == "scheduled",
                Consultation.payment_status.in_((payments.PAID, payments.NOT_REQUIRED)))
            .values(status="active")
            .execution_options(synchronize_session=False)).rowcount
        if done:
            opened.append(consultation_id)
    db.session.flush()
    return opened


def note_joined(appointment: Appointment, side: str) -> None:
    """The side opened the room (the first time counts)."""
    column = Appointment.patient_joined_at if side == "patient" else \
        Appointment.specialist_joined_at
    db.session.execute(update(Appointment).where(Appointment.id == appointment.id,
                                                 column.is_(None))
                       .values({column.key: clock.now()})
                       .execution_options(synchronize_session=False))


def mark_no_shows() -> list[Appointment]:
    """Appointments a side missed (absent 15 minutes after the start): ``no_show``, the
    room closed without a conclusion. Returns them, for the on-duty doctors' notice."""
    now = clock.now()
    missed = list(db.session.scalars(select(Appointment).where(
        Appointment.status.in_(HOLDING), Appointment.starts_at <= now - NO_SHOW_AFTER,
        (Appointment.patient_joined_at.is_(None)) |
        (Appointment.specialist_joined_at.is_(None)))))
    marked = []
    for appointment in missed:
        done = db.session.execute(
            update(Appointment).where(
                Appointment.id == appointment.id, Appointment.status.in_(HOLDING),
                (Appointment.patient_joined_at.is_(None))  # a join meanwhile wins
                | (Appointment.specialist_joined_at.is_(None)))
            .values(status="no_show").execution_options(synchronize_session=False)).rowcount
        if not done:
            continue
        db.session.execute(
            update(Consultation).where(Consultation.id == appointment.consultation_id,
                                       Consultation.status.in_(("scheduled", "active")))
            .values(status="cancelled", cancelled_at=now)
            .execution_options(synchronize_session=False))
        db.session.refresh(appointment)
        if appointment.specialist_joined_at is None:  # the specialist missed it: refunded
            held = db.session.get(Consultation, appointment.consultation_id)
            if held is not None:
                db.session.refresh(held)
                from consult.schedule.appointments import refund

                refund(held)
        marked.append(appointment)
    db.session.flush()
    return marked


def completed(consultation_id: int) -> None:
    """The specialist closed the consultation with a conclusion."""
    db.session.execute(update(Appointment).where(
        Appointment.consultation_id == consultation_id, Appointment.status.in_(HOLDING))
        .values(status="completed").execution_options(synchronize_session=False))
