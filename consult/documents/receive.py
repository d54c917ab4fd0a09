"""Receiving one uploaded document, for the upload page and the API alike.

The request's body arrives only once the view runs (the app-wide limit is 1 MB; an
upload may be DOCUMENT_MAX_BYTES), and the transaction that loaded the user is ended
first: receiving from a slow phone, decoding and sealing must not hold a database
transaction (on SQLite it is the one writer's place). So this request commits twice:
once after reading, once with the new row.
"""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from accounts import audit
from consult import realtime
from consult.documents import services
from consult.documents.models import Document
from consult.errors import ConsultRefused
from core.extensions import csrf, db

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
    ``insured_id`` or ``consultation_id``), store the document and commit; tell the
    consultation's room. Raises ConsultRefused (400 cut body, 413 too large, 422 and
    404/409 from the rules); then nothing is stored."""
    max_bytes = current_app.config["DOCUMENT_MAX_BYTES"]
    request.max_content_length = max_bytes + FORM_OVERHEAD
    db.session.commit()
    try:
        if check_csrf and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()  # reads the body: after the limit is raised for this view only
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        too_big = (request.content_length or 0) > max_bytes
        message = (_("The file is larger than %(num)s MB.", num=max_bytes // (1024 * 1024))
                   if too_big else _("Too many files or fields were sent at once. Upload "
                                     "one file at a time."))
        raise ConsultRefused(message, 413, {"file": [message]}) from None
    except ClientDisconnected:
        form, files = None, None
    if not form and not files:
        # Werkzeug gives an empty form for a body that ends before its closing boundary
        # (the connection dropped, or the client sent a cut body).
        raise ConsultRefused(_("The upload was interrupted. Please try again."), 400)
    file = files.get("file") if files else None
    req = services.UploadRequest(
        title=form.get("title"), document_date=form.get("document_date"),
        kind=form.get("kind"), insured_id=form.get("insured_id"),
        consultation_id=form.get("consultation_id"),
        file_name=file.filename if file else None, file=file.stream if file else None)
    stored = None
    try:
        target = services.check_upload(current_user, req)
        db.session.commit()  # reads only; decoding and sealing hold no transaction
        stored = services.store_file(file.stream)  # type: ignore[union-attr]
        document = services.add_document(current_user, target, stored)
        audit.append("document.uploaded", actor=current_user, subject=f"document:{document.id}",
                     details={"type": document.content_type, "bytes": document.size_bytes,
                              "status": document.status})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if stored is not None:
            services.discard_file(stored)
        raise
    for consultation_id in services.rooms_to_tell(document):
        realtime.documents_changed(consultation_id)
    return document
