"""Server-side sign-in sessions.

The signed Flask cookie carries only a random session id; the ``user_session`` row
decides whether it is still valid: not ended (sign-out, password change), not idle
longer than 15 minutes (staff) or 60 (patients), not older than 12 hours.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import Table, select, update

from accounts.models import User, UserSession
from core import clock
from core.crypto import digest
from core.db import request_is_writer, rowcount, separate_connection
from core.extensions import db

SID = "sid"
TOUCH_EVERY = timedelta(seconds=30)


def idle_limit(user: User) -> timedelta:
    minutes = current_app.config["STAFF_IDLE_MINUTES" if user.is_staff else "PATIENT_IDLE_MINUTES"]
    return timedelta(minutes=minutes)


def absolute_limit() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"])


def start(user: User) -> UserSession:
    """Sign ``user`` in with a brand-new session id (flushes)."""
    session.clear()
    token = secrets.token_urlsafe(32)
    now = clock.now()
    row = UserSession(user_id=user.id, token_hash=digest(token), created_at=now,
                      last_seen_at=now, ip=request.remote_addr,
                      user_agent=(request.user_agent.string or "")[:200])
    db.session.add(row)
    db.session.flush()
    session[SID] = token
    session.permanent = True
    login_user(user)
    return row


def current() -> UserSession | None:
    """The session row behind this request's cookie, if any."""
    token = session.get(SID)
    if not token:
        return None
    return db.session.scalar(select(UserSession).where(UserSession.token_hash == digest(token)))


def is_live(row: UserSession, user: User, now: datetime) -> bool:
    """Whether ``row`` still signs ``user`` in at ``now``."""
    return (row.user_id == user.id and row.ended_at is None
            and now - row.created_at < absolute_limit()
            and now - row.last_seen_at < idle_limit(user))


def validate(user: User) -> bool:
    """Check this request's session for ``user`` and note the activity."""
    row = current()
    now = clock.now()
    if row is None or not is_live(row, user, now):
        return False
    if now - row.last_seen_at >= TOUCH_EVERY:
        if request_is_writer():
            # This request holds the write lock already; the touch rides on its commit.
            row.last_seen_at = now
        else:
            # A reading request: its own short transaction, so the request's read
            # transaction never turns into a write (SQLite would refuse that upgrade).
            with separate_connection(db.engine) as conn:
                conn.execute(update(UserSession).where(UserSession.id == row.id)
                             .values(last_seen_at=now))
    return True


def touch_if_live(user_id: int, is_staff: bool) -> bool:
    """For long-lived connections (chat sockets): in one statement, check that this
    request's session is still live for ``user_id`` and note the activity. False when
    it ended, idled out or is too old."""
    token = session.get(SID)
    if not token:
        return False
    now = clock.now()
    idle = timedelta(minutes=current_app.config[
        "STAFF_IDLE_MINUTES" if is_staff else "PATIENT_IDLE_MINUTES"])
    table = UserSession.__table__
    assert isinstance(table, Table)  # a mapped class's __table__ is typed as any FromClause
    touched = db.session.connection().execute(
        update(table).where(table.c.token_hash == digest(token), table.c.user_id == user_id,
                            table.c.ended_at.is_(None),
                            table.c.created_at > now - absolute_limit(),
                            table.c.last_seen_at > now - idle)
        .values(last_seen_at=now))
    return touched.rowcount == 1


def end_current() -> None:
    """Sign out this browser: the session row ends, so a copied cookie stops working."""
    row = current()
    if row is not None and row.ended_at is None:
        row.ended_at = clock.now()
    logout_user()
    session.clear()


def end_all(user: User, keep: UserSession | None = None) -> int:
    """End every session of ``user`` except ``keep``; returns how many ended."""
    query = update(UserSession).where(UserSession.user_id == user.id,
                                      UserSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    return rowcount(db.session.execute(query.values(ended_at=clock.now()))) or 0


def active(user: User) -> list[UserSession]:
    """The user's sessions that would still be accepted now, newest first."""
    now = clock.now()
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    )
    return [r for r in rows if is_live(r, user, now)]
