"""What pages show of appointments beyond the scheduling pages: the consultation
room's appointments panel and the appointment it was booked for, the on-duty desk's
list of appointments that need a new time, the banner above every page of a patient,
and the history's links between consultations. Reads only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import has_request_context
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select

from accounts.models import User
from activation.models import Insured
from consult.doctors import doctor_label
from consult.models import Consultation, Specialty
from consult.schedule import appointments, referrals
from consult.schedule.models import HOLDING, NO_SHOW_AFTER, OPENS_BEFORE, Appointment
from core import clock
from core.extensions import db


def specialty_names() -> dict[int, str]:
    """Every specialty's name in the reader's language."""
    locale = str(get_locale() or "ru")
    return {s.id: s.name(locale) for s in db.session.scalars(select(Specialty))}


def doctor_names(ids: set[int]) -> dict[int, str]:
    """The doctors' names as patients read them, by id."""
    return {u.id: doctor_label(u) for u in db.session.scalars(
        select(User).where(User.id.in_(ids)))}


def person_names(ids: set[int]) -> dict[int, str]:
    """The insured people's full names, by id."""
    return {i.id: i.full_name for i in db.session.scalars(
        select(Insured).where(Insured.id.in_(ids)))}


def panel(consultation: Consultation) -> dict[str, Any]:
    """What the room's appointments panel shows."""
    rows = db.session.scalars(select(Appointment).where(
        Appointment.referring_consultation_id == consultation.id)
        .order_by(Appointment.starts_at)).all()
    return {"booked": rows, "specialty_names": specialty_names(),
            "specialist_names": doctor_names({a.specialist_id for a in rows}),
            "now": clock.now(), "prices": appointments.prices_of(list(rows))}


def room_context(appointment: Appointment | None) -> dict[str, Any]:
    """What the room shows of the appointment a consultation was booked for."""
    referrer = db.session.get(User, appointment.referred_by_id) if appointment else None
    shared = referrals.shared_documents(appointment.id) if appointment else []
    return {"appointment": appointment, "now": clock.now(),
            "five_minutes": OPENS_BEFORE, "shared_documents": shared,
            "appointment_referrer": doctor_label(referrer) if referrer else ""}


def desk_context() -> dict[str, Any]:
    """The on-duty desk's list of appointments that need a new time."""
    rows = appointments.needing_new_time()
    return {"new_time": rows, "new_time_people": person_names({a.insured_id for a in rows}),
            "new_time_specialties": specialty_names() if rows else {}}


def banner() -> dict[str, Any]:
    """For a signed-in patient: their next appointment if it waits for an answer or is
    within a day (shown above every page)."""
    if not has_request_context() or current_user is None or \
            not current_user.is_authenticated or current_user.role != "patient":
        return {}  # mail is rendered outside requests
    now = clock.now()
    nxt = db.session.scalar(select(Appointment).where(
        Appointment.patient_id == current_user.id, Appointment.status.in_(HOLDING),
        Appointment.starts_at > now - NO_SHOW_AFTER).order_by(Appointment.starts_at)
        .limit(1))
    if nxt is None or (nxt.status == "confirmed" and nxt.starts_at - now > timedelta(days=1)):
        return {}
    return {"appointment_banner": nxt}


def appointments_of(consultation_ids: list[int]) -> dict[int, Appointment]:
    """For specialist consultations among ``consultation_ids``: the appointment each
    was booked for (its time, when it was confirmed and so paid)."""
    if not consultation_ids:
        return {}
    return {a.consultation_id: a for a in db.session.scalars(select(Appointment).where(
        Appointment.consultation_id.in_(consultation_ids)))}


def referred_from(consultation_ids: list[int]) -> dict[int, Consultation]:
    """For specialist consultations among ``consultation_ids``: the on-duty
    consultation that referred each (the history links them)."""
    if not consultation_ids:
        return {}
    pairs = db.session.execute(select(Appointment.consultation_id, Consultation).join(
        Consultation, Consultation.id == Appointment.referring_consultation_id).where(
        Appointment.consultation_id.in_(consultation_ids))).all()
    return {held_id: referring for held_id, referring in pairs}

