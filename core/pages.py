"""HTML error pages and shared page helpers."""

from __future__ import annotations

from flask import render_template
from werkzeug.exceptions import HTTPException

from core.problems import error_headers, explanation


def render_error_page(exc: HTTPException) -> tuple[str, int, dict[str, str]]:
    """A localised error page for ``exc`` in the base layout."""
    status = exc.code or 500
    body = render_template(
        "error.html", status=status, message=explanation(status) or exc.description
    )
    return body, status, error_headers(exc)
