"""What a patient's account page says of their consultations right now: "You are in
line: place N, about M min" while one waits, "In consultation with Dr X" while one is in
progress. The account page (activation) cannot import consult: consult registers
:func:`open_consultations` as a Jinja global and the page calls it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from accounts.models import User
from consult.doctors import doctor_label
from consult.duty.requests import OPEN
from consult.line import wait_info
from consult.models import Consultation
from core.extensions import db


@dataclass(frozen=True)
class OpenConsultation:
    """One open consultation as the account page shows it."""

    id: int
    status: str  # waiting | active
    person: str
    position: int | None = None  # waiting: the place in line
    eta_minutes: int | None = None  # waiting: the estimate, None when unknown
    doctor: str = ""  # active: "Dr Full Name, specialty" (never an email)


def open_consultations(patient: User) -> list[OpenConsultation]:
    """The patient's consultations waiting for or with an on-duty doctor, oldest first
    (specialist appointments have their own banner)."""
    if patient is None or not getattr(patient, "is_authenticated", False) or \
            patient.role != "patient":
        return []
    rows = db.session.scalars(
        select(Consultation).where(Consultation.patient_id == patient.id,
                                   Consultation.status.in_(OPEN))
        .options(joinedload(Consultation.insured), joinedload(Consultation.doctor))
        .order_by(Consultation.requested_at, Consultation.id))
    result = []
    for c in rows:
        if c.status == "waiting":
            info = wait_info(c)
            result.append(OpenConsultation(c.id, c.status, c.insured.full_name,
                                           info["position"] or None, info["eta_minutes"]))
        else:
            result.append(OpenConsultation(c.id, c.status, c.insured.full_name,
                                           doctor=doctor_label(c.doctor)))
    return result
