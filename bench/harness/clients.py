"""HTTP load from client threads (one keep-alive ``requests.Session`` each), and what a
scenario's requests gave: latencies, errors, throughput."""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from bench.harness.stats import pct_ms

# Send request ``i`` from client thread ``k``: whether the answer is the expected one,
# its status and text (timed from the call to its return).
Send = Callable[[requests.Session, int, int], tuple[bool, int, str]]


@dataclass
class Result:
    server: str
    scenario: str
    count: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    truncated: bool = False
    cpu_ms: float = math.nan  # the server's CPU per request, where measured

    @property
    def mean(self) -> float:
        """Mean latency in milliseconds."""
        return sum(self.latencies) / len(self.latencies) * 1000 if self.latencies else math.nan

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def pct(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        return pct_ms(self.latencies, p)

    def note(self, text: str) -> None:
        """Count an unexpected answer; keep the first three."""
        self.errors += 1
        if len(self.samples) < 3:
            self.samples.append(text)


def drive(result: Result, send: Send, start: int, n: int, concurrency: int,
          max_seconds: float, sample_chars: int = 400,
          before: Callable[[requests.Session], None] | None = None) -> Result:
    """Send requests ``start .. start+n-1`` from ``concurrency`` threads for at most
    ``max_seconds``; ``before`` runs (untimed) before each request."""
    counter = itertools.count(start)
    lock = threading.Lock()
    stop_at = time.monotonic() + max_seconds

    def client(k: int) -> None:
        mine = Result(result.server, result.scenario)
        with requests.Session() as session:
            while time.monotonic() < stop_at:
                i = next(counter)
                if i >= start + n:
                    break
                if before is not None:
                    before(session)
                t0 = time.perf_counter()
                try:
                    ok, status, text = send(session, i, k)
                except requests.RequestException as exc:
                    ok, status, text = False, 0, f"{type(exc).__name__}: {exc}"
                mine.latencies.append(time.perf_counter() - t0)
                if not ok:
                    mine.note(f"HTTP {status}: {text[:sample_chars]}")
        with lock:
            result.latencies.extend(mine.latencies)
            result.errors += mine.errors
            result.samples.extend(mine.samples[: max(0, 3 - len(result.samples))])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(client, k) for k in range(concurrency)]:
            future.result()
    result.seconds = time.perf_counter() - t0
    result.count = len(result.latencies)
    result.truncated = result.count < n
    return result
