"""One server's turn (the app, or the echo baseline) under the chat load: memory per
idle connection, latencies, server and client CPU, messages stored."""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import random
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import log
from bench.harness.app import WSGI
from bench.harness.procfs import cpu_seconds, named_cpu, rss_kb
from bench.harness.servers import Server, free_port, gunicorn, running_all, tracebacks
from bench.harness.stats import pct_ms
from bench.scenarios.chat.load import chat, close_all, drain, open_conversations, watch_loop
from bench.scenarios.chat.seed import Pair, count_messages, refresh_sessions
from bench.scenarios.chat.sockets import Stats

REDIS_URL = "redis://127.0.0.1:6379/9"
DRAIN_SECONDS = 15.0
IDLE_SECONDS = 5.0
WARM_PAIRS = 10
DB_PROCESSES = ("postgres", "redis-server")


@dataclass
class Figures:
    server: str  # echo | app
    processes: int
    stats: Stats
    connections: int = 0
    connect_seconds: float = 0.0
    rss0_kb: int = 0
    rss1_kb: int = 0
    rss_end_kb: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0  # seconds, all workers
    client_cpu: float = 0.0
    db_cpu: float = 0.0  # postgres / redis-server processes on the machine
    stored: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def kb_per_conn(self) -> float:
        return (self.rss1_kb - self.rss0_kb) / self.connections if self.connections else math.nan


def gunicorn_cmd(kind: str, port: int, gc_log: bool = False) -> list[str]:
    target = ["--pythonpath", "bench", "chat_echo:app"] if kind == "echo" else [WSGI]
    extra = ["-c", "bench/chat_gunicorn.py"] if gc_log else []
    return gunicorn(port, "-k", "gevent", "-w", "1", "--worker-connections", "5000",
                    "--graceful-timeout", "5", then=[*extra, *target])


async def _idle_memory(session: Any, fig: Figures, pairs: list[Pair], urls: tuple[str, str],
                       workers: list[int], rng: random.Random, tag: str) -> list[Any]:
    """A warm-up (the first connections and messages import and initialise what is
    lazy), the RSS with no connection, all sockets joined, the RSS with all idle."""
    stats = fig.stats
    warm = await open_conversations(session, pairs[:min(WARM_PAIRS, len(pairs))], urls, stats)
    await asyncio.gather(*await chat(warm, max(5.0, len(warm) / 2), 2.0, stats, f"{tag}w",
                                     False, rng))
    await drain(stats, DRAIN_SECONDS)
    await close_all(warm)
    await asyncio.sleep(2.0)
    fig.rss0_kb = sum(rss_kb(w) for w in workers)
    t0 = time.perf_counter()
    convs = await open_conversations(session, pairs, urls, stats)
    fig.connect_seconds = time.perf_counter() - t0
    fig.connections = 2 * len(convs)
    log(f"{fig.server}: {fig.connections} sockets connected and joined in "
        f"{fig.connect_seconds:.1f}s")
    # The client's own garbage collector must not stall its loop (2N sockets' objects
    # in the oldest generation): move what exists now out of its reach.
    gc.collect()
    gc.freeze()
    await asyncio.sleep(IDLE_SECONDS)
    fig.rss1_kb = sum(rss_kb(w) for w in workers)
    log(f"{fig.server}: RSS {fig.rss0_kb / 1024:.1f} MiB with no connection, "
        f"{fig.rss1_kb / 1024:.1f} MiB with {fig.connections} idle: "
        f"{fig.kb_per_conn:.1f} KiB per connection")
    return convs


async def _counted(fig: Figures, convs: list[Any], workers: list[int],
                   args: argparse.Namespace, rng: random.Random, tag: str) -> None:
    """``--warmup`` seconds of chat, then ``--duration`` counted, with the CPU of the
    worker(s), of this client and of the database processes over the counted window."""
    stats = fig.stats
    if args.warmup > 0:
        await asyncio.gather(*await chat(convs, args.rate, args.warmup, stats, f"{tag}u",
                                         False, rng))
    monitor = asyncio.create_task(watch_loop(stats))
    cpu0 = sum(cpu_seconds(w) for w in workers)
    other0 = named_cpu(DB_PROCESSES)
    c0, w0 = time.process_time(), time.perf_counter()
    sends = await chat(convs, args.rate, args.duration, stats, tag, True, rng)
    fig.seconds = time.perf_counter() - w0
    fig.client_cpu = time.process_time() - c0
    fig.server_cpu = sum(cpu_seconds(w) for w in workers) - cpu0
    fig.db_cpu = named_cpu(DB_PROCESSES) - other0
    monitor.cancel()
    await drain(stats, DRAIN_SECONDS)
    await asyncio.gather(*sends)
    fig.rss_end_kb = sum(rss_kb(w) for w in workers)


