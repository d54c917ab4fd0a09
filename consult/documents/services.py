"""Document rules: who may see and review which documents, and what becomes of them
(the upload itself is :mod:`.uploads`).

Access: the account that owns a document sees it (and its status); a doctor sees an
insured person's ready documents only while holding an active consultation with that
person, or a specialist a document a referral to them shares (:mod:`.sharing`); nobody
else, operators and admins included, sees contents, and for them the document does not
exist (404). Plain functions over the session: they flush, never commit.
"""

from __future__ import annotations

from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, select, update

from accounts.models import User
from consult import realtime
from consult.documents import intake, sharing, vault
from consult.documents.errors import DocumentRefused
from consult.documents.models import Document
from consult.errors import ConsultRefused
from consult.models import Consultation
from consult.text import as_id, clean_text
from core import clock
from core.crypto import encrypt
from core.db import rowcount
from core.extensions import db
from core.unit import after_commit

COMMENT_MAX = 2000
SEES_DOCUMENTS = ("patient", "doctor", "operator", "admin")
"""The roles a document's pages and details answer (``@allow``): the rules above
decide, so operators and admins get the same 404 as anyone else, not a 403."""


def discard(document: Document) -> None:
    """Delete a document's blobs (the scanner flagged it)."""
    vault.delete(document.blob_key, document.thumb_key)


# --- who sees what ---------------------------------------------------------------------

def _holds_patient(doctor: User, insured_id: int) -> bool:
    """An active on-duty consultation with the person (a specialist's appointment room
    shows only what its referral shares, and what is uploaded in it)."""
    query = exists().where(
        Consultation.doctor_id == doctor.id, Consultation.insured_id == insured_id,
        Consultation.status == "active")
    booked = sharing.booked_rooms()
    if booked is not None:
        query = query.where(Consultation.id.not_in(booked))
    return bool(db.session.scalar(select(query)))


def _in_appointment_room(doctor: User, document: Document) -> bool:
    """Uploaded in an active appointment room the doctor holds."""
    if document.consultation_id is None:
        return False
    held = db.session.get(Consultation, document.consultation_id)
    return held is not None and held.doctor_id == doctor.id and held.status == "active"


def visible(user: User, document_id: Any) -> Document:
    """The document if ``user`` may see it (see the module's rules); else 404."""
    document = db.session.get(Document, as_id(document_id))
    if document is not None:
        if user.role == "patient" and document.patient_id == user.id:
            return document
        if (user.role == "doctor" and document.status == "ready"
                and (_holds_patient(user, document.insured_id)
                     or sharing.shared_with(user.id, document.id)
                     or _in_appointment_room(user, document))):
            return document
    raise DocumentRefused(_("Document not found."), 404)


def readable(user: User, document_id: Any) -> Document:
    """Like :func:`visible`, for its contents: refused (409) while pending or rejected."""
    document = visible(user, document_id)
    if document.status != "ready" or document.blob_key is None:
        raise DocumentRefused(_("This document is still being checked for viruses, or "
                                "it did not pass the check."), 409)
    return document


def of_account(patient: User) -> list[Document]:
    """The account's documents, newest first."""
    return list(db.session.scalars(
        select(Document).where(Document.patient_id == patient.id)
        .order_by(Document.uploaded_at.desc(), Document.id.desc())))


def for_doctor(doctor: User, consultation: Consultation) -> list[Document]:
    """The ready documents of the consultation's patient, unreviewed first, for the
    doctor holding it (an empty list otherwise)."""
    if consultation.doctor_id != doctor.id or consultation.status != "active":
        return []
    query = select(Document).where(Document.insured_id == consultation.insured_id,
                                   Document.status == "ready")
    shared = sharing.shared_in(consultation.id)
    if shared is not None:  # a specialist: what the referral shares, and new uploads
        query = query.where(Document.id.in_(shared)
                            | (Document.consultation_id == consultation.id))
    rows = db.session.scalars(
        query.order_by(Document.uploaded_at.desc(), Document.id.desc())).all()
    return sorted(rows, key=lambda d: d.reviewed_at is not None)


def unreviewed_counts(insured_ids: list[int]) -> dict[int, int]:
    """Ready, unreviewed documents per insured person (for the doctor's desk)."""
    if not insured_ids:
        return {}
    rows = db.session.execute(
        select(Document.insured_id, func.count()).where(
            Document.insured_id.in_(insured_ids), Document.status == "ready",
            Document.reviewed_at.is_(None)).group_by(Document.insured_id))
    return {insured_id: count for insured_id, count in rows}


def unreviewed_for(doctor: User) -> dict[int, int]:
    """:func:`unreviewed_counts` for the people of the doctor's consultations in
    progress (the desk)."""
    return unreviewed_counts(list(db.session.scalars(select(Consultation.insured_id).where(
        Consultation.doctor_id == doctor.id, Consultation.status == "active"))))


