"""Booking a specialist's slot for a patient, during or right after an on-duty
consultation. Atomic: the partial unique index on (specialist, start) lets one of two
simultaneous bookings of a slot win; the other is told the slot was just taken.
Plain functions over the session: they flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from consult import payments
from consult.coverage import decide_coverage
from consult.documents.models import Document
from consult.errors import ConsultRefused
from consult.models import Consultation, Specialty
from consult.schedule import notify, slots
from consult.schedule.appointments import may_rebook
from consult.schedule.models import Appointment, AppointmentDocument
from consult.text import as_id, clean_text
from core import clock
from core.crypto import encrypt
from core.extensions import db

SUMMARY_MAX = 4000
# "Right after": a doctor may still refer from a consultation closed this long ago.
AFTER_CLOSE = timedelta(hours=24)


@dataclass(frozen=True)
class BookingRequest:
    """What the referring doctor chose, unchecked."""

    specialty_id: Any
    specialist_id: Any
    starts_at: Any  # ISO 8601 with an offset
    summary: Any
    document_ids: tuple[Any, ...] = ()


def referring_consultation(doctor: User, consultation_id: int) -> Consultation:
    """The doctor's consultation, active or closed less than AFTER_CLOSE ago; else
    ConsultRefused (404 not theirs, 409 too late)."""
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is not None and consultation.doctor_id != doctor.id:
        if may_rebook(doctor, consultation.id):  # the on-duty queue books a new time
            return consultation
    if consultation is None or consultation.doctor_id != doctor.id:
        raise ConsultRefused(_("Consultation not found."), 404)
    if consultation.status == "closed" and consultation.closed_at is not None and \
            clock.now() - consultation.closed_at <= AFTER_CLOSE:
        return consultation
    if consultation.status == "closed" and may_rebook(doctor, consultation.id):
        return consultation
    if consultation.status != "active":
        raise ConsultRefused(_("A referral can be made during the consultation or within "
                               "a day after it."), 409)
    return consultation


def _slot_of(req: BookingRequest) -> tuple[Specialty, int, datetime]:
    specialty = db.session.get(Specialty, as_id(req.specialty_id))
    if specialty is None or not specialty.active:
        msg = _("Choose a specialty.")
        raise ConsultRefused(msg, errors={"specialty_id": [msg]})
    try:
        starts_at = datetime.fromisoformat(str(req.starts_at))
    except ValueError:
        starts_at = None
    if starts_at is None or starts_at.tzinfo is None:
        msg = _("Choose a free time.")
        raise ConsultRefused(msg, errors={"starts_at": [msg]})
    return specialty, as_id(req.specialist_id), starts_at.astimezone(clock.now().tzinfo)


def book(doctor: User, consultation_id: int, req: BookingRequest) -> Appointment:
    """Book the slot for the consultation's patient with the referral summary and the
    shared documents (flushed). ConsultRefused: 404/409 for the consultation, 422 for
    the fields, 409 when the slot is not free (taken meanwhile, or never offered)."""
    consultation = referring_consultation(doctor, consultation_id)
    specialty, specialist_id, starts_at = _slot_of(req)
    summary = clean_text(req.summary, "summary", SUMMARY_MAX)
    slot = None
    horizon = clock.today() + timedelta(days=slots.HORIZON_DAYS - 1)
    if specialist_id in slots.specialists_of(specialty) and \
            clock.local(starts_at).date() <= horizon:
        day = clock.local(starts_at).date()
        free = slots.free_slots(specialty, day, 1, [specialist_id])
        slot = next((s for s in free if s.starts_at == starts_at), None)
    if slot is None:
        raise ConsultRefused(_("This time is no longer free. Choose another."), 409)
    documents = _shared(consultation, req.document_ids)
    held = _specialist_consultation(consultation, specialist_id, slot.starts_at, summary)
    appointment = Appointment(
        consultation_id=held.id, specialty_id=specialty.id, specialist_id=specialist_id,
        patient_id=consultation.patient_id, insured_id=consultation.insured_id,
        referring_consultation_id=consultation.id, referred_by_id=doctor.id,
        starts_at=slot.starts_at, ends_at=slot.ends_at, status="booked",
        summary_encrypted=encrypt(summary), created_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(appointment)
            db.session.flush()
    except IntegrityError:
        db.session.delete(held)
        db.session.flush()
        raise ConsultRefused(_("Someone has just booked this time. Choose another."),
                             409) from None
    if not documents:  # a new time for an earlier referral shares what it shared
        documents = _previously_shared(consultation.id, specialty.id)
    for document in documents:
        db.session.add(AppointmentDocument(appointment_id=appointment.id,
                                           document_id=document.id))
    db.session.flush()
    notify.booked(appointment)
    return appointment


def _specialist_consultation(referring: Consultation, specialist_id: int, starts_at: datetime,
                             summary: str) -> Consultation:
    """The consultation the specialist holds with the patient at the appointed time,
    "scheduled" until five minutes before the start. Coverage is decided as for
    on-duty consultations, on the appointment's date: covered, or self-pay paid when
    the patient confirms; refused (422) with no active or waiting policy then."""
    patient = db.session.get(User, referring.patient_id)
    decision = decide_coverage(patient, referring.insured_id,  # type: ignore[arg-type]
                               clock.local(starts_at).date())
    held = Consultation(
        patient_id=referring.patient_id, insured_id=referring.insured_id,
        activation_id=decision.activation.id, doctor_id=specialist_id,
        product=decision.activation.product, channel="video", language=referring.language,
        complaint_encrypted=encrypt(summary), status="scheduled", coverage=decision.kind,
        price_amount=decision.price if decision.kind == "self_pay" else 0,
        currency=decision.currency,
        payment_status="pending" if decision.kind == "self_pay" else payments.NOT_REQUIRED,
        requested_at=clock.now())
    db.session.add(held)
    db.session.flush()
    return held


def _previously_shared(consultation_id: int, specialty_id: int) -> list[Document]:
    earlier = db.session.scalar(select(Appointment.id).where(
        Appointment.referring_consultation_id == consultation_id,
        Appointment.specialty_id == specialty_id,
        Appointment.status.in_(("reschedule_requested", "no_show")))
        .order_by(Appointment.id.desc()).limit(1))
    if earlier is None:
        return []
    return list(db.session.scalars(select(Document).join(
        AppointmentDocument, AppointmentDocument.document_id == Document.id).where(
        AppointmentDocument.appointment_id == earlier, Document.status == "ready")))


def _shared(consultation: Consultation, document_ids: tuple[Any, ...]) -> list[Document]:
    """The chosen documents, each one of the consultation's person and ready."""
    ids = {as_id(i) for i in document_ids} - {0}
    if not ids:
        return []
    rows = list(db.session.scalars(select(Document).where(
        Document.id.in_(ids), Document.insured_id == consultation.insured_id,
        Document.status == "ready")))
    if len(rows) != len(ids):
        msg = _("Choose documents of this patient.")
        raise ConsultRefused(msg, errors={"document_ids": [msg]})
    return rows
