"""What a referral shares with the specialist: the documents the referring doctor
chose, told to the documents feature (:mod:`consult.documents.sharing`) so that the
specialist sees them, and the room shows them."""

from __future__ import annotations

from sqlalchemy import Select, exists, select

from consult.documents.models import Document
from consult.documents.sharing import Referrals
from consult.schedule.models import HOLDING, Appointment, AppointmentDocument
from core.extensions import db

# A specialist sees what a referral to them shares until the appointment is held.
SHARING = (*HOLDING, "completed")


def booked_rooms() -> Select[tuple[int]]:
    """The ids of the consultations held at a booked time."""
    return select(Appointment.consultation_id)


def shared_in(consultation_id: int) -> Select[tuple[int]] | None:
    """The ids of the documents shared with the consultation held at a booked time
    (None for an on-duty consultation)."""
    appointment = db.session.scalar(select(Appointment.id).where(
        Appointment.consultation_id == consultation_id))
    if appointment is None:
        return None
    return select(AppointmentDocument.document_id).where(
        AppointmentDocument.appointment_id == appointment)


def shared_with(specialist_id: int, document_id: int) -> bool:
    """A referral to this specialist, still to be held or in progress, shares it."""
    return bool(db.session.scalar(select(exists().where(
        AppointmentDocument.document_id == document_id,
        AppointmentDocument.appointment_id == Appointment.id,
        Appointment.specialist_id == specialist_id,
        Appointment.status.in_(SHARING)))))


def shared_documents(appointment_id: int) -> list[Document]:
    """The documents the appointment's referral shares."""
    return list(db.session.scalars(select(Document).join(
        AppointmentDocument, AppointmentDocument.document_id == Document.id).where(
        AppointmentDocument.appointment_id == appointment_id)))


REFERRALS = Referrals(booked_rooms=booked_rooms, shared_in=shared_in, shared_with=shared_with)
