"""Consultations looked back on: the patient's history, the same person's earlier
consultations (for the doctor), the doctor's open ones."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from accounts.models import User
from consult.models import Consultation
from core.extensions import db


def history(patient: User, before_id: int | None = None, limit: int = 20
            ) -> list[Consultation]:
    """The patient's consultations, newest first, ``limit`` at a time (keyset paging:
    pass the last id seen as ``before_id``)."""
    query = (select(Consultation).where(Consultation.patient_id == patient.id)
             .options(joinedload(Consultation.doctor), joinedload(Consultation.insured))
             .order_by(Consultation.id.desc()).limit(limit))
    if before_id:
        query = query.where(Consultation.id < before_id)
    return list(db.session.scalars(query))


def earlier_consultations(consultation: Consultation) -> list[Consultation]:
    """The same person's other closed consultations, newest first (for the doctor)."""
    return list(db.session.scalars(
        select(Consultation).where(Consultation.insured_id == consultation.insured_id,
                                   Consultation.id != consultation.id,
                                   Consultation.status == "closed")
        .options(joinedload(Consultation.doctor))
        .order_by(Consultation.id.desc())))


def open_for_doctor(doctor: User) -> list[Consultation]:
    """The doctor's consultations in progress."""
    return list(db.session.scalars(
        select(Consultation).where(Consultation.doctor_id == doctor.id,
                                   Consultation.status == "active")
        .options(joinedload(Consultation.insured)).order_by(Consultation.taken_at)))
