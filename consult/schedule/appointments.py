"""The patient's answers to a booked appointment: confirm it, ask for another time (the
slot is freed and the referring side is told), or cancel it. Each is one conditional
UPDATE, so a double tap or two tabs change it once. Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from accounts.models import User
from consult import payments
from consult.errors import ConsultRefused
from consult.models import Consultation
from consult.schedule.models import HOLDING, OPENS_BEFORE, Appointment
from core import clock
from core.db import rowcount
from core.extensions import db


def of_patient(patient: User) -> list[Appointment]:
    """The account's appointments, soonest first, those ahead before those past."""
    rows = db.session.scalars(select(Appointment).where(Appointment.patient_id == patient.id)
                              .order_by(Appointment.starts_at)).all()
    now = clock.now()
    return sorted(rows, key=lambda a: (a.ends_at < now, a.starts_at))


@dataclass(frozen=True)
class Price:
    """What a self-pay appointment costs the patient, and why: ``status`` is the
    payment's (``pending`` until confirmed, then ``paid``; ``refunded``, ``declined``),
    ``waiting_until`` the last day of the policy's waiting period, which the
    appointment's date falls in."""

    amount: int
    currency: str
    status: str
    reference: str | None
    waiting_until: date


def prices_of(rows: list[Appointment]) -> dict[int, Price]:
    """For the self-pay appointments among ``rows`` (by appointment id): the price and
    the reason; covered appointments are absent."""
    held = {c.id: c for c in db.session.scalars(
        select(Consultation).where(Consultation.id.in_({a.consultation_id for a in rows}),
                                   Consultation.coverage == "self_pay")
        .options(joinedload(Consultation.activation)))}
    return {a.id: Price(c.price_amount, c.currency, c.payment_status, c.payment_reference,
                        c.activation.coverage_starts_on - timedelta(days=1))
            for a in rows if (c := held.get(a.consultation_id)) is not None}


def payment_status(patient: User, appointment_id: Any) -> str | None:
    """The payment status of the patient's self-pay appointment now (None when it is
    covered or not theirs): the route compares it with the status after an answer to
    say only what this answer did with the money."""
    try:
        appointment = _own(patient, appointment_id)
    except ConsultRefused:
        return None
    held = db.session.get(Consultation, appointment.consultation_id)
    return held.payment_status if held is not None and held.coverage == "self_pay" else None


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
    """Change the status from one of ``allowed``, only until the room opens (five
    minutes before the start): after that the patient is expected in the room."""
    return bool(rowcount(db.session.execute(
        update(Appointment).where(Appointment.id == appointment.id,
                                  Appointment.status.in_(allowed),
                                  Appointment.starts_at > clock.now() + OPENS_BEFORE)
        .values(**values).execution_options(synchronize_session=False))))


def confirm(patient: User, appointment_id: Any) -> Appointment:
    """The patient will come; confirming twice is harmless."""
    appointment = _own(patient, appointment_id)
    if appointment.status == "confirmed":
        return appointment
    if not _move(appointment, ("booked",), status="confirmed", confirmed_at=clock.now()):
        raise ConsultRefused(_("This appointment can no longer be confirmed."), 409)
    db.session.refresh(appointment)
    held = db.session.get(Consultation, appointment.consultation_id)
    if held is not None and held.coverage == "self_pay" and held.payment_status == "pending":
        # Confirming a self-pay appointment is the agreement to pay (the page says so).
        outcome = payments.provider().charge(payments.Charge(
            held.price_amount, held.currency, payments.new_reference(),
            f"Specialist consultation {appointment.id}"))
        if outcome.status != payments.PAID:
            raise ConsultRefused(_("The payment did not go through. Nothing was charged; "
                                   "please try again or use another card."), 402)
        held.payment_status, held.payment_reference = outcome.status, outcome.provider_reference
        db.session.flush()
    return appointment


def _release(appointment: Appointment) -> bool:
    """The appointment's consultation will not take place: cancelled, any payment
    refunded. True when a refund was asked for by this call."""
    done = rowcount(db.session.execute(
        update(Consultation).where(Consultation.id == appointment.consultation_id,
                                   Consultation.status.in_(("scheduled", "active")))
        .values(status="cancelled", cancelled_at=clock.now())
        .execution_options(synchronize_session=False)))
    held = db.session.get(Consultation, appointment.consultation_id)
    if not done or held is None:
        return False
    db.session.refresh(held)
    return refund(held)


def refund(held: Consultation) -> bool:
    """Give back what was paid for a consultation that will not take place (flushes);
    True when a refund was asked for now."""
    asked = payments.refund(held)
    db.session.flush()
    return asked


def request_reschedule(patient: User, appointment_id: Any) -> Appointment:
    """The patient cannot come at this time: the slot is freed and the on-duty doctors
    book another."""
    appointment = _own(patient, appointment_id)
    if not _move(appointment, HOLDING, status="reschedule_requested",
                 reschedule_requested_at=clock.now()):
        raise ConsultRefused(_("Another time can no longer be asked for."), 409)
    db.session.refresh(appointment)
    _release(appointment)
    return appointment


def cancel(patient: User, appointment_id: Any) -> Appointment:
    """The patient cancels; the slot is freed."""
    appointment = _own(patient, appointment_id)
    if not _move(appointment, (*HOLDING, "reschedule_requested"), status="cancelled",
                 cancelled_at=clock.now()):
        raise ConsultRefused(_("This appointment can no longer be cancelled."), 409)
    db.session.refresh(appointment)
    _release(appointment)
    return appointment


NEEDS_NEW_TIME = ("reschedule_requested", "no_show")


def needing_new_time(within_days: int = 14) -> list[Appointment]:
    """Appointments the patient asked to move, or a side missed, with nothing booked
    from their consultation since: the on-duty doctors' list (soonest asked first)."""
    since = clock.now() - timedelta(days=within_days)
    rows = db.session.scalars(select(Appointment).where(
        Appointment.status.in_(NEEDS_NEW_TIME), Appointment.starts_at >= since)
        .order_by(Appointment.starts_at)).all()
    rebooked = set(db.session.execute(
        select(Appointment.referring_consultation_id, Appointment.specialty_id).where(
            Appointment.referring_consultation_id.in_(
                {a.referring_consultation_id for a in rows}),
            Appointment.status.in_(HOLDING))).tuples())
    return [a for a in rows
            if (a.referring_consultation_id, a.specialty_id) not in rebooked]


def may_rebook(doctor: User, consultation_id: int) -> bool:
    """An on-duty doctor may book again from a consultation one of whose appointments
    needs a new time (the patient asked, or a side missed it)."""
    return doctor.on_duty_doctor and any(
        a.referring_consultation_id == consultation_id for a in needing_new_time())
