"""Database kernel: the declarative base, column types, engine tuning and SQLite's
single writer (the only module that knows about it).

Services flush; the one commit of a request, CLI command or socket event happens in
:mod:`core.unit`.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from flask import has_request_context, request
from sqlalchemy import Connection, CursorResult, DateTime, Engine, MetaData, Result, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime, stored naive UTC so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("immediate", default=False)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITER_WAIT_SECONDS = 30.0


@contextmanager
def writing() -> Iterator[None]:
    """Outside a request (CLI, background threads): start SQLite transactions as writers."""
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


@contextmanager
def separate_session(engine: Engine) -> Iterator[Session]:
    """A session of its own, beside the request's, that begins as a writer: for writes
    that must not wait for (or be undone with) the request's transaction, such as an
    audit entry on a GET. The caller commits it."""
    with writing(), Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def separate_connection(engine: Engine) -> Iterator[Connection]:
    """A connection of its own in a writing transaction, committed when the block ends."""
    with writing(), engine.begin() as conn:
        yield conn


def request_is_writer() -> bool:
    """True inside a request that may write (POST and the like) or inside
    :func:`writing` (socket events, CLI): on SQLite that transaction holds the write
    lock from its first statement, so a second connection of the same thread must not
    try to write; extra writes join the transaction instead."""
    return _immediate.get() or (has_request_context() and request.method not in SAFE_METHODS)


def _wants_immediate() -> bool:
    return request_is_writer()


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through a session matched. The session types
    what it returns as a plain ``Result``; for those statements it is a ``CursorResult``."""
    return cast(CursorResult[Any], result).rowcount


def insert_ignoring_conflicts(
    session: Session, model: type[Base], values: dict[str, Any], index_elements: list[Any],
) -> postgresql.Insert | sqlite.Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` for PostgreSQL and SQLite; the caller adds
    ``.returning(...)`` if it needs the new row's columns. ``index_elements`` are mapped
    attributes, which SQLAlchemy's types do not list though it takes them."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).values(**values).on_conflict_do_nothing(index_elements=index_elements)


def tune_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for writers.

    A transaction that reads and then writes fails at once in SQLite if another
    writer committed in between. Requests that may write (POST and the like) and
    code inside :func:`writing` therefore take the write lock when they begin; GET
    requests read without blocking. Writers of this process also queue on a Python
    lock first: SQLite's own busy handler sleeps in steps of up to 100 ms, which
    left threads idle while the lock was free (a p99 of seconds under load).
    """
    if engine.dialect.name != "sqlite":
        return
    gate = threading.Lock()

    def _release(info: dict[str, Any]) -> None:
        if info.pop("writer_gate", False):
            gate.release()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not _wants_immediate():
            conn.exec_driver_sql("BEGIN")
            return
        if not gate.acquire(timeout=WRITER_WAIT_SECONDS):
            raise TimeoutError("waited too long for the SQLite write lock")
        conn.info["writer_gate"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn.info)
            raise

    # These events fire before SQLAlchemy's own COMMIT/ROLLBACK: end the transaction
    # here so the gate opens only once SQLite's lock is free (the later call is a no-op).
    @event.listens_for(engine, "commit")
    def _on_commit(conn: Any) -> None:
        if conn.info.get("writer_gate"):
            conn.connection.dbapi_connection.commit()
            _release(conn.info)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn: Any) -> None:
        if conn.info.get("writer_gate"):
            conn.connection.dbapi_connection.rollback()
            _release(conn.info)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        _release(record.info)  # a connection returned mid-transaction must not keep it


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Alembic hook: write :class:`UTCDateTime` columns as plain ``sa.DateTime()``."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False
