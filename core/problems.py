"""Error answers: RFC 9457 problem details for the JSON API, error pages elsewhere.

Every error under ``/api/`` is ``application/problem+json`` with ``status``, ``title``,
``detail`` and, for field errors, ``errors: {field: [messages]}`` in the request's
language. Other paths get a localised error page in the base layout.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from core.extensions import db
from core.jsonutil import json_response


class FieldErrors(Exception):
    """Validation failed; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "status": status, "title": str(title)}
    body["detail"] = str(detail) if detail is not None else str(title)
    if errors:
        body["errors"] = {field: [str(m) for m in msgs] for field, msgs in errors.items()}
    body.update(extra)
    response = json_response(body, status, mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        401: _("Sign-in required"),
        403: _("Forbidden"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Request too large"),
        415: _("Unsupported media type"),
        422: _("Unprocessable request"),
        429: _("Too many requests"),
        500: _("Internal server error"),
    }


def explanation(status: int) -> str | None:
    """What a person is told about an HTTP error, in their language (pages and API)."""
    return {
        400: _("The request could not be understood. If you submitted a form, reload the "
               "page and try again."),
        403: _("You do not have access to this page."),
        404: _("There is nothing at this address."),
        405: _("This method is not allowed here."),
        413: _("The request is too large."),
        429: _("Too many attempts. Please wait and try again."),
        500: _("Something went wrong on our side. Please try again later."),
    }.get(status)


def error_headers(exc: HTTPException) -> dict[str, str]:
    """Retry-After of a 429 and Allow of a 405, kept when the error is rendered."""
    headers = {}
    retry = getattr(exc, "retry_after", None)
    if exc.code == 429 and retry:
        headers["Retry-After"] = str(retry)
    if exc.code == 405:
        allowed = exc.get_response().headers.get("Allow")
        if allowed:
            headers["Allow"] = allowed
    return headers


def http_problem(exc: HTTPException) -> Response:
    """Turn a Werkzeug HTTP error into a localised problem response."""
    status = exc.code or 500
    title = _titles().get(status, exc.name)
    detail = title if status in (400, 403) else (explanation(status) or title)
    return problem(status, title, detail, headers=error_headers(exc))


def render_error_page(exc: HTTPException) -> tuple[str, int, dict[str, str]]:
    """A localised error page for ``exc`` in the base layout."""
    status = exc.code or 500
    body = render_template(
        "error.html", status=status, message=explanation(status) or exc.description
    )
    return body, status, error_headers(exc)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    """Register error handlers: problem+json under /api/, error pages elsewhere."""

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        if is_api_request():
            return http_problem(exc)
        return render_error_page(exc)

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> ResponseReturnValue:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if is_api_request():
            return problem(500, _("Internal server error"),
                           _("Something went wrong on our side. Please try again later."))
        return render_error_page(InternalServerError())
