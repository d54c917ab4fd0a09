"""Servers in their own process group on 127.0.0.1: command lines (gunicorn, ``flask``),
start, wait for ``GET /api/v1/ping``, stop; and what they logged."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.harness import ROOT, log
from bench.harness.app import FLASK_APP, WSGI
from bench.harness.procfs import children

BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin" / "gunicorn").exists() \
    else Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@functools.cache
def _no_control_socket() -> tuple[str, ...]:
    # gunicorn >= 24 otherwise listens on ~/.gunicorn/gunicorn.ctl, shared with any other
    # gunicorn of the same user.
    out = subprocess.run([str(BIN / "gunicorn"), "--help"], capture_output=True, text=True,
                         timeout=60, check=False).stdout
    return ("--no-control-socket",) if "--no-control-socket" in out else ()


def gunicorn(port: int, *options: str, then: Sequence[str] = (WSGI,)) -> list[str]:
    """``gunicorn OPTIONS -b 127.0.0.1:PORT [--no-control-socket] THEN``."""
    return [str(BIN / "gunicorn"), *options, "-b", f"127.0.0.1:{port}", *_no_control_socket(),
            *then]


def flask(*args: str) -> list[str]:
    return [str(BIN / "flask"), "--app", FLASK_APP, *args]


def shown(argv: list[str]) -> str:
    """``argv`` as the docs show it: from the repository root, any port as PORT."""
    return (shlex.join(argv).replace(str(BIN) + "/", ".venv/bin/")
            .replace("127.0.0.1:0", "127.0.0.1:PORT").replace("--port 0", "--port PORT"))


def run_timed(argv: list[str], env: dict[str, str], timeout: float) -> tuple[float, str]:
    """Run ``argv`` from the repository root; its wall time and stdout; raise if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({proc.returncode}):\n"
                           f"{proc.stdout}\n{proc.stderr}")
    return elapsed, proc.stdout.strip()


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    err_path: Path
    worker: int | None = None  # the only worker's pid, when asked for

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start(name: str, argv: list[str], port: int, logs: Path, env: dict[str, str] | None = None,
          one_worker: bool = False) -> Server:
    """Start ``argv`` in its own process group (output in ``logs``); return once it answers
    ``/api/v1/ping`` (and, with ``one_worker``, has exactly one child); stop it and raise
    if it exits or takes over a minute."""
    err_path = logs / f"{name}.stderr"
    with open(logs / f"{name}.stdout", "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(name, proc, port, err_path)
    try:
        server.worker = wait_until_up(server, one_worker)
    except BaseException:
        stop_group(proc)
        raise
    log(f"{name} is up on 127.0.0.1:{port} (pid {proc.pid}"
        + (f", worker {server.worker})" if server.worker else ")"))
    return server


def wait_until_up(server: Server, one_worker: bool = False, seconds: float = 60) -> int | None:
    """Wait for ``GET /api/v1/ping`` to answer (and for a single worker process); return
    the worker's pid when ``one_worker``."""
    import requests

    proc, deadline = server.proc, time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {proc.returncode}:\n"
                               f"{server.err_path.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{server.base}/api/v1/ping", timeout=2).ok:
                kids = children(proc.pid) if one_worker else []
                if not one_worker or len(kids) == 1:
                    return kids[0] if kids else None
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} did not answer /api/v1/ping within {seconds:g} s")
        time.sleep(0.2)


def stop_group(proc: subprocess.Popen[bytes], wait: float = 20) -> None:
    """SIGTERM the process group ``proc`` leads, SIGKILL it after ``wait`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def running(name: str, argv: list[str], port: int, logs: Path,
            env: dict[str, str] | None = None, one_worker: bool = False,
            stop_wait: float = 20) -> Iterator[Server]:
    """A started server (see :func:`start`), always stopped afterwards."""
    server = start(name, argv, port, logs, env, one_worker)
    try:
        yield server
    finally:
        stop_group(server.proc, wait=stop_wait)
        log(f"{name} stopped")


@contextlib.contextmanager
def running_all(specs: list[tuple[str, list[str], int]], logs: Path, env: dict[str, str],
                one_worker: bool = False) -> Iterator[list[Server]]:
    """Several servers ``(name, argv, port)``; at the end all are asked to stop at once,
    then waited for."""
    servers: list[Server] = []
    try:
        for name, argv, port in specs:
            servers.append(start(name, argv, port, logs, env, one_worker))
        yield servers
    finally:
        for s in servers:
            if s.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(s.proc.pid, signal.SIGTERM)
        for s in servers:
            stop_group(s.proc)


def tracebacks(err_path: Path, limit: int = 2) -> list[str]:
    """The first ``limit`` Python tracebacks in a server's stderr file, with context."""
    if not err_path.exists():
        return []
    text = err_path.read_text(errors="replace")
    starts = [m.start() for m in re.finditer(r"Traceback \(most recent call last\)", text)]
    return [text[max(0, i - 300):i + 4000] for i in starts[:limit]]
