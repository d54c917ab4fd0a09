"""Document pages: the patient's list and upload, the viewer, the files themselves (each
one audited, never cached, never sniffed), and the doctor's review. Thin: the rules
are in :mod:`consult.documents.services`."""

from __future__ import annotations

from typing import Any, NoReturn
from urllib.parse import quote

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts import audit
from consult.access import participant_consultation
from consult.coverage import people_of
from consult.documents import receive, services, vault
from consult.documents.blueprint import bp
from consult.documents.forms import KIND_LABELS
from consult.documents.models import Document
from consult.documents.services import SEES_DOCUMENTS
from consult.errors import ConsultRefused, status_page
from core import clock
from core.access import allow
from core.extensions import csrf, limiter
from core.problems import problem
from core.unit import after_commit, back, on_refusal

# The viewer shows this many pages of a PDF; the rest are in the download.
VIEWER_PAGES = 50


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/")
@allow("patient")
def index() -> str:
    """The account's documents, newest first, and the upload form."""
    return render_template("documents/index.html", documents=services.of_account(current_user),
                           people=people_of(current_user), kinds=KIND_LABELS,
                           today=clock.today())


def _upload_refused(exc: ConsultRefused) -> ResponseReturnValue:
    """A refused upload: the problem for the page's script, else the reasons flashed."""
    if _wants_json():
        return problem(exc.status, exc.detail, exc.detail, errors=exc.errors)
    flash(" ".join(m for msgs in exc.errors.values() for m in msgs) or exc.detail, "error")
    return redirect(back(url_for("documents.index")))


@bp.post("/")
@allow("patient")
@csrf.exempt
@limiter.limit(receive.UPLOAD_LIMIT, key_func=receive.user_key)
@on_refusal(_upload_refused)
def upload() -> Any:
    """One file and its title, date and type (the page's script sends each chosen file
    as its own request, with a progress bar). JSON for the script, a redirect for a
    plain form. A refused upload leaves no row and no file."""
    document = receive.upload(check_csrf=True)
    if _wants_json():
        return jsonify(_summary(document)), 201
    flash(_("The document was uploaded."), "info")
    return redirect(url_for("documents.view", document_id=document.id))


def _summary(document: Document) -> dict[str, Any]:
    return {"id": document.id, "title": document.title, "status": document.status,
            "url": url_for("documents.view", document_id=document.id),
            "thumbnail": url_for("documents.thumbnail", document_id=document.id)}


def _not_shown(exc: ConsultRefused, **_view_args: Any) -> ResponseReturnValue:
    """A document the person may not see (404), or not yet open (409): the error page."""
    return status_page(exc.status)


def _visible(document_id: int, contents: bool = False) -> Document:
    if contents:
        return services.readable(current_user, document_id)
    return services.visible(current_user, document_id)


def _audit_view(document: Document, part: str, **details: Any) -> None:
    action = "document.downloaded" if part == "download" else "document.viewed"
    audit.append_now(action, actor=current_user, subject=f"document:{document.id}",
                     details={"part": part, **details})


@bp.get("/<int:document_id>")
@allow(*SEES_DOCUMENTS)
@on_refusal(_not_shown)
def view(document_id: int) -> str:
    """The viewer: the image (zoom, rotate) or the PDF's pages as images, the details,
    and the review (the doctor writes it, the patient reads it)."""
    document = _visible(document_id)
    _audit_view(document, "viewer")
    pages = min(document.page_count or 0, VIEWER_PAGES)
    room = services.held_consultation(current_user, document)
    if room is not None:
        back_url, back_label = url_for("consult.room", consultation_id=room.id), \
            _("Back to the consultation")
    else:
        back_url, back_label = url_for("documents.index"), _("All my documents")
    return render_template("documents/view.html", d=document, kinds=KIND_LABELS, pages=pages,
                           viewer_pages=VIEWER_PAGES, back_url=back_url, back_label=back_label)


def _file_response(document: Document, body: Any, mimetype: str, disposition: str,
                   name: str) -> Response:
    response = Response(body, mimetype=mimetype, direct_passthrough=True)
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Nothing served here may run: no scripts, no plugins, a sandbox with no origin.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _damaged(document: Document) -> NoReturn:
    """The stored copy failed its check: say so (never a byte of it) and alert."""
    current_app.logger.error("document %s failed its integrity check", document.id,
                             exc_info=True)
    message = _("This document cannot be opened: its stored copy failed the integrity "
                "check. Our team has been alerted; please try again later.")
    abort(Response(render_template("error.html", status=500, message=message), 500,
                   headers={"Cache-Control": "no-store"}))


