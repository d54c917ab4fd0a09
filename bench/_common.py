"""Helpers shared by the benchmark scripts: logging, a fresh database per run, a free
port, and the machine's description for the figures."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout
    return {"nproc": nproc.strip() or str(os.cpu_count()), "cpu": model,
            "python": platform.python_version(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def stop_group(proc: subprocess.Popen[bytes], wait: float = 20) -> None:
    """SIGTERM the process group ``proc`` leads (started with ``start_new_session``),
    SIGKILL it if it has not exited after ``wait`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def tracebacks(err_path: Path, limit: int = 2) -> list[str]:
    """The first ``limit`` Python tracebacks in a server's stderr file, with context."""
    text = err_path.read_text(errors="replace")
    starts = [m.start() for m in re.finditer(r"Traceback \(most recent call last\)", text)]
    return [text[max(0, i - 300):i + 4000] for i in starts[:limit]]


def wait_until_up(proc: subprocess.Popen[bytes], port: int, name: str, err_path: Path,
                  seconds: float = 60) -> None:
    """Return once the server answers ``GET /api/v1/ping`` on 127.0.0.1:``port``; raise
    RuntimeError (with the end of its stderr) if it exits or takes over ``seconds``."""
    import requests

    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n"
                               f"{err_path.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"http://127.0.0.1:{port}/api/v1/ping", timeout=2).ok:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not answer /api/v1/ping within {seconds:g} s")
        time.sleep(0.2)
