"""The rules of an upload: where it goes (the patient's person or open consultation),
its title, date and type, and the file itself, cleaned (:mod:`.intake`), scanned and
sealed into the blob store before its row is written. Plain functions: the row is
flushed, never committed; the file is stored outside any transaction.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _

from accounts.models import User
from activation.models import Insured
from consult.documents import intake, scan, vault
from consult.documents.errors import DocumentRefused
from consult.documents.models import KINDS, Document
from consult.errors import ConsultRefused
from consult.models import Consultation
from consult.text import as_id, clean_text
from core import clock
from core.crypto import encrypt
from core.extensions import db

log = logging.getLogger(__name__)
TITLE_MAX = 200
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


def safe_file_name(name: Any) -> str:
    """The last part of a file name as a person gave it, for showing and for the
    download's name: no folders (``../`` or ``C:\\``), no control characters."""
    text = name if isinstance(name, str) else ""
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip(" .")
    return text[:NAME_MAX] or "document"


def check_upload(patient: User, req: UploadRequest) -> Target:
    """The upload's person, consultation, title, date and type; raises DocumentRefused
    (422 naming each bad field, 404/409 for the consultation). Reads only."""
    errors: dict[str, list[str]] = {}
    insured, consultation_id = _where(patient, req, errors)
    title = ""
    try:
        title = clean_text(req.title, "title", TITLE_MAX)
    except ConsultRefused as exc:
        errors.update(exc.errors)
    kind = req.kind if isinstance(req.kind, str) else ""
    if kind not in KINDS:
        errors["kind"] = [_("Choose the type of document.")]
    day = _document_date(req.document_date, errors)
    if req.file is None:
        errors["file"] = [_("Choose a file.")]
    if errors or insured is None or day is None:
        raise DocumentRefused(_("Please correct the marked fields."), errors=errors)
    return Target(insured.id, consultation_id, title, day, kind,
                  safe_file_name(req.file_name))


def _where(patient: User, req: UploadRequest, errors: dict[str, list[str]]
           ) -> tuple[Insured | None, int | None]:
    """The insured person and the open consultation the upload goes to."""
    if req.consultation_id not in (None, ""):
        consultation = db.session.get(Consultation, as_id(req.consultation_id))
        if consultation is None or consultation.patient_id != patient.id:
            raise DocumentRefused(_("Consultation not found."), 404)
        if consultation.status not in ("waiting", "active"):
            raise DocumentRefused(_("This consultation has ended: upload the document "
                                    "from My documents."), 409)
        return consultation.insured, consultation.id
    insured = db.session.get(Insured, as_id(req.insured_id))
    if insured is None or insured.account_id != patient.id:
        errors["insured_id"] = [_("Choose one of the people insured on your account.")]
        return None, None
    return insured, None


def _document_date(value: Any, errors: dict[str, list[str]]) -> date | None:
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None:
        errors["document_date"] = [_("Enter the date of the document.")]
    elif day > clock.today() or day.year < 1900:
        errors["document_date"] = [_("The date cannot be in the future.")
                                   if day > clock.today() else _("Check the year.")]
    return day


def store_file(upload: IO[bytes]) -> StoredFile:
    """Clean (:mod:`.intake`), scan and seal the uploaded file into the blob store; no
    database work, so the caller need not hold a transaction meanwhile. Raises
    DocumentRefused with the reason under ``file``; then nothing is stored."""
    cfg = current_app.config
    prepared = intake.prepare(upload, cfg["DOCUMENT_MAX_BYTES"], cfg["DOCUMENT_MAX_PIXELS"],
                              cfg["DOCUMENT_MAX_PAGES"])
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
    """The row of a stored file (flushed). If this or the commit fails, the caller
    calls :func:`discard_file`."""
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
        raise DocumentRefused(msg, errors={"file": [msg]})
    return "ready"
