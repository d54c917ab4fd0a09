"""The JSON API kernel under /api/v1: the OpenAPI document, generated from the code.

Domains define their own API blueprints under ``/api/v1``; each view's docstring
carries its OpenAPI operation in YAML after a ``---`` line, and domains register
their JSON schemas with :func:`schema`. :func:`finish` marks every API blueprint
CSRF-exempt (clients send JSON, not forms).
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.yaml_utils import load_operations_from_docstring
from flask import Blueprint, Flask, current_app
from werkzeug.wrappers import Response

from core.access import public
from core.extensions import csrf
from core.jsonutil import json_response

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)
_schemas: dict[str, dict[str, Any]] = {}
_api_blueprints: list[Blueprint] = [bp]

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["status", "title", "detail"],
    "properties": {
        "type": {"type": "string"},
        "status": {"type": "integer"},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}


def schema(name: str, definition: dict[str, Any]) -> None:
    """Register a named JSON schema for ``#/components/schemas/<name>``."""
    _schemas[name] = definition


def blueprint(name: str, import_name: str) -> Blueprint:
    """A domain's API blueprint mounted under /api/v1."""
    api_bp = Blueprint(name, import_name, url_prefix=PREFIX)
    _api_blueprints.append(api_bp)
    return api_bp


def finish(app: Flask) -> None:
    """Exempt API blueprints from CSRF (call after domains registered theirs)."""
    for api_bp in _api_blueprints:
        csrf.exempt(api_bp)


def build_spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every /api/v1 route with a documented docstring."""
    spec = APISpec(
        title="Personal Doctor API", version="1", openapi_version="3.1.0",
        info={"description": "Errors are application/problem+json (RFC 9457)."},
    )
    spec.components.schema("Problem", PROBLEM_SCHEMA)
    for name, definition in sorted(_schemas.items()):
        spec.components.schema(name, definition)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        view = app.view_functions[rule.endpoint]
        operations = load_operations_from_docstring(view.__doc__ or "")
        if not operations:
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
        ops = {m: op for m, op in operations.items() if m in methods}
        spec.path(path=path, operations=ops)
    return spec.to_dict()


@bp.get("/openapi.json")
@public
def openapi() -> Response:
    """The OpenAPI document of this API.
    ---
    get:
      summary: OpenAPI document
      tags: [meta]
      responses:
        "200":
          description: The OpenAPI 3.1 document.
    """
    return json_response(build_spec(current_app))


@bp.get("/ping")
@public
def ping() -> Response:
    """A trivial endpoint: liveness, and the baseline of the benchmarks.
    ---
    get:
      summary: Liveness
      tags: [meta]
      responses:
        "200":
          description: The service answers.
          content:
            application/json:
              schema:
                type: object
                properties:
                  status: {type: string}
    """
    return json_response({"status": "ok"})
