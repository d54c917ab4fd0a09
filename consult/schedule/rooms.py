"""The appointment's room: it opens (its consultation becomes active) five minutes
before the start; each side's first visit is noted; a side still absent 15 minutes
after the start makes it a no-show, and the on-duty doctors are told; the
specialist's conclusion completes it. Flushes, never commits; :func:`arrive`, called
from the room's page (which does not write), writes through a short transaction of
its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, scoped_session

from consult import payments
from consult.models import Consultation
from consult.schedule.appointments import refund
from consult.schedule.models import HOLDING, NO_SHOW_AFTER, OPENS_BEFORE, Appointment
from core import clock
from core.db import request_is_writer, rowcount, separate_session
from core.extensions import db

Writer = Session | scoped_session[Any]  # the request's session, or one of its own


def of_consultation(consultation_id: int) -> Appointment | None:
    """The appointment a specialist consultation was booked for (None for on-duty)."""
    return db.session.scalar(select(Appointment).where(
        Appointment.consultation_id == consultation_id))


def open_due(consultation_id: int | None = None, session: Writer = db.session) -> list[int]:
    """Open the rooms whose time has come (only that consultation's, when given);
    returns their consultation ids."""
    now = clock.now()
    query = select(Appointment.consultation_id).where(
        Appointment.status.in_(HOLDING), Appointment.starts_at <= now + OPENS_BEFORE,
        Appointment.starts_at > now - NO_SHOW_AFTER)
    if consultation_id is not None:
        query = query.where(Appointment.consultation_id == consultation_id)
    due = list(session.scalars(query))
    opened = []
    for consultation_id in due:
        # Not before a self-pay appointment is paid (the patient pays by confirming);
        # ``taken_at`` stays empty: the on-duty queue's waiting figures leave it out.
        done = rowcount(session.execute(
            update(Consultation).where(
                Consultation.id == consultation_id, Consultation.status == "scheduled",
                Consultation.payment_status.in_((payments.PAID, payments.NOT_REQUIRED)))
            .values(status="active")
            .execution_options(synchronize_session=False)))
        if done:
            opened.append(consultation_id)
    session.flush()
    return opened


def note_joined(appointment: Appointment, side: str, session: Writer = db.session) -> None:
    """The side opened the room (the first time counts)."""
    column = Appointment.patient_joined_at if side == "patient" else \
        Appointment.specialist_joined_at
    session.execute(update(Appointment).where(Appointment.id == appointment.id,
                                              column.is_(None))
                    .values({column.key: clock.now()})
                    .execution_options(synchronize_session=False))


def arrive(consultation: Consultation, side: str) -> None:
    """A side opens a specialist consultation's room: open it if its time has come,
    and note the visit. On the room's page (a GET, whose session only reads) this is
    a short transaction of its own, whose result the page's session then shows; in a
    writer's transaction (a socket event) it joins that one."""
    appointment = of_consultation(consultation.id)
    if appointment is None or consultation.status not in ("scheduled", "active"):
        return
    if request_is_writer():
        _open_and_note(db.session, consultation, appointment, side)
        db.session.refresh(consultation)
        db.session.refresh(appointment)
        return
    with separate_session(db.engine) as session:
        _open_and_note(session, consultation, appointment, side)
        fresh = [session.get(Consultation, consultation.id),
                 session.get(Appointment, appointment.id)]
        session.commit()
    for row in fresh:  # the page's session may still read from before the write
        if row is not None:
            db.session.merge(row, load=False)


def _open_and_note(session: Writer, consultation: Consultation, appointment: Appointment,
                   side: str) -> None:
    opened = open_due(consultation.id, session)
    if consultation.status == "active" or consultation.id in opened:
        note_joined(appointment, side, session)
    session.flush()


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
        done = rowcount(db.session.execute(
            update(Appointment).where(
                Appointment.id == appointment.id, Appointment.status.in_(HOLDING),
                (Appointment.patient_joined_at.is_(None))  # a join meanwhile wins
                | (Appointment.specialist_joined_at.is_(None)))
            .values(status="no_show").execution_options(synchronize_session=False)))
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
                refund(held)
        marked.append(appointment)
    db.session.flush()
    return marked


def completed(consultation_id: int) -> None:
    """The specialist closed the consultation with a conclusion."""
    db.session.execute(update(Appointment).where(
        Appointment.consultation_id == consultation_id, Appointment.status.in_(HOLDING))
        .values(status="completed").execution_options(synchronize_session=False))
