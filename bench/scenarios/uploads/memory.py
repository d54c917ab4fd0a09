"""Server memory during an upload under werkzeug in this process (tracemalloc on), and
each step of the PDF upload alone, with where the memory is."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.harness import ROOT
from bench.harness.procfs import status_kib
from bench.scenarios.uploads.client import Curl
from consult.documents import intake, vault
from core import storage


def _reset_hwm() -> None:
    """Reset the process's resident-set peak (VmHWM) to its current size."""
    Path("/proc/self/clear_refs").write_text("5")


def _trim() -> None:
    """Give freed heap back to the OS, so the resident set before a request is what is
    live and a request's growth shows in the peak (glibc keeps freed memory otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Probe:
    """WSGI middleware: the Python-heap peak and VmHWM the moment the app has produced
    its response, before the server does anything else with the connection (werkzeug's
    development server then reads the socket until the client is done, in 10 MB reads:
    see the docstring of :func:`measure_memory`)."""

    def __init__(self, app: Any):
        self.app = app
        self.py_peak = 0
        self.hwm = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> list[bytes]:
        response = self.app(environ, start_response)
        try:
            body = list(response)
        finally:
            if hasattr(response, "close"):
                response.close()
        if tracemalloc.is_tracing():
            self.py_peak = tracemalloc.get_traced_memory()[1]
        self.hwm = status_kib("VmHWM")
        return body


def measure_memory(curl: Curl, probe: Probe, path: Path, name: str, expect: int,
                   runs: int = 3) -> dict[str, Any]:
    """Peak growth (KiB) of the Python heap and of the resident set during uploads of
    ``path``, worst of ``runs`` after one warm-up: ``app_*`` until the app has answered
    (request parsing included), ``server_*`` until curl is done (the whole request under
    werkzeug's development server, whose post-response read of the socket
    ``rfile.read(10_000_000)`` allocates a 10 MB buffer whatever is left to read)."""
    curl.post(path, name, expect)  # warm-up: imports, caches, the first thread
    out: dict[str, list[float]] = {"app_py": [], "app_rss": [], "server_py": [],
                                   "server_rss": []}
    for _ in range(runs):
        _trim()
        time.sleep(0.2)
        before = tracemalloc.get_traced_memory()[0]
        rss_before = status_kib("VmRSS")
        tracemalloc.reset_peak()
        _reset_hwm()
        curl.post(path, name, expect)
        peak = tracemalloc.get_traced_memory()[1]
        hwm = status_kib("VmHWM")
        out["app_py"].append((probe.py_peak - before) / 1024)
        out["app_rss"].append(float(probe.hwm - rss_before))
        out["server_py"].append((peak - before) / 1024)
        out["server_rss"].append(float(hwm - rss_before))
    return {**{k: max(v) for k, v in out.items()}, "all": out}


def step_peaks(app: Any, pdf_path: Path) -> list[tuple[str, float, float]]:
    """Each step of the PDF upload alone, in this process: (step, Python peak KiB, RSS
    peak KiB) above the level before it."""
    cfg = app.config
    rows = []

    def peak_of(label: str, fn: Callable[[], Any]) -> Any:
        _trim()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        rss_before = status_kib("VmRSS")
        _reset_hwm()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        rows.append((label, (peak - before) / 1024, float(status_kib("VmHWM") - rss_before)))
        return result

    with app.test_request_context(), open(pdf_path, "rb") as f:
        for _ in range(2):  # the second round is the one kept (warm)
            rows.clear()
            prepared = peak_of("intake.prepare (PDF check, first-page thumbnail)",
                               lambda: intake.prepare(f, cfg["DOCUMENT_MAX_BYTES"],
                                                      cfg["DOCUMENT_MAX_PIXELS"],
                                                      cfg["DOCUMENT_MAX_PAGES"]))
            prepared.body.seek(0)
            key, _kid, _sha = peak_of("vault.put (SHA-256, seal, write, fsync)",
                                      lambda p=prepared: vault.put(p.body))
            vault.delete(key)
    return rows


def top_allocations(app: Any, pdf_path: Path, limit: int = 6) -> list[str]:
    """Where the memory is while vault.put is writing: a snapshot taken inside the
    store's write, at the moment a sealed segment is handed to it."""
    snaps: list[Any] = []
    original = storage.LocalDiskStore.put

    def put(self: Any, key: str, chunks: Any) -> int:
        def spy() -> Iterator[bytes]:
            for n, chunk in enumerate(chunks):
                if n == 3:
                    snaps.append(tracemalloc.take_snapshot())
                yield chunk
        return original(self, key, spy())

    storage.LocalDiskStore.put = put  # type: ignore[method-assign]
    try:
        with app.test_request_context(), open(pdf_path, "rb") as f:
            gc.collect()
            base = tracemalloc.take_snapshot()
            key, _kid, _sha = vault.put(f)
            vault.delete(key)
    finally:
        storage.LocalDiskStore.put = original  # type: ignore[method-assign]
    if not snaps:
        return []
    stats = snaps[0].compare_to(base, "lineno")
    return [f"{s.size_diff / 1024:,.0f} KiB in {s.count_diff} block(s): "
            f"{s.traceback[0].filename.replace(str(ROOT) + '/', '')}:{s.traceback[0].lineno}"
            for s in stats[:limit] if s.size_diff > 64 * 1024]