def in_consultation(consultation: Consultation) -> list[Document]:
    """The documents the patient uploaded inside this consultation, newest first."""
    return list(db.session.scalars(
        select(Document).where(Document.consultation_id == consultation.id)
        .order_by(Document.uploaded_at.desc(), Document.id.desc())))


def for_room(user: User, consultation: Consultation, side: str) -> list[Document]:
    """What the room's documents panel lists: the patient's documents for the doctor
    holding it (unreviewed first), those uploaded in it for the patient."""
    if side == "doctor":
        return for_doctor(user, consultation)
    return in_consultation(consultation)


def rooms_to_tell(document: Document) -> set[int]:
    """The consultations whose open pages list ``document``: the one it was uploaded in,
    and every active one of its person (the doctor's panel lists all their documents)."""
    ids = set(db.session.scalars(select(Consultation.id).where(
        Consultation.insured_id == document.insured_id, Consultation.status == "active")))
    if document.consultation_id is not None:
        ids.add(document.consultation_id)
    return ids


def tell_rooms(consultation_ids: set[int]) -> None:
    """Once committed, both pages of these consultations reload their documents panel
    (:func:`rooms_to_tell`)."""
    def tell() -> None:
        for consultation_id in consultation_ids:
            realtime.documents_changed(consultation_id)

    after_commit(tell)


def held_consultation(user: User, document: Document) -> Consultation | None:
    """The open consultation the viewer came from: for a doctor, the active one through
    which they see ``document``; for the patient, the one it was uploaded in while that
    is still open. None otherwise."""
    if user.role == "patient":
        if document.consultation_id is None:
            return None
        uploaded_in = db.session.get(Consultation, document.consultation_id)
        return uploaded_in if uploaded_in is not None and uploaded_in.status in (
            "waiting", "active") else None
    if user.role != "doctor":
        return None
    return db.session.scalars(select(Consultation).where(
        Consultation.doctor_id == user.id, Consultation.insured_id == document.insured_id,
        Consultation.status == "active").order_by(Consultation.id.desc()).limit(1)).first()


def review(doctor: User, document_id: Any, comment: Any) -> Document:
    """Mark the document reviewed by ``doctor`` now, with an optional comment (a second
    review replaces the first); flushes."""
    document = visible(doctor, document_id)
    if doctor.role != "doctor":
        raise DocumentRefused(_("Document not found."), 404)
    try:
        text = clean_text(comment, "comment", COMMENT_MAX, required=False)
    except ConsultRefused as exc:  # under /api/ a document's refusal
        raise DocumentRefused(exc.detail, exc.status, exc.errors) from None
    done = rowcount(db.session.execute(
        update(Document).where(Document.id == document.id)
        .values(reviewed_by_id=doctor.id, reviewed_at=clock.now(),
                review_comment_encrypted=encrypt(text) if text else None)
        .execution_options(synchronize_session=False)))
    if done != 1:  # the patient deleted it meanwhile
        raise DocumentRefused(_("Document not found."), 404)
    db.session.refresh(document)
    return document


def remove(patient: User, document_id: Any) -> tuple[str | None, str | None]:
    """Delete a document the patient uploaded by mistake (flushes); returns its blob
    keys for the caller to delete after committing. A reviewed document is part of the
    medical record and stays (409)."""
    document = visible(patient, document_id)
    if patient.role != "patient":
        raise DocumentRefused(_("Document not found."), 404)
    if document.reviewed_at is not None:
        raise DocumentRefused(_("A doctor has reviewed this document, so it stays in your "
                                "medical record."), 409)
    keys = (document.blob_key, document.thumb_key)
    # Only while still unreviewed: a review committed since it was read wins.
    gone = rowcount(db.session.execute(
        delete(Document).where(Document.id == document.id, Document.reviewed_at.is_(None))
        .execution_options(synchronize_session=False)))
    if gone != 1:
        raise DocumentRefused(_("A doctor has reviewed this document, so it stays in your "
                                "medical record."), 409)
    db.session.expunge(document)
    return keys


def open_content(document: Document, part: str = "file") -> IO[bytes]:
    """The document's file (``file``) or thumbnail (``thumb``), verified; raises
    vault.Damaged."""
    if part == "thumb":
        return vault.open_verified(document.thumb_key or "", document.thumb_sha256 or "")
    return vault.open_verified(document.blob_key or "", document.sha256)


def page_image(document: Document, page: int) -> bytes:
    """Page ``page`` (from 1) of a PDF document as PNG; DocumentRefused 404 beyond it."""
    if not document.is_pdf or not 1 <= page <= (document.page_count or 0):
        raise DocumentRefused(_("Document not found."), 404)
    with open_content(document) as body:
        return intake.render_page(body, page - 1)
