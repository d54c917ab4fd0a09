"""Consultations: queue, chat, calls, referrals, documents (later issues)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("consult", __name__, url_prefix="/consult")


def init_app(app: Flask) -> None:
    """Register the consultation blueprint."""
    app.register_blueprint(bp)
