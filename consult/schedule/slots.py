"""Free slots: each specialist's working hours for a day (Asia/Almaty wall-clock time),
changed by that date's exceptions, cut into the specialty's slot length, less what is
booked and what has begun. Three queries for any number of specialists and days."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import select

from accounts.models import User
from consult.models import Specialty
from consult.schedule.models import HOLDING, Appointment, AvailabilityException, WorkingHours
from core import clock
from core.extensions import db

Period = tuple[int, int]  # minutes from local midnight: [start, end)
HORIZON_DAYS = 14  # how far ahead the on-duty doctor books


class Slot(NamedTuple):
    """A free slot of one specialist (times in UTC); sorts by time, then specialist."""

    starts_at: datetime
    specialist_id: int
    ends_at: datetime


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _end_minutes(t: time) -> int:
    """An end time of 00:00 means midnight at the end of the day."""
    return _minutes(t) or 24 * 60


def subtract(periods: Iterable[Period], cut: Period) -> list[Period]:
    """``periods`` without the part inside ``cut``."""
    out: list[Period] = []
    for start, end in periods:
        if cut[1] <= start or cut[0] >= end:
            out.append((start, end))
            continue
        if start < cut[0]:
            out.append((start, cut[0]))
        if cut[1] < end:
            out.append((cut[1], end))
    return out


def day_periods(regular: Iterable[Period], exceptions: Iterable[Any]) -> list[Period]:
    """One day's working periods: the regular ones, less time off, plus extra work
    (``exceptions``: rows with ``kind``, ``starts`` and ``ends``)."""
    exceptions = list(exceptions)
    whole_day_off = any(e.kind == "off" and (e.starts is None or e.ends is None)
                        for e in exceptions)
    periods = [] if whole_day_off else sorted(regular)
    extra: list[Period] = []
    for exc in exceptions:  # in any order: a whole day off still keeps extra work
        if exc.starts is None or exc.ends is None:
            continue
        period = (_minutes(exc.starts), _end_minutes(exc.ends))
        if exc.kind == "off":
            periods = subtract(periods, period)
        else:
            extra.append(period)
    for period in extra:  # extra work first removes any overlap, then adds the period
        periods = subtract(periods, period) + [period]
    return sorted(periods)


def cut(periods: Iterable[Period], minutes: int) -> list[int]:
    """Slot starts (minutes from midnight) that fit whole inside the periods."""
    starts: list[int] = []
    for start, end in periods:
        at = start
        while at + minutes <= end:
            starts.append(at)
            at += minutes
    return starts


def lead_time() -> timedelta:
    """How far ahead the earliest bookable slot starts (``BOOKING_LEAD_MINUTES``; never
    less than a minute, so a slot that has begun is never offered)."""
    return timedelta(minutes=max(int(current_app.config["BOOKING_LEAD_MINUTES"]), 1))


def specialists_of(specialty: Specialty) -> list[int]:
    """The ids of the specialists of ``specialty`` (doctors with that specialty)."""
    return list(db.session.scalars(
        select(User.id).where(User.role == "doctor", User.specialty == specialty.code)
        .order_by(User.id)))


def free_slots(specialty: Specialty, first_day: date | None = None, days: int = HORIZON_DAYS,
               specialist_ids: list[int] | None = None) -> list[Slot]:
    """Free slots of the specialty's specialists (or only ``specialist_ids``) from
    ``first_day`` (today in Asia/Almaty) for ``days`` days, earliest first; a slot
    starting sooner than ``BOOKING_LEAD_MINUTES`` from now is left out (the patient
    needs time to read the booking and confirm it)."""
    zone = clock.zone()
    earliest = clock.now() + lead_time()
    first_day = first_day or clock.today()
    ids = specialists_of(specialty) if specialist_ids is None else specialist_ids
    if not ids:
        return []
    last_day = first_day + timedelta(days=days - 1)
    regular: dict[tuple[int, int], list[Period]] = defaultdict(list)
    for doctor_id, weekday, starts, ends in db.session.execute(
            select(WorkingHours.doctor_id, WorkingHours.weekday, WorkingHours.starts,
                   WorkingHours.ends).where(WorkingHours.doctor_id.in_(ids))):
        regular[(doctor_id, weekday)].append((_minutes(starts), _end_minutes(ends)))
    exceptions: dict[tuple[int, date], list[Any]] = defaultdict(list)
    for exc in db.session.execute(select(
            AvailabilityException.doctor_id, AvailabilityException.day,
            AvailabilityException.kind, AvailabilityException.starts,
            AvailabilityException.ends).where(
            AvailabilityException.doctor_id.in_(ids),
            AvailabilityException.day.between(first_day, last_day))):
        exceptions[(exc.doctor_id, exc.day)].append(exc)
    window_start = datetime.combine(first_day, time(), zone).astimezone(UTC)
    window_end = datetime.combine(last_day + timedelta(days=1), time(), zone).astimezone(UTC)
    taken = set(db.session.execute(
        select(Appointment.specialist_id, Appointment.starts_at).where(
            Appointment.specialist_id.in_(ids), Appointment.status.in_(HOLDING),
            Appointment.starts_at >= window_start, Appointment.starts_at < window_end)
    ).tuples())
    length = timedelta(minutes=specialty.slot_minutes)
    minute = [timedelta(minutes=m) for m in range(24 * 60 + 1)]
    slots: list[Slot] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        midnight = datetime.combine(day, time(), zone)
        # One UTC offset for the whole day (true in Kazakhstan, which keeps no summer
        # time); a day with a change converts each slot on its own.
        fixed = midnight.utcoffset() == (midnight + timedelta(days=1)).utcoffset()
        midnight_utc = midnight.astimezone(UTC)
        for doctor_id in ids:
            periods = day_periods(regular.get((doctor_id, day.weekday()), ()),
                                  exceptions.get((doctor_id, day), ()))
            for start in cut(periods, specialty.slot_minutes):
                starts_at = (midnight_utc + minute[start] if fixed
                             else (midnight + minute[start]).astimezone(UTC))
                if starts_at < earliest or (doctor_id, starts_at) in taken:
                    continue
                slots.append(Slot(starts_at, doctor_id, starts_at + length))
    slots.sort()
    return slots
