"""Consultations over the JSON API (pages' scripts and mobile clients). The chat itself
runs over Socket.IO (:mod:`consult.duty.sockets`); these endpoints create, list and read.
The doctors' and operators' endpoints are :mod:`consult.duty.api_doctors`. A refusal
becomes the problem document (:class:`consult.errors.ConsultRefused`)."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from consult.access import participant_consultation
from consult.doctors import doctor_label
from consult.duty import announce, chat, redflags, requests
from consult.duty.history import history
from consult.line import wait_info
from consult.models import Consultation
from consult.realtime import message_payload
from consult.text import as_cursor
from core import api
from core.access import allow
from core.jsonutil import json_response
from core.problems import problem

bp = api.blueprint("consult_api", __name__)

api.schema("ConsultationRequest", {
    "type": "object",
    "required": ["insured_id", "complaint", "channel", "red_flags"],
    "properties": {
        "insured_id": {"type": "integer"},
        "complaint": {"type": "string", "maxLength": requests.COMPLAINT_MAX},
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


def payload(c: Consultation, *, with_wait: bool = False) -> dict[str, Any]:
    """A consultation as the API shows it (``wait``: the place in line while waiting)."""
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
        body["wait"] = wait_info(c)
    return body


def _participant_view(consultation_id: int) -> Consultation:
    """The consultation if the signed-in user is its patient or doctor; else refused
    (404)."""
    return participant_consultation(current_user.id, consultation_id)[0]


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
    req = requests.ConsultationRequest(body.get("insured_id"), body.get("complaint"),
                                       body.get("channel"), body.get("confirm_self_pay") is True,
                                       # mobile clients ask the checklist too:
                                       # a missing one is every sign unanswered
                                       body.get("red_flags", {}),
                                       body.get("continue_anyway") is True)
    consultation = requests.request_consultation(current_user, req, str(g.locale))
    announce.joined(consultation)
    return json_response(payload(consultation, with_wait=True), 201)


@bp.get("/consultations")
@allow("patient")
def list_consultations() -> Response:
    """The account's consultations, newest first.
    ---
    get:
      summary: Consultation history
      tags: [consultations]
      parameters:
        - {name: before, in: query, schema: {type: integer, minimum: 1, maximum: 2147483647},
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
        "422":
          description: "`before` is not a consultation id."
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    """
    before = as_cursor(request.args.get("before"), "before", minimum=1)
    rows = history(current_user, before, 51)
    page = rows[:50]
    return json_response({"items": [payload(c) for c in page],
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
    return json_response(payload(_participant_view(consultation_id), with_wait=True))


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
        - {name: after, in: query,
           schema: {type: integer, minimum: 0, maximum: 9223372036854775807}}
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
        "422":
          description: "`after` is not a message id."
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    """
    consultation = _participant_view(consultation_id)
    messages = chat.messages_after(consultation, request.args.get("after"))
    return json_response({"items": [message_payload(m, consultation) for m in messages]})
