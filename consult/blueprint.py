"""The consultations' page blueprint (``/consult``): the features add their pages to it,
so their endpoints keep the names ``consult.*``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("consult", __name__, url_prefix="/consult")
