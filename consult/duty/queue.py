"""The doctors' side of the on-duty queue: who may take which patients, in what order,
how many at once, and taking one. Flushes, never commits."""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from accounts.models import User
from activation.coverage import age_on
from consult.duty.shifts import is_on_shift
from consult.errors import ConsultRefused
from consult.models import Consultation
from core import clock
from core.db import rowcount
from core.extensions import db


def products_for(doctor: User) -> tuple[str, ...]:
    """Which queues a doctor serves: children's consultations need a pediatric doctor."""
    return ("personal_doctor", "child_doctor") if doctor.pediatric else ("personal_doctor",)


def queue(doctor: User) -> list[Consultation]:
    """Waiting consultations the doctor may take: red-flag ones first, then oldest first."""
    return list(db.session.scalars(
        select(Consultation).where(Consultation.status == "waiting",
                                   Consultation.product.in_(products_for(doctor)))
        .options(joinedload(Consultation.insured))
        .order_by(Consultation.red_flag.desc(), Consultation.requested_at, Consultation.id)
    ))


def age_of(consultation: Consultation, on: date) -> int:
    return age_on(consultation.insured.birth_date, on)


def max_chats() -> int:
    """How many consultations a doctor may hold at once (``CONSULT_MAX_CHATS_PER_DOCTOR``)."""
    return int(current_app.config["CONSULT_MAX_CHATS_PER_DOCTOR"])


def active_count(doctor: User) -> int:
    """The doctor's on-duty consultations in progress: those taken from the queue
    (a specialist appointment's consultation opens at its booked time without being
    taken, so ``taken_at`` stays empty: it does not count against the limit)."""
    return db.session.scalar(select(func.count(Consultation.id)).where(
        Consultation.doctor_id == doctor.id, Consultation.status == "active",
        Consultation.taken_at.is_not(None))) or 0


def take(doctor: User, consultation_id: int) -> Consultation:
    """Give the waiting consultation to ``doctor``: one conditional UPDATE, so of two
    doctors taking it at once exactly one succeeds; the other gets a 409 (flushes)."""
    if not is_on_shift(doctor):
        raise ConsultRefused(_("Start your shift to take patients."), 409)
    # A doctor's takes are serialised on their own row: the chat limit holds.
    db.session.execute(select(User.id).where(User.id == doctor.id).with_for_update())
    limit = max_chats()
    if active_count(doctor) >= limit:
        raise ConsultRefused(_("You already have %(num)s consultations open, the most "
                               "allowed. Close one first.", num=limit), 409)
    taken = rowcount(db.session.execute(
        update(Consultation).where(Consultation.id == consultation_id,
                                   Consultation.status == "waiting",
                                   Consultation.product.in_(products_for(doctor)))
        .values(status="active", doctor_id=doctor.id, taken_at=clock.now())
        .execution_options(synchronize_session=False)
    ))
    if not taken:
        raise ConsultRefused(_("Another doctor has already taken this patient, or the "
                               "patient left the queue."), 409)
    consultation = db.session.get(Consultation, consultation_id)
    assert consultation is not None
    db.session.refresh(consultation)
    return consultation
