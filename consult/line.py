"""The on-duty line: where each waiting consultation stands, about how long it may wait,
and how many doctors who can take it are on shift. What the waiting room, the
account page and the live ``position`` updates (:mod:`consult.realtime`) show."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from accounts.models import User
from consult.models import Consultation, DutyShift
from core import clock
from core.extensions import db

ETA_WINDOW = timedelta(hours=2)


def waiting_line(product: str) -> list[int]:
    """Ids of the waiting consultations of one product, first in line first (red-flag
    ones ahead, as the doctors' queue shows them)."""
    return list(db.session.scalars(
        select(Consultation.id).where(Consultation.status == "waiting",
                                      Consultation.product == product)
        .order_by(Consultation.red_flag.desc(), Consultation.requested_at, Consultation.id)))


def doctors_on_shift(product: str | None = None) -> int:
    """How many doctors are on shift (who can take ``product``, when given)."""
    query = (select(func.count(DutyShift.id)).join(User, User.id == DutyShift.doctor_id)
             .where(DutyShift.ended_at.is_(None)))
    if product == "child_doctor":
        query = query.where(User.pediatric.is_(True))
    return db.session.scalar(query) or 0


def line_info(product: str) -> list[dict[str, Any]]:
    """For every waiting consultation of ``product``, in line order: its place, the
    estimated wait and how many doctors who can take it are on shift."""
    line = waiting_line(product)
    on_shift = doctors_on_shift(product)
    now = clock.now()
    waits = [taken - requested for requested, taken in db.session.execute(
        select(Consultation.requested_at, Consultation.taken_at).where(
            Consultation.product == product, Consultation.taken_at >= now - ETA_WINDOW))]
    return [{"consultation": cid, "status": "waiting", "position": n,
             "eta_minutes": _eta_minutes(waits, n), "doctors_on_shift": on_shift}
            for n, cid in enumerate(line, start=1)]


def _eta_minutes(recent_waits: list[timedelta], position: int) -> int | None:
    """Position ÷ take-up rate when the last two hours saw several take-ups, otherwise
    the median wait × position; None with nothing recent to go on."""
    if not recent_waits:
        return None
    if len(recent_waits) >= 3:
        eta = ETA_WINDOW * position / len(recent_waits)
    else:
        # typeshed allows numbers only; the median of timedeltas works.
        eta = statistics.median(recent_waits) * position  # type: ignore[type-var]
    return max(1, round(eta.total_seconds() / 60))


def wait_info(consultation: Consultation) -> dict[str, Any]:
    """The waiting patient's place in line, estimated wait and whether anyone is on duty."""
    for info in line_info(consultation.product):
        if info["consultation"] == consultation.id:
            return info
    return {"consultation": consultation.id, "status": consultation.status, "position": 0,
            "eta_minutes": None,
            "doctors_on_shift": doctors_on_shift(consultation.product)}
