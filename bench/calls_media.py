"""Benchmark of the media worker (issue 5): CPU of one aiortc worker per concurrent
connection test, and how many tests one worker holds under a CPU budget.

What it does (only 127.0.0.1 is contacted):

1. Starts one worker (``python -m consult.media.worker``, as ``flask serve`` does, with
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

Run by hand from the repository root (CI does not run it)::

    .venv/bin/python bench/calls_media.py                      # 640x480 at 15 fps, 20 s
    .venv/bin/python bench/calls_media.py --fps 30 --steps 1,2,3,4

The exit status is 1 when a test did not connect or got no video back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import log, machine  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# --- the client process --------------------------------------------------------------------

async def _client(args: argparse.Namespace) -> dict[str, Any]:
    import aioice.ice

    from consult.media import probe

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

    async def offer_to_worker(offer: dict[str, str]) -> dict[str, Any]:
        body = json.dumps({**offer, "session": f"bench-{secrets.token_hex(6)}",
                           "kind": "echo"}).encode()
        request = urllib.request.Request(  # noqa: S310 (loopback worker)
            args.url + "/offer", data=body, method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {args.token}"})

        def post() -> dict[str, Any]:
            with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310
                return json.loads(r.read())

        return await asyncio.to_thread(post)

    start = time.monotonic()
    results = await asyncio.gather(*(
        probe.run_echo(offer_to_worker, args.seconds, args.width, args.height, args.fps,
                       moving=True)
        for _ in range(args.client)))
    wall = time.monotonic() - start
    return {"video": [r.video_frames for r in results],
            "audio": [r.audio_frames for r in results],
            "connected": [r.connected_after for r in results], "wall": wall}


def client_main(args: argparse.Namespace) -> None:
    cpu0 = time.process_time()
    result = asyncio.run(_client(args))
    result["cpu"] = time.process_time() - cpu0
    print(json.dumps(result), flush=True)


# --- the driver ------------------------------------------------------------------------------

def worker_health(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url + "/health",  # noqa: S310 (loopback worker)
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as r:  # noqa: S310
        return json.loads(r.read())


def step(n: int, args: argparse.Namespace, url: str, token: str, pid: int) -> dict[str, Any]:
    """Run N concurrent tests; the worker's CPU over the window where all N are live."""
    settle = 6.0  # connect, and let the encoders reach their steady rate
    total = settle + args.duration + 2
    client = subprocess.Popen(
        [sys.executable, __file__, "--client", str(n), "--url", url, "--token", token,
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", default="1,2,4,6,8,10,12")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds per step")
    p.add_argument("--idle", type=float, default=5.0)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--fps", type=float, default=15.0)
    p.add_argument("--budget", type=float, default=80.0, help="% of one core")
    # the client process
    p.add_argument("--client", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--token", help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.client:
        client_main(args)
        return 0

    from consult.media.children import start_workers, stop_workers

    steps = [int(x) for x in args.steps.split(",")]
    secret = secrets.token_hex(16)
    from consult.media.common import worker_token

    token = worker_token(secret)
    info = machine()
    log(f"machine: {info['nproc']} x {info['cpu']}, Python {info['python']}, load {info['load']}")
    [worker] = start_workers({"SECRET_KEY": secret, "MEDIA_HOST_ADDRESSES": "127.0.0.1",
                              "MEDIA_MAX_SESSIONS": max(steps) + 2,
                              "MEDIA_TEST_SECONDS": args.duration + 30,
                              "CALL_ICE_SERVERS": "", "REDIS_URL": ""}, 1)
    pid = worker.process.pid
    failed = False
    rows = []
    try:
        w0 = cpu_seconds(pid)
        time.sleep(args.idle)
        idle = 100 * (cpu_seconds(pid) - w0) / args.idle
        log(f"worker idle: {idle:.1f}% of a core")
        log(f"load: {args.width}x{args.height} at {args.fps:g} fps + audio per test, "
            f"{args.duration:g} s measured per step")
        for n in steps:
            row = step(n, args, worker.url, token, pid)
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
    finally:
        stop_workers([worker])
    within = [r["n"] for r in rows
              if r["worker_pct"] <= args.budget and r["echo_fps_mean"] >= 0.8 * args.fps]
    log(f"most concurrent tests under {args.budget:g}% of a core with full echo: "
        f"{max(within) if within else 0}")
    print(json.dumps({"machine": info, "idle_pct": idle, "rows": rows}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
