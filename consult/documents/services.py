"""Document rules: who may upload, see and review which documents, and the upload itself.

Access: the account that owns a document sees it (and its status); a doctor sees an
insured person's ready documents only while holding an active consultation with that
person, or a specialist a document a referral to them shares; nobody else,
operators and admins included, sees contents, and for them the document does not exist
(404). Plain functions over the session: they flush, never commit.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, select, update

from accounts.models import User
from activation.models import Insured
from consult.documents import intake, scan, vault
from consult.documents.models import KINDS, Document
from consult.errors import ConsultRefused
from consult.models import Consultation
from consult.services import clean_text
from core import clock
from core.crypto import encrypt
from core.extensions import db

log = logging.getLogger(__name__)
TITLE_MAX = 200
COMMENT_MAX = 2000
NAME_MAX = 120


@dataclass(frozen=True)
class UploadRequest:
    """The upload form as sent: every field unchecked."""

    title: Any
    document_date: Any
    kind: Any
    insured_id: Any = None
    consultation_id: Any = None
    file_name: Any = None
    file: IO[bytes] | None = None


def _as_id(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < 2**31 else 0


def safe_file_name(name: Any) -> str:
    """The last part of a file name as a person gave it, for showing and for the
    download's name: no folders (``../`` or ``C:\\``), no control characters."""
    text = name if isinstance(name, str) else ""
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip(" .")
    return text[:NAME_MAX] or "document"


def _check_fields(patient: User, req: UploadRequest) -> tuple[Insured, int | None, str, date,
                                                             str]:
    """The insured person, consultation id, title, date and kind; or ConsultRefused with
    every field's errors."""
    errors: dict[str, list[str]] = {}
    insured, consultation_id = None, None
    if req.consultation_id not in (None, ""):
        consultation = db.session.get(Consultation, _as_id(req.consultation_id))
        if consultation is None or consultation.patient_id != patient.id:
            raise ConsultRefused(_("Consultation not found."), 404)
        if consultation.status not in ("waiting", "active"):
            raise ConsultRefused(_("This consultation has ended: upload the document from "
                                   "My documents."), 409)
        insured, consultation_id = consultation.insured, consultation.id
    else:
        insured = db.session.get(Insured, _as_id(req.insured_id))
        if insured is None or insured.account_id != patient.id:
            insured = None
            errors["insured_id"] = [_("Choose one of the people insured on your account.")]
    title = ""
    try:
        title = clean_text(req.title, "title", TITLE_MAX)
    except ConsultRefused as exc:
        errors.update(exc.errors)
    kind = req.kind if isinstance(req.kind, str) else ""
    if kind not in KINDS:
        errors["kind"] = [_("Choose the type of document.")]
    day = None
    try:
        day = date.fromisoformat(req.document_date) if isinstance(req.document_date, str) \
            else None
    except ValueError:
        day = None
    if day is None:
        errors["document_date"] = [_("Enter the date of the document.")]
    elif day > clock.today() or day.year < 1900:
        errors["document_date"] = [_("The date cannot be in the future.")
                                   if day > clock.today() else _("Check the year.")]
    if req.file is None:
        errors["file"] = [_("Choose a file.")]
    if errors or insured is None or day is None:
        raise ConsultRefused(_("Please correct the marked fields."), errors=errors)
    return insured, consultation_id, title, day, kind


@dataclass(frozen=True)
class Target:
    """Where an upload goes, its fields checked (:func:`check_upload`)."""

    insured_id: int
    consultation_id: int | None
    title: str
    document_date: date
    kind: str
    file_name: str


@dataclass(frozen=True)
class StoredFile:
    """A cleaned, scanned and sealed file in the blob store, not yet in a row."""

    prepared: intake.Prepared
    status: str
    blob_key: str
    key_id: str
    sha256: str
    thumb_key: str
    thumb_sha256: str


