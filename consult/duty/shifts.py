"""On-duty doctors' shifts: on shift, a doctor is announced new patients and may take
them. Flushes, never commits."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update

from accounts.models import User
from consult.errors import ConsultRefused
from consult.models import DutyShift
from core import clock
from core.db import rowcount
from core.extensions import db


def is_on_shift(doctor: User) -> bool:
    return db.session.scalar(select(DutyShift.id).where(
        DutyShift.doctor_id == doctor.id, DutyShift.ended_at.is_(None))) is not None


def start_shift(doctor: User) -> bool:
    """Put the doctor on shift; False if already on it (flushes)."""
    if not doctor.on_duty_doctor:
        raise ConsultRefused(_("Only on-duty doctors take shifts."), 403)
    db.session.execute(select(User.id).where(User.id == doctor.id).with_for_update())
    if is_on_shift(doctor):
        return False
    db.session.add(DutyShift(doctor_id=doctor.id, started_at=clock.now()))
    db.session.flush()
    return True


def end_shift(doctor: User) -> bool:
    """End the doctor's shift; chats in progress stay theirs (flushes)."""
    return bool(rowcount(db.session.execute(
        update(DutyShift).where(DutyShift.doctor_id == doctor.id, DutyShift.ended_at.is_(None))
        .values(ended_at=clock.now()))))
