"""Benchmark of the consultation chat (issue 4): latency, throughput, CPU and memory of
the Socket.IO chat under gunicorn's gevent worker, against a bare relay in the same run.

What it does, against a fresh database it creates and drops itself (``--db``):

1. **Data.** ``--consultations N`` active consultations, each with its own patient
   (activated policy, insured person) and its own on-duty doctor (TOTP enabled), are
   inserted directly with SQLAlchemy (``flask db upgrade`` builds the schema first).
   Every user gets a server-side session row and the signed Flask session cookie
   that goes with it, as after a sign-in; the sockets authenticate with that cookie.
2. **Two servers, one after the other, with the same client load:**

   * ``echo``: ``bench/chat_echo.py``, a bare python-socketio relay (rooms, ``join``,
     ``send`` answered and emitted to the room) with no database and no auth: the
     baseline;
   * ``app``: the application (``wsgi:app``), which checks the session, stores each
     message encrypted in its own transaction and emits it after the commit.

   Both run as ``gunicorn -k gevent -w 1 --worker-connections 5000`` (the gevent
   worker monkey-patches, so the app picks ``async_mode="gevent"``; websockets go
   through simple-websocket). With ``--processes 2`` two such servers run, with the
   Redis message queue (``redis://127.0.0.1:6379/9``, a channel unique to the run):
   every patient socket goes to the first, every doctor socket to the second, so every
   message crosses processes.
3. **Per server:** a short warm-up (a few pairs connect, chat, leave), then the RSS of
   the worker(s) with no connection; then all ``2N`` sockets connect (websocket only,
   the session cookie) and join their consultation; after a few idle seconds the RSS
   again: (RSS with 2N idle sockets − RSS with none) ÷ 2N is the memory per idle
   connection. Then ``--warmup`` seconds of chat (not counted) and ``--duration``
   seconds counted, at ``--rate`` messages per second in total: Poisson arrivals,
   each to a consultation in turn, patient and doctor alternating; an open loop (the
   next message does not wait for the previous one). A message's latency is from just
   before the client writes ``send`` to when the *other* participant's socket reads
   the ``message`` event. The worker's CPU (utime + stime from /proc) and the
   client's are measured over the counted window. Then the client waits up to 15 s
   for messages still in flight, disconnects, and (app) compares the rows in
   ``chat_message`` with the messages sent.

The load generator is this process: one asyncio loop with aiohttp websockets and a
minimal Engine.IO 4 / Socket.IO 5 client (open, connect, ping/pong, events with
acknowledgements), much cheaper per message than python-socketio's AsyncClient, so the
2N sockets fit in one process that is not the bottleneck; its CPU and its scheduling
lag (how late it wrote messages against the Poisson schedule) are reported. It runs
on the same 2-core machine as the server(s) and takes its share of the CPU.

Run it by hand from the repository root (CI does not run it)::

    .venv/bin/python bench/chat.py                    # smoke: 20 consultations, ~40 s
    .venv/bin/python bench/chat.py --db postgres --consultations 1000 --rate 300 \\
        --duration 60 --processes 2 --write

``--db postgres`` creates a uniquely named database on ``--pg-url`` (trust auth) and
drops it at the end. Only 127.0.0.1 is contacted. Every phase is bounded in time.
The exit status is 1 when a message was refused, lost or not stored, or a server
logged a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path and bench/activation.py would shadow
# the app's ``activation`` package; the app's own code is imported from ROOT.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.harness import cli, env, log, machine, report  # noqa: E402
from bench.harness.db import fresh_database, upgrade  # noqa: E402
from bench.scenarios.chat.measure import Figures, run_server  # noqa: E402
from bench.scenarios.chat.report import SECTION, heading, render  # noqa: E402
from bench.scenarios.chat.seed import seed  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = cli.parser(__doc__)
    cli.add_database(p)
    p.add_argument("--consultations", type=int, default=20,
                   help="concurrent consultations, two sockets each (default 20; the "
                        "target is 1000)")
    p.add_argument("--rate", type=float, default=20.0,
                   help="messages per second in total (default 20; the target is 300)")
    p.add_argument("--duration", type=float, default=10.0,
                   help="counted seconds of chat per server (default 10)")
    p.add_argument("--warmup", type=float, default=3.0,
                   help="seconds of chat at --rate before the counted window (default 3)")
    p.add_argument("--processes", type=int, choices=(1, 2), default=1,
                   help="gunicorn servers (2: with the Redis message queue)")
    p.add_argument("--servers", default="echo,app",
                   help="comma-separated subset of echo,app (default both)")
    p.add_argument("--gc-log", action="store_true",
                   help="have the workers log garbage collections over 20 ms "
                        "(bench/chat_gunicorn.py) and report them")
    p.add_argument("--seed", type=int, default=20261122)
    cli.add_output(p)
    args = p.parse_args(argv)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not args.servers or any(s not in ("echo", "app") for s in args.servers):
        p.error("--servers takes echo, app or both")
    if args.consultations < 1 or args.rate <= 0 or args.duration <= 0 or args.warmup < 0:
        p.error("--consultations, --rate and --duration must be positive")
    if args.duration > 600 or args.warmup > 120:
        p.error("--duration is at most 600 s and --warmup at most 120 s")
    if args.rate / args.consultations > 4:
        p.error("more than 4 messages/s per consultation would meet the app's per-socket "
                "limit (5/s, burst 20); raise --consultations or lower --rate")
    cli.check_local(p, args)
    return args


def run(args: argparse.Namespace, tmp: Path) -> tuple[list[Figures], str]:
    """Seed, then each server in turn; the figures and the database's description."""
    figs = []
    with fresh_database(args.db, tmp, args.pg_url, "pd_bench_chat") as (url, db_desc):
        app_env = env.for_app(url, tmp)
        upgrade(app_env, db_desc)
        pairs, app = seed(app_env, args.consultations)
        for kind in args.servers:
            figs.append(run_server(kind, app_env if kind == "app" else env.base(tmp), pairs,
                                   args, tmp, app))
    return figs, db_desc


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = report.command("chat.py", argv)
    when = report.when()
    info = machine.machine()
    started = time.monotonic()
    with cli.workdir("pd-bench-chat-", args.keep) as tmp:
        figs, db_desc = run(args, tmp)
    info["load_end"] = machine.load()
    body = render(figs, info, db_desc, command, args, when)
    print()
    print(body)
    problems = [p for f in figs for p in f.problems]
    for p in problems:
        print("TRACEBACK IN SERVER LOG\n" + p, file=sys.stderr)
    log(f"total {time.monotonic() - started:.0f}s")
    if args.write:
        key = f"{args.db}:{args.processes}:{args.consultations}x{args.rate:g}"
        report.write(SECTION, key, heading(args), body)
    bad = any(f.stats.refused or f.stats.lost or f.stats.disconnects for f in figs) or any(
        f.stored is not None and f.stored != f.stats.attempted for f in figs)
    return 1 if problems or bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
