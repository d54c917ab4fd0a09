"""The audit log: who did what, when, from where; append-only and hash-chained.

Each entry's hash covers its own content and the previous entry's hash, and a one-row
head remembers the newest entry, so :func:`verify` finds an edited entry, a deleted
one in the middle, and deleted newest entries. Database triggers (installed by the
migration, see :data:`APPEND_ONLY_DDL`) refuse UPDATE and DELETE on the entries.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import has_request_context, request
from sqlalchemy import JSON, Connection, Engine, Integer, String, bindparam, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock
from core.db import (
    UTCDateTime,
    insert_ignoring_conflicts,
    request_is_writer,
    rowcount,
    separate_session,
)
from core.extensions import Model, db

GENESIS = "0" * 64
HEAD_ID = 1

ACTIONS = (
    "auth.sign_in",
    "auth.sign_in_failed",
    "auth.sign_out",
    "auth.password_changed",
    "auth.password_reset",
    "auth.totp_enabled",
    "auth.totp_disabled",
    "auth.recovery_code_used",
    "auth.email_changed",
    "auth.sessions_ended",
    "staff.created",
    "staff.role_changed",
    "staff.profile_changed",
    "patient.record_viewed",
    "consultation.history_viewed",
    "call.recording_played",
    "document.uploaded",
    "document.viewed",
    "document.downloaded",
    "document.reviewed",
    "document.deleted",
    "specialty.saved",
    "availability.added",
    "availability.removed",
)


class AuditEntry(Model):
    """One thing that happened. Never updated or deleted."""

    __tablename__ = "audit_entry"

    # Assigned by :func:`append` as head + 1 (not by a sequence): ids have no gaps.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # No foreign key: the log outlives the accounts it names.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_email: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Model):
    """The newest entry (one row, id 1): so that deleting the newest entries shows."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class Actor(Protocol):
    id: int
    email: str


def entry_hash(prev_hash: str, entry_id: int, at: datetime, actor_id: int | None,
               actor_email: str | None, action: str, subject: str | None,
               details: dict[str, Any], ip: str | None) -> str:
    """SHA-256 (hex) of ``prev_hash`` followed by the canonical JSON of the content."""
    content = json.dumps(
        [entry_id, at.astimezone(UTC).isoformat(), actor_id, actor_email, action, subject,
         details, ip],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length]


def append(action: str, *, actor: Actor | None = None, subject: str | None = None,
           details: dict[str, Any] | None = None, ip: str | None = None) -> AuditEntry:
    """Add an entry at the end of the chain and return it (flushed, not committed).

    ``ip`` defaults to the request's remote address. ``details`` must be JSON data.
    Appends are serialised on the head row, so the chain has one order.
    """
    return _append(db.session(), action, actor, subject, details, ip)


def append_now(action: str, *, actor: Actor | None = None, subject: str | None = None,
               details: dict[str, Any] | None = None, ip: str | None = None) -> AuditEntry:
    """Like :func:`append`, but in a transaction of its own, committed before it returns.

    For GET requests (a record was viewed): their transaction reads, and on SQLite a
    reader that later writes fails if another writer committed in between. In a
    writing request (POST…), which already holds the write lock, a second connection
    would wait for it forever: there the entry joins the request's own transaction.
    """
    if request_is_writer():
        return _append(db.session(), action, actor, subject, details, ip)
    with separate_session(db.engine) as session:
        entry = _append(session, action, actor, subject, details, ip)
        session.commit()
    return entry


# The newest (id, hash) each engine's process has seen. An append first tries to move
# the head from that value with one conditional UPDATE (which also locks the row), so
# the common case is two statements; if another process moved the head meanwhile, or
# a transaction rolled back, the UPDATE matches nothing and the head is read afresh.
_head_cache: weakref.WeakKeyDictionary[Engine | Connection, tuple[int, str]] = (
    weakref.WeakKeyDictionary())
_cache_lock = threading.Lock()
_MOVE_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == HEAD_ID, AuditHead.last_id == bindparam("seen_id"),
           AuditHead.last_hash == bindparam("seen_hash"))
    .values(last_id=bindparam("new_id"), last_hash=bindparam("new_hash"))
    .execution_options(synchronize_session=False)
)


def _append(session: Session, action: str, actor: Actor | None, subject: str | None,
            details: dict[str, Any] | None, ip: str | None) -> AuditEntry:
    if not action or len(action) > 64:
        raise ValueError("an audit action is 1 to 64 characters")
    if ip is None and has_request_context():
        ip = request.remote_addr
    # Hash what will be read back: a JSON round trip turns tuples into lists and so on.
    content = json.loads(json.dumps(details or {}))
    engine = session.get_bind()
    with _cache_lock:
        cached = _head_cache.get(engine)
    at = clock.now()
    actor_id = actor.id if actor is not None else None
    actor_email = _clip(actor.email if actor is not None else None, 254)
    subject, ip = _clip(subject, 200), _clip(ip, 45)

    def chained(last_id: int, last_hash: str) -> AuditEntry:
        entry = AuditEntry(id=last_id + 1, at=at, action=action, actor_id=actor_id,
                           actor_email=actor_email, subject=subject, details=content, ip=ip,
                           prev_hash=last_hash)
        entry.hash = entry_hash(last_hash, entry.id, at, actor_id, actor_email, action,
                                subject, content, ip)
        return entry

    entry = None
    if cached is not None:
        entry = chained(*cached)
        moved = rowcount(session.execute(_MOVE_HEAD, {
            "seen_id": cached[0], "seen_hash": cached[1],
            "new_id": entry.id, "new_hash": entry.hash}))
        if moved != 1:
            entry = None
    if entry is None:
        head = _locked_head(session)
        entry = chained(head.last_id, head.last_hash)
        head.last_id, head.last_hash = entry.id, entry.hash
    session.add(entry)
    session.flush()
    with _cache_lock:
        _head_cache[engine] = (entry.id, entry.hash)
    return entry


