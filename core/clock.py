"""The one clock of the application.

Business time comes from :func:`now` (aware, UTC). Tests move it with :func:`freeze`
or :func:`shift`; nothing else reads ``datetime.now()``.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

_lock = threading.Lock()
_frozen: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    """Current business time as an aware UTC datetime."""
    with _lock:
        if _frozen is not None:
            return _frozen
        return datetime.now(UTC) + _offset


def freeze(at: datetime) -> None:
    """Stop the clock at ``at`` (aware) until :func:`reset`."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    with _lock:
        _frozen = at.astimezone(UTC)


def shift(delta: timedelta) -> None:
    """Move the clock by ``delta`` (frozen or running)."""
    global _frozen, _offset
    with _lock:
        if _frozen is not None:
            _frozen = _frozen + delta
        else:
            _offset += delta


def reset() -> None:
    """Return to real time."""
    global _frozen, _offset
    with _lock:
        _frozen = None
        _offset = timedelta(0)


def zone() -> ZoneInfo:
    """The business time zone (``TIMEZONE`` setting, Asia/Almaty by default)."""
    name = current_app.config["TIMEZONE"] if has_app_context() else "Asia/Almaty"
    return ZoneInfo(name)


def local(dt: datetime) -> datetime:
    """``dt`` expressed in the business time zone."""
    return dt.astimezone(zone())


def today() -> date:
    """Today's calendar date in the business time zone."""
    return local(now()).date()
