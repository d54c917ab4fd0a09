"""The activation pages' blueprint."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("activation", __name__)
