"""Benchmark of the media worker (issue 5): CPU of one aiortc worker per concurrent
connection test, and how many tests one worker holds under a CPU budget.

What it does (only 127.0.0.1 is contacted):

1. Starts one worker (``python -m consult.calls.media.worker``, as ``flask serve`` does, with
   host candidates on 127.0.0.1 and room for every session) and measures its CPU idle
   for ``--idle`` seconds: the baseline.
2. For N in ``--steps`` (1, 2, 4, 6, 8, ...): a separate client process (so the worker
   and the load generator get a core each on a 2-core machine) opens N connection
   tests at once, exactly what the page does: each an aiortc peer sending a
   ``--width`` x ``--height`` picture at ``--fps`` (two colours under a scrolling grain,
   so every frame differs as a camera's do) plus an audio tone, offering directly
   to the worker's ``POST /offer``; the worker decodes and re-encodes (VP8, Opus) and
   sends both back; the client decodes the echo. Once every test is connected the
   worker's CPU (utime + stime from /proc) is measured for ``--duration`` seconds,
   then the client reports the echoed video frames per second per test and its own CPU.
3. Reports per N: worker CPU (% of one core), per test, echoed fps per test; it stops
   stepping up once the worker passes ``--budget`` % of a core or the echo falls below
   80 % of the sent frame rate (the tests no longer get their frames back in time).

With ``--record`` it measures recorded calls instead: per step N calls, each two aiortc
peers (the patient's and the doctor's browsers) sending Opus audio as ``record``
sessions; the worker decodes, mixes and re-encodes; then each recording is stored
(``/record/finish``: the tail encoded, the file encrypted and written).

Run by hand from the repository root (CI does not run it)::

    .venv/bin/python bench/calls_media.py                      # 640x480 at 15 fps, 20 s
    .venv/bin/python bench/calls_media.py --fps 30 --steps 1,2,3,4
    .venv/bin/python bench/calls_media.py --record --steps 1,4,8,16

The exit status is 1 when a test did not connect or got no video back.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path and bench/activation.py would shadow
# the app's ``activation`` package; the app's own code is imported from ROOT.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bench.harness import log, machine  # noqa: E402
from bench.harness.procfs import cpu_seconds  # noqa: E402
from bench.scenarios.calls_media.steps import record_step, step  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", default="1,2,4,6,8,10,12")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds per step")
    p.add_argument("--idle", type=float, default=5.0)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--fps", type=float, default=15.0)
    p.add_argument("--budget", type=float, default=80.0, help="%% of one core")
    p.add_argument("--record", action="store_true",
                   help="measure recorded calls (two audio senders each) instead of tests")
    # the client process
    p.add_argument("--client", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--token", help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    p.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args()


@contextlib.contextmanager
def media_worker(steps: list[int], args: argparse.Namespace) -> Iterator[tuple[Any, str]]:
    """One worker started as ``flask serve`` starts them, with host candidates on
    127.0.0.1 and room for every session; yields it and its bearer token."""
    from consult.calls.media.children import start_workers, stop_workers
    from consult.calls.media.common import worker_token

    secret = secrets.token_hex(16)
    folder = tempfile.mkdtemp(prefix="pd-bench-recordings-")
    [worker] = start_workers({"SECRET_KEY": secret, "MEDIA_HOST_ADDRESSES": "127.0.0.1",
                              "MEDIA_MAX_SESSIONS": 2 * max(steps) + 2,
                              "MEDIA_TEST_SECONDS": args.duration + 30,
                              "CALL_ICE_SERVERS": "", "REDIS_URL": "",
                              "CALL_RECORDING": True, "RECORDINGS_DIR": folder,
                              "DATA_KEYS": Fernet.generate_key().decode()}, 1)
    try:
        yield worker, worker_token(secret)
    finally:
        stop_workers([worker])


def test_main(steps: list[int], args: argparse.Namespace, url: str, token: str, pid: int,
              idle: float, info: dict[str, Any]) -> int:
    """Connection tests: worker CPU per test, up to the budget or a falling echo."""
    log(f"load: {args.width}x{args.height} at {args.fps:g} fps + audio per test, "
        f"{args.duration:g} s measured per step")
    rows, failed = [], False
    for n in steps:
        row = step(n, args, url, token, pid)
        rows.append(row)
        log(f"N={n:>2} live={row['live']:>2} worker {row['worker_pct']:5.1f}% "
            f"({row['worker_pct'] / n:4.1f}%/test)  client {row['client_pct']:5.1f}%  "
            f"echo fps min {row['echo_fps_min']:4.1f} mean {row['echo_fps_mean']:4.1f}  "
            f"audio frames min {row['audio_min']}  connected {row['all_connected']}")
        if not row["all_connected"] or row["echo_fps_min"] == 0:
            failed = True
        if row["worker_pct"] > args.budget or row["echo_fps_mean"] < 0.8 * args.fps:
            break
        time.sleep(3)  # the sessions of this step end (the clients closed them)
    within = [r["n"] for r in rows
              if r["worker_pct"] <= args.budget and r["echo_fps_mean"] >= 0.8 * args.fps]
    log(f"most concurrent tests under {args.budget:g}% of a core with full echo: "
        f"{max(within) if within else 0}")
    print(json.dumps({"machine": info, "idle_pct": idle, "rows": rows}))
    return 1 if failed else 0


def record_main(steps: list[int], args: argparse.Namespace, url: str, token: str, pid: int,
                idle: float, info: dict[str, Any]) -> int:
    """The --record run: worker CPU per recorded call, and the cost of storing one."""
    log(f"load: recorded calls, two Opus audio senders each, {args.duration:g} s per step")
    rows, failed = [], False
    for n in steps:
        row = record_step(n, args, url, token, pid)
        rows.append(row)
        log(f"N={n:>2} live={row['live']:>2} worker {row['worker_pct']:5.1f}% "
            f"({row['worker_pct'] / n:4.1f}%/call)  store {row['store_ms']:.0f} ms "
            f"({row['store_cpu_ms']:.0f} ms CPU)/call  recorded {min(row['durations'])}-"
            f"{max(row['durations'])} s, {max(row['bytes']) // 1024} KiB  "
            f"connected {row['all_connected']}")
        failed = failed or not row["all_connected"]
        if row["worker_pct"] > args.budget:
            break
        time.sleep(2)
    within = [r["n"] for r in rows if r["worker_pct"] <= args.budget]
    log(f"most concurrent recorded calls under {args.budget:g}% of a core: "
        f"{max(within) if within else 0} (of the steps tried)")
    print(json.dumps({"machine": info, "idle_pct": idle, "record_rows": rows}))
    return 1 if failed else 0


def main() -> int:
    args = parse_args()
    if args.client:
        # Only the client process loads aiortc's peers (and not the driver's helpers).
        from bench.scenarios.calls_media.client import client_main

        client_main(args)
        return 0
    steps = [int(x) for x in args.steps.split(",")]
    info = machine.machine()
    log(f"machine: {info['nproc']} x {info['cpu']}, Python {info['python']}, load {info['load']}")
    with media_worker(steps, args) as (worker, token):
        pid = worker.process.pid
        w0 = cpu_seconds(pid)
        time.sleep(args.idle)
        idle = 100 * (cpu_seconds(pid) - w0) / args.idle
        log(f"worker idle: {idle:.1f}% of a core")
        run = record_main if args.record else test_main
        return run(steps, args, worker.url, token, pid, idle, info)


if __name__ == "__main__":
    sys.exit(main())