async def measure(kind: str, servers: list[Server], pairs: list[Pair],
                  args: argparse.Namespace, tag: str) -> Figures:
    fig = Figures(kind, len(servers), Stats())
    rng = random.Random(f"{args.seed}-{tag}")
    ws = [f"ws://127.0.0.1:{s.port}/socket.io/?EIO=4&transport=websocket" for s in servers]
    urls = (ws[0], ws[-1])  # patients to the first process, doctors to the last
    workers = [s.worker for s in servers if s.worker]
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector,
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        convs = await _idle_memory(session, fig, pairs, urls, workers, rng, tag)
        try:
            await _counted(fig, convs, workers, args, rng, tag)
        finally:
            await close_all(convs)
            gc.unfreeze()
    return fig


def run_server(kind: str, env: dict[str, str], pairs: list[Pair], args: argparse.Namespace,
               tmp: Path, app: Any) -> Figures:
    """Start ``--processes`` servers of ``kind``, measure, stop them; the figures."""
    tag = f"{kind[0]}{args.processes}{secrets.token_hex(2)}"
    env = dict(env)
    if args.processes == 2:
        key = "ECHO" if kind == "echo" else "SOCKETIO"
        env[f"{key}_MESSAGE_QUEUE"] = REDIS_URL
        env[f"{key}_CHANNEL"] = f"pd-bench-chat-{os.getpid()}-{secrets.token_hex(4)}"
    before = count_messages(app) if kind == "app" else 0
    if kind == "app":
        refresh_sessions(app)
    specs = []
    for i in range(args.processes):
        port = free_port()
        specs.append((f"{tag}-{kind}-{i}", gunicorn_cmd(kind, port, args.gc_log), port))
    with running_all(specs, tmp, env, one_worker=True) as servers:
        fig = asyncio.run(measure(kind, servers, pairs, args, tag))
    for s in servers:
        if args.gc_log:
            log_pauses(s)
        fig.problems += [f"{s.name} stderr:\n{tb}" for tb in tracebacks(s.err_path)]
    if kind == "app":
        fig.stored = count_messages(app) - before
    log_figures(fig, args)
    return fig


def log_pauses(s: Server) -> None:
    pauses = [int(m.group(2)) for m in re.finditer(
        r"gc gen(\d) (\d+) ms", s.err_path.read_text(errors="replace"))]
    log(f"  {s.name}: {len(pauses)} garbage collections over 20 ms during the run, "
        f"longest {max(pauses, default=0)} ms, total {sum(pauses)} ms")


def log_figures(fig: Figures, args: argparse.Namespace) -> None:
    st = fig.stats
    log(f"{fig.server:4} x{args.processes}: sent {st.timed_sent} in {fig.seconds:.1f}s "
        f"({st.timed_sent / fig.seconds:.1f}/s), delivered {st.timed_delivered}, lost "
        f"{st.lost}, refused {st.refused}; p50 {pct_ms(st.latencies, 50):.1f} ms, p99 "
        f"{pct_ms(st.latencies, 99):.1f} ms; server CPU "
        f"{100 * fig.server_cpu / fig.seconds:.0f}%, client CPU "
        f"{100 * fig.client_cpu / fig.seconds:.0f}%"
        + (f"; stored {fig.stored} of {st.attempted} sent ({st.acked_ok} acked)"
           if fig.stored is not None else ""))
    for sample in st.samples:
        log(f"  sample: {sample}")
    log(f"  client loop stalls over 20 ms: {len(st.stalls)}, longest "
        f"{1000 * max(st.stalls, default=0):.0f} ms")
    log(f"  {fig.server} worst latency per 5 s of the counted window (ms): "
        + worst_per(st, 5.0))


def worst_per(st: Stats, step: float) -> str:
    if not st.timeline:
        return "-"
    t0 = min(t for t, _ in st.timeline)
    worst: dict[int, float] = {}
    for t, lat in st.timeline:
        k = int((t - t0) // step)
        worst[k] = max(worst.get(k, 0.0), lat)
    return " ".join(f"{1000 * worst[k]:.0f}" for k in sorted(worst))
