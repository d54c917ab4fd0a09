"""The operator's live figures: the queue, the doctors on shift, the waits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from consult.line import doctors_on_shift
from consult.models import Consultation
from core import clock
from core.extensions import db


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def stats() -> dict[str, Any]:
    """Queue length, longest wait, doctors on shift, consultations in progress, and the
    median and 90th-percentile wait (seconds) of consultations taken in the last 24 h."""
    now = clock.now()
    waiting, oldest = db.session.execute(select(
        func.count(Consultation.id), func.min(Consultation.requested_at)
    ).where(Consultation.status == "waiting")).one()
    in_progress = db.session.scalar(select(func.count(Consultation.id)).where(
        Consultation.status == "active")) or 0
    waits = [(taken - requested).total_seconds() for requested, taken in db.session.execute(
        select(Consultation.requested_at, Consultation.taken_at).where(
            Consultation.taken_at >= now - timedelta(hours=24)))]
    return {
        "queue_length": waiting,
        "longest_wait_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        "doctors_on_shift": doctors_on_shift(),
        "in_progress": in_progress,
        "taken_last_24h": len(waits),
        "median_wait_seconds": _round(percentile(waits, 0.5)),
        "p90_wait_seconds": _round(percentile(waits, 0.9)),
        "at": now.isoformat(),
    }


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)