def _locked_head(session: Session) -> AuditHead:
    """The head row, locked until the transaction ends (created on first use)."""
    query = (select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
             .execution_options(populate_existing=True))
    head = session.scalars(query).first()
    if head is not None:
        return head
    # Two first appends at once: one inserts the head, the other waits on its lock.
    session.execute(insert_ignoring_conflicts(
        session, AuditHead, {"id": HEAD_ID, "last_id": 0, "last_hash": GENESIS}, [AuditHead.id]))
    return session.scalars(query).one()


@dataclass
class Verification:
    entries: int = 0
    problems: list[str] = field(default_factory=list)


def check(batch: int = 1000) -> Verification:
    """Walk the whole chain (streamed) and list every sign of an edit or deletion."""
    result = Verification()
    # The head first: entries appended while we read are then newer than it, not missing.
    head = db.session.execute(select(AuditHead.last_id, AuditHead.last_hash)
                              .where(AuditHead.id == HEAD_ID)).first()
    columns = [AuditEntry.id, AuditEntry.at, AuditEntry.actor_id, AuditEntry.actor_email,
               AuditEntry.action, AuditEntry.subject, AuditEntry.details, AuditEntry.ip,
               AuditEntry.prev_hash, AuditEntry.hash]
    rows = db.session.execute(select(*columns).order_by(AuditEntry.id)
                              .execution_options(yield_per=batch))
    problems = result.problems
    prev_id, prev_hash = 0, GENESIS
    head_entry_hash: str | None = None
    for row in rows:
        result.entries += 1
        if row.id != prev_id + 1:
            missing = (f"entry {prev_id + 1}" if row.id == prev_id + 2
                       else f"entries {prev_id + 1} to {row.id - 1}")
            problems.append(f"{missing}: missing (deleted)")
        if row.prev_hash != prev_hash:
            before = f"entry {prev_id}" if prev_id else "the start of the log"
            problems.append(f"entry {row.id}: previous hash does not match {before} "
                            f"(an entry before it was deleted or edited)")
        recomputed = entry_hash(row.prev_hash, row.id, row.at, row.actor_id, row.actor_email,
                                row.action, row.subject, row.details or {}, row.ip)
        if recomputed != row.hash:
            problems.append(f"entry {row.id}: content does not match its hash (edited)")
        if head is not None and row.id == head.last_id:
            head_entry_hash = row.hash
        prev_id, prev_hash = row.id, row.hash
    rows.close()
    if head is None:
        if result.entries:
            problems.append(f"head: missing, but the log has {result.entries} entries "
                            f"(the head was deleted)")
    elif head.last_id > prev_id:
        problems.append(f"head: last entry is {prev_id} but the head says {head.last_id} "
                        f"(the newest entries were deleted)")
    elif head.last_id and head_entry_hash is None:
        problems.append(f"head: entry {head.last_id} named by the head is missing (deleted)")
    elif head.last_id and head_entry_hash != head.last_hash:
        problems.append(f"head: entry {head.last_id} does not match the hash the head "
                        f"recorded (edited and re-hashed)")
    return result


def verify() -> list[str]:
    """Problems found in the chain, in id order; empty when the log is intact."""
    return check().problems


_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only';
END;
$$
"""

APPEND_ONLY_DDL: dict[str, list[str]] = {
    "sqlite": [
        "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",
        "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",
    ],
    "postgresql": [
        _PG_FUNCTION,
        "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
        "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
        # TRUNCATE skips row triggers.
        "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()",
    ],
}

DROP_APPEND_ONLY_DDL: dict[str, list[str]] = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS audit_entry_no_update",
        "DROP TRIGGER IF EXISTS audit_entry_no_delete",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry",
        "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry",
        "DROP FUNCTION IF EXISTS audit_entry_append_only()",
    ],
}


def install_append_only(connection: Connection) -> None:
    """Create the triggers refusing UPDATE and DELETE on ``audit_entry`` (migrations)."""
    for statement in APPEND_ONLY_DDL[connection.dialect.name]:
        connection.exec_driver_sql(statement)


def remove_append_only(connection: Connection) -> None:
    """Drop those triggers (migration downgrade)."""
    for statement in DROP_APPEND_ONLY_DDL[connection.dialect.name]:
        connection.exec_driver_sql(statement)
