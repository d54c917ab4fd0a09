"""One step of the media benchmark: N tests (or recorded calls) at once from the client
process, the worker's CPU over the window where all are live."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request
from typing import Any

from bench.harness import ROOT
from bench.harness.procfs import cpu_seconds

SCRIPT = ROOT / "bench" / "calls_media.py"  # its hidden --client option runs the load


def _request(url: str, token: str, path: str, body: dict[str, Any] | None = None,
             timeout: float = 5) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (loopback worker)
        url + path, data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as r:  # noqa: S310
        return json.loads(r.read())


def worker_health(url: str, token: str) -> dict[str, Any]:
    return _request(url, token, "/health")


def finish_recording(url: str, token: str, key: str) -> dict[str, Any]:
    return _request(url, token, "/record/finish", {"recording": key}, timeout=60)


def record_step(n: int, args: argparse.Namespace, url: str, token: str, pid: int
                ) -> dict[str, Any]:
    """N recorded calls at once: the worker's CPU while they record, then the CPU and
    time to store (encode the tail, encrypt, write) each recording."""
    settle = 4.0
    first = 1000 * n
    client = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--client", str(n), "--record", "--first", str(first),
         "--url", url, "--token", token, "--seconds", str(settle + args.duration)],
        stdout=subprocess.PIPE, text=True)
    time.sleep(settle)
    live = worker_health(url, token)["sessions"]
    w0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(args.duration)
    w1, t1 = cpu_seconds(pid), time.monotonic()
    out, _ = client.communicate(timeout=args.duration + 60)
    result = json.loads(out.strip().splitlines()[-1])
    f0, s0 = cpu_seconds(pid), time.monotonic()
    stored = [finish_recording(url, token, str(first + i)) for i in range(n)]
    f1, s1 = cpu_seconds(pid), time.monotonic()
    return {"n": n, "live": live, "worker_pct": 100 * (w1 - w0) / (t1 - t0),
            "store_cpu_ms": 1000 * (f1 - f0) / n, "store_ms": 1000 * (s1 - s0) / n,
            "durations": [r["duration"] for r in stored],
            "bytes": [r["size"] for r in stored],
            "all_connected": all(result["connected"])}


def step(n: int, args: argparse.Namespace, url: str, token: str, pid: int) -> dict[str, Any]:
    """Run N concurrent tests; the worker's CPU over the window where all N are live."""
    settle = 6.0  # connect, and let the encoders reach their steady rate
    total = settle + args.duration + 2
    client = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--client", str(n), "--url", url, "--token", token,
         "--seconds", str(total), "--width", str(args.width), "--height", str(args.height),
         "--fps", str(args.fps)], stdout=subprocess.PIPE, text=True)
    time.sleep(settle)
    live = worker_health(url, token)["sessions"]
    w0, t0 = cpu_seconds(pid), time.monotonic()
    c0 = cpu_seconds(client.pid)
    time.sleep(args.duration)
    w1, t1 = cpu_seconds(pid), time.monotonic()
    c1 = cpu_seconds(client.pid)
    out, _ = client.communicate(timeout=total + 60)
    result = json.loads(out.strip().splitlines()[-1])
    window = t1 - t0
    echo_fps = [v / result["wall"] for v in result["video"]]
    return {"n": n, "live": live, "worker_pct": 100 * (w1 - w0) / window,
            "client_pct": 100 * (c1 - c0) / window,
            "echo_fps_min": min(echo_fps), "echo_fps_mean": sum(echo_fps) / len(echo_fps),
            "audio_min": min(result["audio"]),
            "all_connected": all(c is not None for c in result["connected"])}
