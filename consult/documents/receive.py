"""Receiving one uploaded document, for the upload page and the API alike.

The request's body arrives only once the view runs (the app-wide limit is 1 MB; an
upload may be DOCUMENT_MAX_BYTES). Receiving it from a slow phone, decoding and sealing
must not hold a database transaction (on SQLite it is the one writer's place), so the
transactions that only read before them (loading the user, checking the fields) are
ended first; the row is then written in the request's unit of work, which commits it.

Complete or absent: the sealed file is stored before its row, and deleted again when
the transaction that would keep the row rolls back (a refusal, an error, a failed
commit).
"""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import FileStorage, ImmutableMultiDict
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from accounts import audit
from consult.documents import services, uploads
from consult.documents.errors import DocumentRefused
from consult.documents.models import Document
from core import unit
from core.extensions import csrf

UPLOAD_LIMIT = "60 per hour"
# What the form's other fields may add to the file in one request.
FORM_OVERHEAD = 64 * 1024


def user_key() -> str:
    """Rate limits per signed-in user (a family behind one NAT must not block others)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr}"


def upload(check_csrf: bool) -> Document:
    """Read the multipart body (``file``, ``title``, ``document_date``, ``kind``, and
    ``insured_id`` or ``consultation_id``), store the document (flushed) and tell the
    consultation's room once it is committed. Raises DocumentRefused (400 cut body, 413
    too large, 422 and 404/409 from the rules); then nothing is stored."""
    max_bytes = current_app.config["DOCUMENT_MAX_BYTES"]
    request.max_content_length = max_bytes + FORM_OVERHEAD
    unit.release_reads()
    form, files = _body(check_csrf, max_bytes)
    file = files.get("file")
    target = uploads.check_upload(current_user, uploads.UploadRequest(
        title=form.get("title"), document_date=form.get("document_date"),
        kind=form.get("kind"), insured_id=form.get("insured_id"),
        consultation_id=form.get("consultation_id"),
        file_name=file.filename if file else None, file=file.stream if file else None))
    unit.release_reads()  # decoding and sealing hold no transaction
    stored = uploads.store_file(file.stream)  # type: ignore[union-attr]
    unit.on_rollback(lambda: uploads.discard_file(stored))
    document = uploads.add_document(current_user, target, stored)
    audit.append("document.uploaded", actor=current_user, subject=f"document:{document.id}",
                 details={"type": document.content_type, "bytes": document.size_bytes,
                          "status": document.status})
    services.tell_rooms(services.rooms_to_tell(document))
    return document


def _body(check_csrf: bool, max_bytes: int
          ) -> tuple[ImmutableMultiDict[str, str], ImmutableMultiDict[str, FileStorage]]:
    """The form and its files; refused when too large or cut off."""
    try:
        if check_csrf and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()  # reads the body: after the limit is raised for this view only
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        too_big = (request.content_length or 0) > max_bytes
        message = (_("The file is larger than %(num)s MB.", num=max_bytes // (1024 * 1024))
                   if too_big else _("Too many files or fields were sent at once. Upload "
                                     "one file at a time."))
        raise DocumentRefused(message, 413, {"file": [message]}) from None
    except ClientDisconnected:
        form, files = ImmutableMultiDict(), ImmutableMultiDict()
    if not form and not files:
        # Werkzeug gives an empty form for a body that ends before its closing boundary
        # (the connection dropped, or the client sent a cut body).
        raise DocumentRefused(_("The upload was interrupted. Please try again."), 400)
    return form, files
