"""The patient's answers to a booked appointment: confirm it, ask for another time (the
slot is freed and the referring side is told), or cancel it. Each is one conditional
UPDATE, so a double tap or two tabs change it once. Flushes, never commits."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from accounts.models import User
from consult.errors import ConsultRefused
from consult.schedule.models import HOLDING, Appointment
from core import clock
from core.extensions import db


def of_patient(patient: User) -> list[Appointment]:
    """The account's appointments, soonest first, those ahead before those past."""
    rows = db.session.scalars(select(Appointment).where(Appointment.patient_id == patient.id)
                              .order_by(Appointment.starts_at)).all()
    now = clock.now()
    return sorted(rows, key=lambda a: (a.ends_at < now, a.starts_at))


def _own(patient: User, appointment_id: Any) -> Appointment:
    try:
        number = int(appointment_id)
    except (TypeError, ValueError):
        number = 0
    appointment = db.session.get(Appointment, number) if 0 < number < 2**31 else None
    if appointment is None or appointment.patient_id != patient.id:
        raise ConsultRefused(_("Appointment not found."), 404)
    return appointment


def _move(appointment: Appointment, allowed: tuple[str, ...], **values: Any) -> bool:
    return bool(db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  Appointment.status.in_(allowed),
                                  Appointment.starts_at > clock.now())
        .values(**values).execution_options(synchronize_session=False)).rowcount)


def confirm(patient: User, appointment_id: Any) -> Appointment:
    """The patient will come; confirming twice is harmless."""
    appointment = _own(patient, appointment_id)
    if appointment.status == "confirmed":
        return appointment
    if not _move(appointment, ("booked",), status="confirmed", confirmed_at=clock.now()):
        raise ConsultRefused(_("This appointment can no longer be confirmed."), 409)
    db.session.refresh(appointment)
    return appointment


def request_reschedule(patient: User, appointment_id: Any) -> Appointment:
    """The patient cannot come at this time: the slot is freed and the on-duty doctors
    book another."""
    appointment = _own(patient, appointment_id)
    if not _move(appointment, HOLDING, status="reschedule_requested",
                 reschedule_requested_at=clock.now()):
        raise ConsultRefused(_("Another time can no longer be asked for."), 409)
    db.session.refresh(appointment)
    return appointment


def cancel(patient: User, appointment_id: Any) -> Appointment:
    """The patient cancels; the slot is freed."""
    appointment = _own(patient, appointment_id)
    if not _move(appointment, (*HOLDING, "reschedule_requested"), status="cancelled",
                 cancelled_at=clock.now()):
        raise ConsultRefused(_("This appointment can no longer be cancelled."), 409)
    db.session.refresh(appointment)
    return appointment