def _open(document: Document, part: str = "file") -> Any:
    try:
        return services.open_content(document, part)
    except vault.Damaged:
        _damaged(document)


@bp.get("/<int:document_id>/file")
@allow(*SEES_DOCUMENTS)
@on_refusal(_not_shown)
def download(document_id: int) -> Response:
    """The stored file as an attachment (never shown inline by the browser)."""
    document = _visible(document_id, contents=True)
    body = _open(document)
    _audit_view(document, "download")
    extension = {"image/jpeg": ".jpg", "image/png": ".png"}.get(document.content_type, ".pdf")
    name = document.file_name.rsplit(".", 1)[0] + extension
    response = _file_response(document, vault.stream(body), document.content_type,
                              "attachment", name)
    response.content_length = document.size_bytes
    return response


@bp.get("/<int:document_id>/image")
@allow(*SEES_DOCUMENTS)
@on_refusal(_not_shown)
def image(document_id: int) -> Response:
    """An image document for the viewer (re-encoded at upload: pixels only)."""
    document = _visible(document_id, contents=True)
    if document.is_pdf:
        abort(404)
    body = _open(document)
    _audit_view(document, "image")
    response = _file_response(document, vault.stream(body), document.content_type, "inline",
                              document.file_name)
    response.content_length = document.size_bytes
    return response


@bp.get("/<int:document_id>/pages/<int:page>")
@allow(*SEES_DOCUMENTS)
@on_refusal(_not_shown)
def page(document_id: int, page: int) -> Response:
    """One page of a PDF document, rendered on the server as a PNG."""
    document = _visible(document_id, contents=True)
    try:
        png = services.page_image(document, page)
    except vault.Damaged:
        _damaged(document)
    _audit_view(document, "page", page=page)
    return _file_response(document, png, "image/png", "inline", f"page-{page}.png")


@bp.get("/<int:document_id>/thumbnail")
@allow(*SEES_DOCUMENTS)
@on_refusal(_not_shown)
def thumbnail(document_id: int) -> Response:
    """A small picture of the document (the first page of a PDF)."""
    document = _visible(document_id, contents=True)
    with _open(document, "thumb") as body:
        data = body.read()
    _audit_view(document, "thumbnail")
    return _file_response(document, data, "image/jpeg", "inline", "thumbnail.jpg")


def _back_to_document(exc: ConsultRefused, document_id: int) -> ResponseReturnValue:
    """A refused review or deletion: the reasons flashed on the document's page."""
    if exc.status == 404:
        return status_page(404)
    flash(" ".join(m for msgs in exc.errors.values() for m in msgs) or exc.detail, "error")
    return redirect(url_for("documents.view", document_id=document_id))


@bp.post("/<int:document_id>/review")
@allow("doctor")
@on_refusal(_back_to_document)
def review(document_id: int) -> Response:
    """The doctor marks the document reviewed, with an optional comment."""
    document = services.review(current_user, document_id, request.form.get("comment"))
    audit.append("document.reviewed", actor=current_user, subject=f"document:{document_id}")
    services.tell_rooms(services.rooms_to_tell(document))
    flash(_("Marked as reviewed."), "info")
    return redirect(url_for("documents.view", document_id=document_id))


@bp.post("/<int:document_id>/delete")
@allow("patient")
@on_refusal(_back_to_document)
def delete(document_id: int) -> Response:
    """The patient deletes a document uploaded by mistake (not once it was reviewed)."""
    document = services.visible(current_user, document_id)
    rooms = services.rooms_to_tell(document)
    keys = services.remove(current_user, document_id)
    audit.append("document.deleted", actor=current_user, subject=f"document:{document_id}")
    after_commit(lambda: vault.delete(*keys))
    services.tell_rooms(rooms)
    flash(_("The document was deleted."), "info")
    return redirect(url_for("documents.index"))


@bp.get("/consultation/<int:consultation_id>")
@allow("patient", "doctor")
def panel(consultation_id: int) -> str:
    """The room's documents list (an HTML fragment, fetched again when it changes)."""
    consultation, side = participant_consultation(current_user.id, consultation_id)
    return render_template("documents/_panel.html", c=consultation, side=side,
                           documents=services.for_room(current_user, consultation, side),
                           kinds=KIND_LABELS)
