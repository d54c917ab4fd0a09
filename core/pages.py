"""HTML error pages and shared page helpers."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


def render_error_page(exc: HTTPException) -> tuple[str, int, dict[str, str]]:
    """A localised error page for ``exc`` in the base layout."""
    status = exc.code or 500
    messages = {
        400: _("The request could not be understood. If you submitted a form, reload the "
               "page and try again."),
        403: _("You do not have access to this page."),
        404: _("There is nothing at this address."),
        405: _("This method is not allowed here."),
        413: _("The request is too large."),
        429: _("Too many attempts. Please wait and try again."),
        500: _("Something went wrong on our side. Please try again later."),
    }
    headers: dict[str, str] = {}
    retry = getattr(exc, "retry_after", None)
    if status == 429 and retry:
        headers["Retry-After"] = str(retry)
    body = render_template(
        "error.html", status=status, message=messages.get(status, exc.description)
    )
    return body, status, headers
