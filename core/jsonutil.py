"""JSON responses with a chosen media type."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from werkzeug.wrappers import Response


def json_response(body: Any, status: int = 200, mimetype: str = "application/json") -> Response:
    """Serialise ``body`` (UTF-8, not ASCII-escaped) into a response."""
    text = json.dumps(body, ensure_ascii=False, default=str)
    return current_app.response_class(text, status=status, mimetype=mimetype)
