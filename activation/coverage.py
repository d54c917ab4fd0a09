"""Coverage dates, as calendar dates in the business time zone.

Coverage starts ``WAITING_DAYS`` after the activation date and runs for twelve months:
from ``starts_on`` up to and including the day before its anniversary. When the
anniversary does not exist (a start on 29 February), it is 1 March, so the last
covered day is 28 February.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

WAITING_DAYS = 15


def anniversary(start: date) -> date:
    """The same day and month a year later; 1 March for 29 February."""
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # 29 February in a non-leap year
        return date(start.year + 1, 3, 1)


@dataclass(frozen=True)
class Coverage:
    activated_on: date
    starts_on: date
    ends_on: date  # last covered day, inclusive


def coverage_for(activated_on: date, current_end: date | None = None) -> Coverage:
    """Coverage for an activation on ``activated_on``.

    ``current_end`` is the last day of a coverage of the same insured and product that
    has not ended yet: the new one then starts the next day, with no waiting period.
    """
    if current_end is not None and current_end >= activated_on:
        starts = current_end + timedelta(days=1)
    else:
        starts = activated_on + timedelta(days=WAITING_DAYS)
    return Coverage(activated_on, starts, anniversary(starts) - timedelta(days=1))


def age_on(birth: date, on: date) -> int:
    """Full years of age on ``on`` (a person born 29 February ages on 1 March)."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def status_on(starts_on: date, ends_on: date, today: date) -> str:
    """``waiting`` before coverage starts, ``active`` within it, ``expired`` after."""
    if today < starts_on:
        return "waiting"
    if today <= ends_on:
        return "active"
    return "expired"
