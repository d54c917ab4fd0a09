"""Consultations over the JSON API (pages' scripts and mobile clients). The chat itself
runs over Socket.IO (:mod:`consult.sockets`); these endpoints create, list and read."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from consult import doctors, realtime, redflags, services
from consult.doctors import doctor_label
from consult.errors import (
    ConsultRefused,
    OpenConsultationExists,
    RedFlagsNeedChoice,
    SelfPayNeedsConfirmation,
)
from consult.models import Consultation
from core import api, clock
from core.access import allow
from core.extensions import db
from core.jsonutil import json_response
from core.problems import problem

bp = api.blueprint("consult_api", __name__)

api.schema("ConsultationRequest", {
    "type": "object",
    "required": ["insured_id", "complaint", "channel", "red_flags"],
    "properties": {
        "insured_id": {"type": "integer"},
        "complaint": {"type": "string", "maxLength": services.COMPLAINT_MAX},
        "channel": {"type": "string", "enum": ["chat", "audio", "video"]},
        "confirm_self_pay": {"type": "boolean",
                             "description": "Required (true) during the waiting period."},
        "red_flags": {
            "type": "object", "additionalProperties": False,
            "description": "The red-flag checklist: every sign answered true or false "
                           "(infant_fever only for a child under 3 months; ignored "
                           "otherwise). Any true needs continue_anyway.",
            "properties": {sign: {"type": "boolean"} for sign in redflags.SIGNS},
        },
        "continue_anyway": {"type": "boolean",
                            "description": "The patient was advised to call emergency "
                                           "services and chose to see a doctor anyway."},
    },
})
api.schema("Consultation", {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string",
                   "enum": ["waiting", "scheduled", "active", "closed", "cancelled"]},
        "channel": {"type": "string"},
        "product": {"type": "string"},
        "insured": {"type": "string"},
        "doctor": {"type": ["string", "null"]},
        "requested_at": {"type": "string", "format": "date-time"},
        "taken_at": {"type": ["string", "null"], "format": "date-time"},
        "closed_at": {"type": ["string", "null"], "format": "date-time"},
        "coverage": {"type": "string", "enum": ["covered", "self_pay"]},
        "price": {"type": "integer", "description": "Whole tenge; 0 when covered."},
        "currency": {"type": "string"},
        "payment_status": {"type": "string"},
        "conclusion": {"type": ["object", "null"]},
        "wait": {"type": "object"},
    },
})
api.schema("ChatMessage", {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "consultation": {"type": "integer"},
        "client_id": {"type": "string"},
        "from": {"type": "string", "enum": ["patient", "doctor"]},
        "body": {"type": "string"},
        "sent_at": {"type": "string", "format": "date-time"},
    },
})


def _payload(c: Consultation, *, with_wait: bool = False) -> dict[str, Any]:
    doctor = c.doctor
    body: dict[str, Any] = {
        "id": c.id, "status": c.status, "channel": c.channel, "product": c.product,
        "insured": c.insured.full_name,
        "doctor": doctor_label(doctor) if doctor else None,
        "requested_at": c.requested_at.isoformat(),
        "taken_at": c.taken_at.isoformat() if c.taken_at else None,
        "closed_at": c.closed_at.isoformat() if c.closed_at else None,
        "coverage": c.coverage, "price": c.price_amount, "currency": c.currency,
        "payment_status": c.payment_status, "conclusion": c.conclusion(),
    }
    if with_wait and c.status == "waiting":
        body["wait"] = services.wait_info(c)
    return body


def _refused(exc: ConsultRefused) -> Response:
    extra: dict[str, Any] = {}
    if isinstance(exc, SelfPayNeedsConfirmation):
        extra = {"price": exc.price, "currency": exc.currency,
                 "waiting_until": exc.waiting_until}
    elif isinstance(exc, RedFlagsNeedChoice):
        extra = {"emergency_numbers": exc.numbers, "red_flags": exc.signs}
    elif isinstance(exc, OpenConsultationExists):
        extra = {"consultation": exc.consultation_id,
                 "consultation_url": url_for("consult_api.get_consultation",
                                             consultation_id=exc.consultation_id)}
    return problem(exc.status, _("Consultation refused"), exc.detail, errors=exc.errors,
                   **extra)


def _participant_view(consultation_id: int) -> Consultation | Response:
    """The consultation if the signed-in user is its patient or doctor, else a 404."""
    try:
        return services.participant_consultation(current_user.id, consultation_id)[0]
    except ConsultRefused as exc:
        return _refused(exc)


def _json_body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


@bp.post("/consultations")
@allow("patient")
def create_consultation() -> Response:
    """Ask for an on-duty doctor.
    ---
    post:
      summary: Request a consultation (join the on-duty queue)
      tags: [consultations]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/ConsultationRequest"}
      responses:
        "201":
          description: In the queue.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Consultation"}
        "402":
          description: Waiting period (confirm_self_pay needed; price given), or declined.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
        "409":
          description: >-
            The person already has a consultation in progress (consultation and
            consultation_url name it).
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
        "422":
          description: >-
            Invalid fields (red_flags missing, with unknown signs or answers that are
            not booleans), no active or waiting policy, or a red-flag sign answered true
            without continue_anyway (the detail and emergency_numbers say whom to call).
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    """
    body = _json_body()
    if body is None:
        return problem(400, _("Bad request"), _("Send a JSON object."))
    req = services.ConsultationRequest(body.get("insured_id"), body.get("complaint"),
                                       body.get("channel"), body.get("confirm_self_pay") is True,
                                       # mobile clients ask the checklist too:
                                       # a missing one is every sign unanswered
                                       body.get("red_flags", {}),
                                       body.get("continue_anyway") is True)
    try:
        consultation = services.request_consultation(current_user, req, str(g.locale))
        db.session.commit()
    except ConsultRefused as exc:
        db.session.rollback()
        return _refused(exc)
    realtime.queue_changed(consultation.product, "joined", consultation.id,
                           red_flag=consultation.red_flag)
    return json_response(_payload(consultation, with_wait=True), 201)


@bp.get("/consultations")
@allow("patient")
def list_consultations() -> Response:
    """The account's consultations, newest first.
    ---
    get:
      summary: Consultation history
      tags: [consultations]
      parameters:
        - {name: before, in: query, schema: {type: integer},
           description: "Continue after this id (the previous page's next_before)."}
      responses:
        "200":
          description: A page of consultations.
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Consultation"}}
                  next_before: {type: ["integer", "null"]}
    """
    rows = services.history(current_user, request.args.get("before", type=int), 51)
    page = rows[:50]
    return json_response({"items": [_payload(c) for c in page],
                          "next_before": page[-1].id if len(rows) > 50 else None})


@bp.get("/consultations/<int:consultation_id>")
@allow("patient", "doctor")
def get_consultation(consultation_id: int) -> Response:
    """One consultation of the patient or doctor.
    ---
    get:
      summary: A consultation, with the place in line while waiting
      tags: [consultations]
      parameters:
        - {name: consultation_id, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: The consultation.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Consultation"}
        "404":
          description: Not found (or not yours).
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    """
    consultation = _participant_view(consultation_id)
    if isinstance(consultation, Response):
        return consultation
    return json_response(_payload(consultation, with_wait=True))


@bp.get("/consultations/<int:consultation_id>/messages")
@allow("patient", "doctor")
def list_messages(consultation_id: int) -> Response:
    """The chat transcript after a given message id.
    ---
    get:
      summary: Chat messages (replay after a reconnect)
      tags: [consultations]
      parameters:
        - {name: consultation_id, in: path, required: true, schema: {type: integer}}
        - {name: after, in: query, schema: {type: integer, minimum: 0}}
      responses:
        "200":
          description: Up to 1,000 messages after `after`, oldest first.
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/ChatMessage"}}
        "404":
          description: Not found (or not yours).
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    """
    consultation = _participant_view(consultation_id)
    if isinstance(consultation, Response):
        return consultation
    messages = services.messages_after(consultation, request.args.get("after", 0))
    return json_response({"items": [services.message_payload(m, consultation)
                                    for m in messages]})


@bp.get("/queue")
@allow("doctor")
def get_queue() -> Response:
    """The on-duty queue the doctor may take from.
    ---
    get:
      summary: Waiting patients, oldest first
      tags: [doctors]
      responses:
        "200":
          description: The queue (empty when the doctor is not on shift).
          content:
            application/json:
              schema:
                type: object
                properties:
                  on_shift: {type: boolean}
                  items:
                    type: array
                    items:
                      type: object
                      properties:
                        id: {type: integer}
                        age: {type: integer}
                        age_label: {type: string, description: "The age in words, e.g. 7 years."}
                        product: {type: string}
                        complaint: {type: string}
                        channel: {type: string}
                        language: {type: string}
                        language_name: {type: string}
                        language_match:
                          type: boolean
                          description: The doctor speaks the patient's language.
                        waiting_seconds: {type: integer}
                        red_flag:
                          type: boolean
                          description: A red-flag sign was answered yes (listed first).
                        red_flag_signs:
                          type: array
                          items: {type: string}
                          description: The signs answered yes, in words.
    """
    on_shift = services.is_on_shift(current_user)
    today, now = clock.today(), clock.now()
    spoken = doctors.languages_of(current_user)
    items = [{
        "id": c.id, "age": services.age_of(c, today),
        "age_label": ngettext("%(num)s year", "%(num)s years", services.age_of(c, today)),
        "product": c.product,
        "complaint": c.complaint, "channel": c.channel, "language": c.language,
        "language_name": doctors.language_names([c.language]),
        "language_match": c.language in spoken,
        "waiting_seconds": int((now - c.requested_at).total_seconds()),
        "red_flag": c.red_flag, "red_flag_signs": redflags.yes_labels(c),
    } for c in (services.queue(current_user) if on_shift else [])]
    return json_response({"on_shift": on_shift, "items": items})


@bp.post("/consultations/<int:consultation_id>/take")
@allow("doctor")
def take_consultation(consultation_id: int) -> Response:
    """Take a waiting patient.
    ---
    post:
      summary: Take a patient from the queue (atomic)
      tags: [doctors]
      parameters:
        - {name: consultation_id, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: The consultation is yours.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Consultation"}
        "409":
          description: Already taken by another doctor, not on shift, or at the chat limit.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    """
    try:
        consultation = services.take(current_user, consultation_id)
        db.session.commit()
    except ConsultRefused as exc:
        db.session.rollback()
        return _refused(exc)
    realtime.status(consultation)
    realtime.queue_changed(consultation.product, "left", consultation.id)
    return json_response(_payload(consultation))


@bp.get("/operator/stats")
@allow("operator", "admin")
def operator_stats() -> Response:
    """The figures of the operator's live view.
    ---
    get:
      summary: Queue and consultation figures
      tags: [operators]
      responses:
        "200":
          description: Current figures; waits in seconds over the last 24 hours.
          content:
            application/json:
              schema:
                type: object
                properties:
                  queue_length: {type: integer}
                  longest_wait_seconds: {type: integer}
                  doctors_on_shift: {type: integer}
                  in_progress: {type: integer}
                  taken_last_24h: {type: integer}
                  median_wait_seconds: {type: ["integer", "null"]}
                  p90_wait_seconds: {type: ["integer", "null"]}
    """
    return json_response(services.stats())
