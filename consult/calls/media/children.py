"""Media workers as child processes of ``flask serve`` (the single-machine setup).

Each child is ``python -m consult.calls.media.worker --port 0 --parent-pid <ours>``: it picks
a free loopback port and prints its URL, and exits by itself if this process dies
without stopping it.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

from consult.calls.media.common import worker_environment

log = logging.getLogger(__name__)
START_SECONDS = 15


class Child:
    """A started worker process and the URL it listens at."""

    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url


def _read_url(process: subprocess.Popen[bytes], deadline: float) -> str | None:
    """The URL the worker prints once listening, or None if it exits or is too slow."""
    assert process.stdout is not None
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                return None  # the worker exited
            line += chunk
    try:
        return str(json.loads(line)["url"])
    except (ValueError, KeyError, TypeError):
        return None


# What a worker inherits from the web process: enough to run Python, nothing secret (not
# the database URL, SMTP or TURN credentials): it decodes media from strangers.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV",
             "PYTHONHASHSEED")


def process_environment() -> dict[str, str]:
    """The parts of this process's environment a worker needs to run."""
    return {key: os.environ[key] for key in INHERITED if key in os.environ}


def start_workers(config: Mapping[str, Any], count: int, host: str = "127.0.0.1"
                  ) -> list[Child]:
    """Start ``count`` workers listening on ``host``; those that fail to start within
    START_SECONDS are stopped and left out (the caller runs on without them)."""
    env = {**process_environment(), **worker_environment(config)}
    children = []
    for _ in range(count):
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "consult.calls.media.worker", "--host", host, "--port", "0",
             "--parent-pid", str(os.getpid())],
            env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        url = _read_url(process, time.monotonic() + START_SECONDS)
        if url is None:
            log.error("a media worker did not start (exit status %s)", process.poll())
            stop_workers([Child(process, "")])
            continue
        children.append(Child(process, url))
    return children


def stop_workers(children: list[Child], wait: float = 5) -> None:
    """Ask each worker to stop (SIGTERM), kill those still running after ``wait`` s."""
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + wait
    for child in children:
        try:
            child.process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
        if child.process.stdout is not None:
            child.process.stdout.close()
