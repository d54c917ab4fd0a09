"""Activation over the JSON API."""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from activation import services
from core import api
from core.access import public
from core.extensions import configured_limit, limiter
from core.jsonutil import json_response
from core.problems import problem

bp = api.blueprint("activation_api", __name__)

api.schema("ActivationRequest", {
    "type": "object",
    "required": ["policy_number", "activation_code", "iin", "full_name", "email", "consent"],
    "properties": {
        "policy_number": {"type": "string", "maxLength": 40},
        "activation_code": {"type": "string", "maxLength": 64},
        "iin": {"type": "string", "pattern": "^[0-9]{12}$"},
        "full_name": {"type": "string", "maxLength": 150},
        "email": {"type": "string", "format": "email", "maxLength": 254},
        "consent": {"type": "boolean", "const": True},
    },
})
api.schema("Activation", {
    "type": "object",
    "properties": {
        "policy_number": {"type": "string"},
        "product": {"type": "string", "enum": ["personal_doctor", "child_doctor"]},
        "insured": {
            "type": "object",
            "properties": {
                "full_name": {"type": "string"},
                "birth_date": {"type": "string", "format": "date"},
                "sex": {"type": "string", "enum": ["male", "female"]},
            },
        },
        "activated_on": {"type": "string", "format": "date"},
        "coverage_starts_on": {"type": "string", "format": "date"},
        "coverage_ends_on": {"type": "string", "format": "date"},
        "account": {
            "type": "object",
            "properties": {"email": {"type": "string"}, "created": {"type": "boolean"}},
        },
    },
})



@bp.post("/activations")
@public
@limiter.limit(configured_limit("RATELIMIT_ACTIVATION"))
def create_activation() -> Response:
    """Activate a policy.
    ---
    post:
      summary: Activate a policy
      tags: [activation]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/ActivationRequest"}
      responses:
        "201":
          description: Activated; the emails are on their way.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Activation"}
        "409":
          description: Already activated, or the email or person belongs to another account.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
        "422":
          description: Invalid fields, wrong number or code, deadline passed, age or IIN mismatch.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
        "429":
          description: Too many wrong codes for this policy, or too many requests from this address.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, _("Bad request"), _("Send a JSON object."))
    req = services.ActivationRequest(**{
        name: body.get(name) for name in
        ("policy_number", "activation_code", "iin", "full_name", "email", "consent")
    })
    result = services.activate(req, client_ip=request.remote_addr, locale=g.locale)
    return json_response(result.payload, 201)
