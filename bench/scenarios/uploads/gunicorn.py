"""The app under gunicorn's gevent worker (one, as deployed), with hooks that trace
each request's memory while a switch file exists."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.harness import ROOT, log
from bench.harness.servers import free_port, gunicorn, running, tracebacks
from bench.scenarios.uploads.app import GUNICORN_TARGET
from bench.scenarios.uploads.client import Curl

# gunicorn hooks (written to a file for ``-c``): while the file TRACE exists, each
# request runs under tracemalloc, started just before it (so the traced figure is what
# the request allocated and still held at its peak) and stopped just after; with the
# resident-set peak (VmHWM, reset before the request) one JSON line per request.
HOOKS = """
import ctypes, gc, json, os, re, time, tracemalloc
LOG, TRACE = {log!r}, {trace!r}

def _kib(field):
    m = re.search(r"^%s:\\s+(\\d+) kB" % field, open("/proc/self/status").read(), re.M)
    return int(m.group(1)) if m else 0

def pre_request(worker, req):
    req.bench = None
    if not os.path.exists(TRACE):
        return
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    rss = _kib("VmRSS")
    open("/proc/self/clear_refs", "w").write("5")
    tracemalloc.start()
    req.bench = rss

def post_request(worker, req, environ, resp):
    if req.bench is None:
        return
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    line = {{"method": req.method, "path": req.path, "status": str(resp.status),
             "py_kib": peak / 1024, "rss_kib": _kib("VmHWM") - req.bench}}
    with open(LOG, "a") as f:
        f.write(json.dumps(line) + "\\n")
"""


@contextlib.contextmanager
def traced_gunicorn(tmp: Path, body_chunk: int = 0) -> Iterator[tuple[str, Path, Path]]:
    """Yields the server's base URL, the hooks' log and the trace switch file."""
    log_path, trace = tmp / "gunicorn_memory.jsonl", tmp / "trace.on"
    conf = tmp / "gunicorn_conf.py"
    # The repository's gunicorn.conf.py first (as deployed), then the hooks.
    text = (ROOT / "gunicorn.conf.py").read_text() + "\n" + HOOKS.format(
        log=str(log_path), trace=str(trace))
    if body_chunk:
        text += ("from gunicorn.http.unreader import SocketUnreader\n"
                 f"SocketUnreader.max_body_chunk = {body_chunk}\n")
    conf.write_text(text)
    port = free_port()
    argv = gunicorn(port, "-k", "gevent", "-w", "1", "--graceful-timeout", "5",
                    then=["-c", str(conf), GUNICORN_TARGET])
    try:
        with running("gunicorn", argv, port, tmp) as server:
            yield server.base, log_path, trace
    finally:
        for tb in tracebacks(tmp / "gunicorn.stderr"):
            log(f"gunicorn traceback:\n{tb}")


def measure_gunicorn_memory(curl: Curl, log_path: Path, trace: Path, path: Path, name: str,
                            expect: int, runs: int = 3, url_path: str = "/documents/"
                            ) -> dict[str, Any]:
    """Worst of ``runs`` uploads (after a warm-up) as the worker's hooks saw them."""
    url = curl.base + url_path
    curl.post(path, name, expect, url=url)
    trace.touch()
    log_path.unlink(missing_ok=True)
    try:
        for _ in range(runs):
            curl.post(path, name, expect, url=url)
    finally:
        trace.unlink()
    lines = [json.loads(x) for x in log_path.read_text().splitlines()]
    lines = [x for x in lines if x["method"] == "POST" and x["path"] == url_path]
    py, rss = [x["py_kib"] for x in lines], [float(x["rss_kib"]) for x in lines]
    return {"py": max(py), "rss": max(rss), "all": {"py": py, "rss": rss}}
