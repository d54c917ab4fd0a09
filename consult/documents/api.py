"""Documents over the JSON API (mobile clients; the pages use /documents/). The files
themselves are fetched from the links given here, with the same session, audited."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts import audit
from consult.doctors import doctor_label
from consult.documents import receive, services
from consult.documents.models import CONTENT_TYPES, KINDS, STATUSES, Document
from consult.documents.services import SEES_DOCUMENTS
from core import api
from core.access import allow
from core.extensions import limiter
from core.jsonutil import json_response
from core.problems import problem

bp = api.blueprint("documents_api", __name__)

api.schema("Document", {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "document_date": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": list(STATUSES),
                   "description": "pending: waiting for the virus check; rejected: it "
                                  "failed (the file is deleted)."},
        "content_type": {"type": "string", "enum": list(CONTENT_TYPES)},
        "size_bytes": {"type": "integer"},
        "page_count": {"type": ["integer", "null"]},
        "uploaded_at": {"type": "string", "format": "date-time"},
        "consultation": {"type": ["integer", "null"]},
        "review": {"type": ["object", "null"], "properties": {
            "by": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
            "comment": {"type": "string"}}},
        "links": {"type": "object", "description": "The file, its thumbnail and, for a "
                                                   "PDF, page images (each view audited)."},
    },
})


def _payload(d: Document) -> dict[str, Any]:
    reviewer = d.reviewed_by
    links: dict[str, Any] = {"view": url_for("documents.view", document_id=d.id)}
    if d.status == "ready":
        links.update(file=url_for("documents.download", document_id=d.id),
                     thumbnail=url_for("documents.thumbnail", document_id=d.id))
        if d.is_pdf:
            links["page"] = url_for("documents.page", document_id=d.id, page=1)[:-1] + "{n}"
        else:
            links["image"] = url_for("documents.image", document_id=d.id)
    return {
        "id": d.id, "title": d.title, "kind": d.kind,
        "document_date": d.document_date.isoformat(), "status": d.status,
        "content_type": d.content_type, "size_bytes": d.size_bytes,
        "page_count": d.page_count, "uploaded_at": d.uploaded_at.isoformat(),
        "consultation": d.consultation_id,
        "review": {"by": doctor_label(reviewer), "at": d.reviewed_at.isoformat(),
                   "comment": d.review_comment}
        if reviewer is not None and d.reviewed_at is not None else None,
        "links": links,
    }


def _from_another_site() -> bool:
    """A browser's request sent by another site's page (the API takes no CSRF token: a
    browser always names the page's origin on a cross-site POST; apps send none)."""
    origin = request.headers.get("Origin")
    if not origin:
        return False
    ours = {request.host_url.rstrip("/"), current_app.config["BASE_URL"].rstrip("/")}
    return origin.rstrip("/") not in ours


@bp.get("/documents")
@allow("patient")
def list_documents() -> Response:
    """The account's documents, newest first.
    ---
    get:
      summary: The patient's documents
      tags: [documents]
      responses:
        "200":
          description: Every document of the account.
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Document"}}
    """
    return json_response({"items": [_payload(d) for d in services.of_account(current_user)]})


@bp.post("/documents")
@allow("patient")
@limiter.limit(receive.UPLOAD_LIMIT, key_func=receive.user_key)
def upload_document() -> Response:
    """Upload one document.
    ---
    post:
      summary: Upload a photo, scan or PDF (one file per request)
      tags: [documents]
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              required: [file, title, document_date, kind]
              properties:
                file: {type: string, format: binary,
                       description: "JPEG, PNG, HEIC or PDF, up to DOCUMENT_MAX_BYTES."}
                title: {type: string, maxLength: 200}
                document_date: {type: string, format: date}
                kind: {type: string, enum: [lab_result, discharge_summary, prescription,
                                            imaging_report, other]}
                insured_id: {type: integer, description: "The person (or consultation_id)."}
                consultation_id: {type: integer}
      responses:
        "201":
          description: Stored (status ready, or pending the virus check).
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Document"}
        "403":
          description: Sent from another site's page.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
        "400":
          description: The body was cut off.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
        "404":
          description: No such consultation of the patient.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
        "413":
          description: Too large, or too many form parts.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
        "422":
          description: A field is wrong, or the file is not an accepted, readable type.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    """
    if _from_another_site():
        return problem(403, _("Forbidden"), _("Uploads are accepted from this service's "
                                              "own pages and apps only."))
    return json_response(_payload(receive.upload(check_csrf=False)), 201)


@bp.get("/documents/<int:document_id>")
@allow(*SEES_DOCUMENTS)
def get_document(document_id: int) -> Response:
    """One document: its owner, or a doctor holding a consultation with the person.
    ---
    get:
      summary: A document's details and review
      tags: [documents]
      parameters:
        - {name: document_id, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: The document.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Document"}
        "404":
          description: Not the user's to see.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    """
    document = services.visible(current_user, document_id)
    audit.append_now("document.viewed", actor=current_user, subject=f"document:{document.id}",
                     details={"part": "details"})
    return json_response(_payload(document))


@bp.post("/documents/<int:document_id>/review")
@allow("doctor")
def review_document(document_id: int) -> Response:
    """Mark a document reviewed.
    ---
    post:
      summary: Mark a document reviewed, with an optional comment for the patient
      tags: [documents]
      parameters:
        - {name: document_id, in: path, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                comment: {type: string, maxLength: 2000}
      responses:
        "200":
          description: Reviewed.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Document"}
        "404":
          description: Not a document of a patient the doctor holds.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
        "415":
          description: Not a JSON body, or sent from another site's page.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
        "422":
          description: The comment is too long or holds characters that cannot be shown.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    """
    if _from_another_site() or (request.content_length and not request.is_json):
        return problem(415, _("Unsupported media type"), _("Send a JSON object."))
    body = request.get_json(silent=True)
    comment = body.get("comment") if isinstance(body, dict) else None
    document = services.review(current_user, document_id, comment)
    audit.append("document.reviewed", actor=current_user, subject=f"document:{document_id}")
    services.tell_rooms(services.rooms_to_tell(document))
    return json_response(_payload(document))
