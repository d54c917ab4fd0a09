"""A fresh database per run (a SQLite file, or a uniquely named PostgreSQL database that
is dropped afterwards), and its schema from the app's migrations."""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import log
from bench.harness.servers import flask, run_timed


@contextlib.contextmanager
def fresh_database(kind: str, tmp: Path, pg_url: str, prefix: str = "pd_bench"
                   ) -> Iterator[tuple[str, str]]:
    """Yield ``(DATABASE_URL, description)`` of an empty database, removed afterwards."""
    if kind == "sqlite":
        path = tmp / "bench.sqlite"
        yield f"sqlite:///{path}", f"SQLite {sqlite3.sqlite_version} (file, WAL)"
        return
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(pg_url, autocommit=True, connect_timeout=10) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    log(f"created PostgreSQL database {name}")
    parts = urlsplit(pg_url)
    try:
        yield parts._replace(path=f"/{name}").geturl(), f"PostgreSQL {version}"
    finally:
        with psycopg.connect(pg_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))
        log(f"dropped PostgreSQL database {name}")


def upgrade(env: dict[str, str], description: str) -> float:
    """``flask db upgrade`` on the database of ``env``; returns the seconds it took."""
    seconds, _ = run_timed(flask("db", "upgrade"), env, 180)
    log(f"flask db upgrade: {seconds:.2f}s ({description})")
    return seconds
