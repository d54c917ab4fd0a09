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


async def _record_client(args: argparse.Namespace) -> dict[str, Any]:
    """``args.client`` recorded calls: two peers each (patient and doctor) sending a
    tone to the worker as ``record`` sessions, as the two browsers of a call do."""
    import aioice.ice
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from consult.media import probe

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

    def post(body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 (loopback worker)
            args.url + "/offer", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {args.token}"})
        with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310
            return json.loads(r.read())

    async def side(key: str, name: str) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver(probe.ToneAudio(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        answer = await asyncio.to_thread(post, {
            "sdp": pc.localDescription.sdp, "type": "offer", "kind": "record",
            "session": f"rec-{key}-{name}", "params": {"recording": key, "side": name}})
        await pc.setRemoteDescription(RTCSessionDescription(**answer))
        return pc

    start = time.monotonic()
    pcs = await asyncio.gather(*(side(str(args.first + i), name)
                                 for i in range(args.client) for name in ("patient", "doctor")))
    await asyncio.sleep(args.seconds)
    connected = [pc.connectionState == "connected" for pc in pcs]
    for pc in pcs:
        await pc.close()
    return {"connected": connected, "wall": time.monotonic() - start}


def client_main(args: argparse.Namespace) -> None:
    cpu0 = time.process_time()
    result = asyncio.run(_record_client(args) if args.record else _client(args))
    result["cpu"] = time.process_time() - cpu0
    print(json.dumps(result), flush=True)


# --- the driver ------------------------------------------------------------------------------

def worker_health(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url + "/health",  # noqa: S310 (loopback worker)
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as r:  # noqa: S310
        return json.loads(r.read())


def finish_recording(url: str, token: str, key: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (loopback worker)
        url + "/record/finish", data=json.dumps({"recording": key}).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as r:  # noqa: S310
        return json.loads(r.read())


def record_step(n: int, args: argparse.Namespace, url: str, token: str, pid: int
                ) -> dict[str, Any]:
    """N recorded calls at once: the worker's CPU while they record, then the CPU and
    time to store (encode the tail, encrypt, write) each recording."""
    settle = 4.0
    first = 1000 * n
    client = subprocess.Popen(
        [sys.executable, __file__, "--client", str(n), "--record", "--first", str(first),
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
    p.add_argument("--record", action="store_true",
                   help="measure recorded calls (two audio senders each) instead of tests")
    # the client process
    p.add_argument("--client", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--token", help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    p.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
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
    import tempfile

    from cryptography.fernet import Fernet

    folder = tempfile.mkdtemp(prefix="pd-bench-recordings-")
    [worker] = start_workers({"SECRET_KEY": secret, "MEDIA_HOST_ADDRESSES": "127.0.0.1",
                              "MEDIA_MAX_SESSIONS": 2 * max(steps) + 2,
                              "MEDIA_TEST_SECONDS": args.duration + 30,
                              "CALL_ICE_SERVERS": "", "REDIS_URL": "",
                              "CALL_RECORDING": True, "RECORDINGS_DIR": folder,
                              "DATA_KEYS": Fernet.generate_key().decode()}, 1)
    pid = worker.process.pid
    failed = False
    rows = []
    try:
        w0 = cpu_seconds(pid)
        time.sleep(args.idle)
        idle = 100 * (cpu_seconds(pid) - w0) / args.idle
        log(f"worker idle: {idle:.1f}% of a core")
        if args.record:
            return record_main(steps, args, worker.url, token, pid, idle, info)
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


if __name__ == "__main__":
    sys.exit(main())