def check_upload(patient: User, req: UploadRequest) -> Target:
    """The upload's person, consultation, title, date and type; raises ConsultRefused
    (422 naming each bad field, 404/409 for the consultation). Reads only."""
    insured, consultation_id, title, day, kind = _check_fields(patient, req)
    return Target(insured.id, consultation_id, title, day, kind, safe_file_name(req.file_name))


def store_file(upload: IO[bytes]) -> StoredFile:
    """Clean (:mod:`.intake`), scan and seal the uploaded file into the blob store; no
    database work, so the caller need not hold a transaction meanwhile. Raises
    ConsultRefused with the reason under ``file``; then nothing is stored."""
    cfg = current_app.config
    try:
        prepared = intake.prepare(upload, cfg["DOCUMENT_MAX_BYTES"], cfg["DOCUMENT_MAX_PIXELS"],
                                  cfg["DOCUMENT_MAX_PAGES"])
    except intake.Refused as exc:
        raise ConsultRefused(str(exc), errors={"file": [str(exc)]}) from None
    blob_key = None
    try:
        status = _scan_upload(upload)
        prepared.body.seek(0)
        blob_key, key_id, sha = vault.put(prepared.body)
        thumb_key, _thumb_key_id, thumb_sha = vault.put_bytes(prepared.thumbnail)
    except BaseException:
        vault.delete(blob_key)
        raise
    finally:
        if prepared.body is not upload:
            prepared.body.close()
    return StoredFile(prepared, status, blob_key, key_id, sha, thumb_key, thumb_sha)


def add_document(patient: User, target: Target, stored: StoredFile) -> Document:
    """The row of a stored file (flushed). If this or the caller's commit fails, the
    caller calls :func:`discard_file`."""
    prepared = stored.prepared
    document = Document(
        patient_id=patient.id, insured_id=target.insured_id,
        consultation_id=target.consultation_id, kind=target.kind,
        title_encrypted=encrypt(target.title), document_date=target.document_date,
        file_name_encrypted=encrypt(target.file_name), status=stored.status,
        content_type=prepared.content_type, size_bytes=prepared.size, sha256=stored.sha256,
        key_id=stored.key_id, blob_key=stored.blob_key, thumb_key=stored.thumb_key,
        thumb_sha256=stored.thumb_sha256, width=prepared.width, height=prepared.height,
        page_count=prepared.page_count, uploaded_at=clock.now())
    db.session.add(document)
    db.session.flush()
    return document


def discard_file(stored: StoredFile) -> None:
    """Delete a stored file whose row was never committed."""
    vault.delete(stored.blob_key, stored.thumb_key)


def _scan_upload(body: IO[bytes]) -> str:
    """``ready``, or ``pending`` when the scanner is configured but down; refuses a file
    the scanner flags."""
    socket_path = current_app.config.get("CLAMD_SOCKET")
    if not socket_path:
        return "ready"
    body.seek(0)
    try:
        found = scan.scan(socket_path, iter(lambda: body.read(scan.CHUNK), b""))
    except scan.ScannerUnavailable as exc:
        log.warning("virus scanner unavailable, document kept pending: %s", exc)
        return "pending"
    if found is not None:
        log.warning("upload refused by the virus scanner: %s", found)
        msg = _("The virus check found a threat in this file, so it was not uploaded.")
        raise ConsultRefused(msg, errors={"file": [msg]})
    return "ready"


def discard(document: Document) -> None:
    """Delete a document's blobs (the scanner flagged it)."""
    vault.delete(document.blob_key, document.thumb_key)


# --- who sees what ---------------------------------------------------------------------

def _holds_patient(doctor: User, insured_id: int) -> bool:
    """An active on-duty consultation with the person (a specialist's appointment room
    shows only what its referral shares, and what is uploaded in it)."""
    from consult.schedule.models import Appointment

    return bool(db.session.scalar(select(exists().where(
        Consultation.doctor_id == doctor.id, Consultation.insured_id == insured_id,
        Consultation.status == "active",
        ~exists().where(Appointment.consultation_id == Consultation.id)))))


