"""Words the consultation pages show (Jinja globals, registered by :mod:`consult.wiring`):
statuses, payments, coverage, call events of the timeline, waits."""

from __future__ import annotations

from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _

from consult import payments
from consult.coverage import CoverageDecision


def coverage_label(decision: CoverageDecision) -> str:
    """How the consultation would be paid, in words."""
    if decision.kind == "covered":
        return _("Covered by policy № %(number)s, active until %(date)s",
                 number=decision.policy_number, date=_date(decision.until))
    return _("Self-pay: waiting period until %(date)s; %(price)s ₸ per consultation",
             date=_date(decision.until), price=payments.money(decision.price))


def status_label(status: str) -> str:
    """A consultation's status in words."""
    return {
        "waiting": _("Waiting for a doctor"), "scheduled": _("Booked"),
        "active": _("In progress"),
        "closed": _("Closed"), "cancelled": _("Cancelled"),
    }.get(status, status)


def call_event_text(event: dict[str, Any]) -> str:
    """A call event of the chat timeline in words (the page's call.js says the same)."""
    if event.get("event") == "started":
        return _("Video call started") if event.get("kind") == "video" else _(
            "Audio call started")
    if event.get("event") == "ended":
        seconds = int(event.get("duration") or 0)
        return _("Call ended · {duration}").replace("{duration}",
                                                    f"{seconds // 60}:{seconds % 60:02d}")
    if event.get("event") == "declined":
        return _("Call declined")
    return _("Missed call")


def payment_label(status: str) -> str:
    """A payment's status in words."""
    return {
        "paid": _("paid"), "refunded": _("refunded"), "declined": _("declined"),
        "not_required": _("not required"),
        "pending": _("charged when the appointment is confirmed"),
        "refund_failed": _("paid; being returned by the contact centre"),
    }.get(status, status)


def duration_label(seconds: int | None) -> str:
    """A wait in words ("0 min 28 s", "1 h 5 min"); operator.js says the same with the
    page's translated patterns."""
    if seconds is None:
        return "—"
    minutes = int(seconds) // 60
    if minutes >= 60:
        return _("{h} h {min} min").replace("{h}", str(minutes // 60)).replace(
            "{min}", str(minutes % 60))
    return _("{min} min {sec} s").replace("{min}", str(minutes)).replace(
        "{sec}", str(int(seconds) % 60))


def _date(value: Any) -> str:
    return format_date(value, "long")
