"""The operator's live view of the service: its figures refresh every few seconds
(from the API's ``/operator/stats``)."""

from __future__ import annotations

from flask import render_template

from consult.blueprint import bp
from consult.duty.figures import stats
from consult.duty.labels import duration_label
from core.access import allow


@bp.get("/operator")
@allow("operator", "admin")
def operator() -> str:
    """The live view of the service: the page refreshes its figures every few seconds."""
    return render_template("consult/operator.html", stats=stats(), duration=duration_label)