def _in_appointment_room(doctor: User, document: Document) -> bool:
    """Uploaded in an active appointment room the doctor holds."""
    if document.consultation_id is None:
        return False
    held = db.session.get(Consultation, document.consultation_id)
    return held is not None and held.doctor_id == doctor.id and held.status == "active"


def _shared_with(doctor: User, document_id: int) -> bool:
    """A referral to this specialist, still to be held or in progress, shares it."""
    from consult.schedule.models import Appointment, AppointmentDocument

    return bool(db.session.scalar(select(exists().where(
        AppointmentDocument.document_id == document_id,
        AppointmentDocument.appointment_id == Appointment.id,
        Appointment.specialist_id == doctor.id,
        Appointment.status.in_(("booked", "confirmed", "completed"))))))


def visible(user: User, document_id: Any) -> Document:
    """The document if ``user`` may see it (see the module's rules); else 404."""
    document = db.session.get(Document, _as_id(document_id))
    if document is not None:
        if user.role == "patient" and document.patient_id == user.id:
            return document
        if (user.role == "doctor" and document.status == "ready"
                and (_holds_patient(user, document.insured_id)
                     or _shared_with(user, document.id)
                     or _in_appointment_room(user, document))):
            return document
    raise ConsultRefused(_("Document not found."), 404)


def readable(user: User, document_id: Any) -> Document:
    """Like :func:`visible`, for its contents: refused (409) while pending or rejected."""
    document = visible(user, document_id)
    if document.status != "ready" or document.blob_key is None:
        raise ConsultRefused(_("This document is still being checked for viruses, or "
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
    from consult.schedule.models import Appointment, AppointmentDocument

    query = select(Document).where(Document.insured_id == consultation.insured_id,
                                   Document.status == "ready")
    appointment = db.session.scalar(select(Appointment.id).where(
        Appointment.consultation_id == consultation.id))
    if appointment is not None:  # a specialist: what the referral shares, and new uploads
        shared = select(AppointmentDocument.document_id).where(
            AppointmentDocument.appointment_id == appointment)
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
        raise ConsultRefused(_("Document not found."), 404)
    text = clean_text(comment, "comment", COMMENT_MAX, required=False)
    done = db.session.execute(
        update(Document).where(Document.id == document.id)
        .values(reviewed_by_id=doctor.id, reviewed_at=clock.now(),
                review_comment_encrypted=encrypt(text) if text else None)
        .execution_options(synchronize_session=False)).rowcount
    if done != 1:  # the patient deleted it meanwhile
        raise ConsultRefused(_("Document not found."), 404)
    db.session.refresh(document)
    return document


def remove(patient: User, document_id: Any) -> tuple[str | None, str | None]:
    """Delete a document the patient uploaded by mistake (flushes); returns its blob
    keys for the caller to delete after committing. A reviewed document is part of the
    medical record and stays (409)."""
    document = visible(patient, document_id)
    if patient.role != "patient":
        raise ConsultRefused(_("Document not found."), 404)
    if document.reviewed_at is not None:
        raise ConsultRefused(_("A doctor has reviewed this document, so it stays in your "
                               "medical record."), 409)
    keys = (document.blob_key, document.thumb_key)
    # Only while still unreviewed: a review committed since it was read wins.
    gone = db.session.execute(
        delete(Document).where(Document.id == document.id, Document.reviewed_at.is_(None))
        .execution_options(synchronize_session=False)).rowcount
    if gone != 1:
        raise ConsultRefused(_("A doctor has reviewed this document, so it stays in your "
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
    """Page ``page`` (from 1) of a PDF document as PNG; ConsultRefused 404 beyond it."""
    if not document.is_pdf or not 1 <= page <= (document.page_count or 0):
        raise ConsultRefused(_("Document not found."), 404)
    with open_content(document) as body:
        return intake.render_page(body, page - 1)
