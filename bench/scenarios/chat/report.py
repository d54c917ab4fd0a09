"""The chat figures as they go into ``docs/performance.md``."""

from __future__ import annotations

import argparse
import math
from importlib.metadata import version

from bench.harness import machine
from bench.harness.report import Section
from bench.harness.servers import shown
from bench.harness.stats import pct_ms, times
from bench.scenarios.chat.measure import Figures, gunicorn_cmd

TARGET_P99_MS = 100.0
TARGET_KB_PER_CONN = 50.0
TARGET_RATE = 300.0
TARGET_CONSULTATIONS = 1000
SECTION = Section("chat", "## Chat (issue 4)", """## Chat (issue 4)

`bench/chat.py` (see its docstring) opens a patient's and a doctor's socket for each
of N active consultations (websocket transport, signed in with a real server-side
session cookie) and has them chat at a fixed total rate (Poisson arrivals, patient and
doctor taking turns), against the app under gunicorn's gevent worker and, in the same
run with the same load, against `bench/chat_echo.py`, a bare python-socketio relay
(same gunicorn command, no database, no auth): the ratios between the two are what the
app's own work costs. Latency is end to end: from the sender writing `send` to the
other participant reading `message`. Server CPU is the gunicorn worker's (all workers
with two processes) CPU time over the counted window divided by its length (100 % =
one core); memory per idle connection is (worker RSS with all sockets connected and
joined, idle − RSS with none) ÷ sockets. The client (one asyncio process, a minimal
Socket.IO client on aiohttp) shares the 2 cores; its CPU is reported. Targets (one
gevent process, 2 cores): 1,000 concurrent consultations at 300 messages/s with p99
under 100 ms and every message stored (rows in `chat_message` = messages sent); under
50 KB per idle connection.
""", before="### What limits the chat")


def package_versions() -> str:
    names = ("gunicorn", "gevent", "flask-socketio", "python-socketio", "python-engineio",
             "simple-websocket", "aiohttp")
    return ", ".join(f"{n} {version(n)}" for n in names)


def heading(args: argparse.Namespace) -> str:
    """The title of this configuration's block of results."""
    return (f"{'SQLite' if args.db == 'sqlite' else 'PostgreSQL'}, "
            f"{'one process' if args.processes == 1 else 'two processes and Redis'}, "
            f"{args.consultations:,} consultations at {args.rate:g} messages/s")


def render(figs: list[Figures], info: dict[str, str], db_desc: str, command: str,
           args: argparse.Namespace, when: str) -> str:
    n = args.consultations
    servers = "two servers" if args.processes == 2 else "one server"
    lines = [
        f"Run {when} with `{command}`.",
        "",
        machine.line(info, f"{db_desc}; {package_versions()}"),
        f"Load: {n} active consultations, {2 * n} sockets (websocket transport), "
        f"{args.rate:g} messages/s in total (Poisson; {args.rate / n:.2f}/s per "
        f"consultation), {args.warmup:g} s warm-up then {args.duration:g} s counted; "
        f"{servers} `{shown(gunicorn_cmd('app', 0))}`"
        + (" with the Redis message queue, patients on one, doctors on the other"
           if args.processes == 2 else "")
        + "; the baseline is `bench/chat_echo.py` under the same command (`--pythonpath "
          "bench chat_echo:app`). The client is one asyncio process on the same machine.",
        "",
        "| server | p50 ms | p99 ms | ack p99 ms | sent/s | delivered | server CPU | "
        "client CPU | KiB / idle conn. | RSS idle → end MiB | stored = sent |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *[_row(f) for f in figs],
    ]
    by = {f.server: f for f in figs}
    if "echo" in by and "app" in by:
        lines += ["", _comparison(by["app"], by["echo"])]
    for f in figs:
        lines += ["", _details(f)]
    verdicts = _verdicts(by["app"], args) if "app" in by else []
    if verdicts:
        lines += ["", "Against the targets:", ""] + [f"- {v}" for v in verdicts]
    return "\n".join(lines) + "\n"


def _row(f: Figures) -> str:
    st = f.stats
    cpu = 100 * f.server_cpu / f.seconds if f.seconds else math.nan
    stored = "—" if f.stored is None else (
        f"{'yes' if f.stored == st.attempted == st.acked_ok else '**no**'}: "
        f"{f.stored:,} rows, {st.attempted:,} sent, {st.acked_ok:,} acked")
    return (f"| {f.server} | {pct_ms(st.latencies, 50):.1f} | {pct_ms(st.latencies, 99):.1f} | "
            f"{pct_ms(st.ack_latencies, 99):.1f} | {st.timed_sent / f.seconds:.1f} | "
            f"{st.timed_delivered:,} of {st.timed_sent:,} | {cpu:.0f} % | "
            f"{100 * f.client_cpu / f.seconds:.0f} % | {f.kb_per_conn:.1f} | "
            f"{f.rss1_kb / 1024:.0f} → {f.rss_end_kb / 1024:.0f} | {stored} |")


def _comparison(app: Figures, echo: Figures) -> str:
    a, e = app.stats, echo.stats
    app_ms = 1000 * app.server_cpu / max(1, a.timed_sent)
    echo_ms = 1000 * echo.server_cpu / max(1, e.timed_sent)
    return ("App ÷ echo: p50 " + times(pct_ms(a.latencies, 50), pct_ms(e.latencies, 50))
            + ", p99 " + times(pct_ms(a.latencies, 99), pct_ms(e.latencies, 99))
            + ", server CPU per message " + times(app_ms, echo_ms)
            + f" ({app_ms:.2f} ms against {echo_ms:.2f} ms), memory per idle "
            "connection " + times(app.kb_per_conn, echo.kb_per_conn) + ".")


def _details(f: Figures) -> str:
    st = f.stats
    return (f"{f.server}: {f.connections:,} sockets connected and joined in "
            f"{f.connect_seconds:.1f} s; RSS {f.rss0_kb / 1024:.1f} MiB with none, "
            f"{f.rss1_kb / 1024:.1f} MiB with all idle; client scheduling lag p99 "
            f"{pct_ms(st.lags, 99):.1f} ms; postgres and redis-server processes on the "
            f"machine {100 * f.db_cpu / f.seconds:.0f} % of a core during the counted "
            f"window; {st.refused} refused, {st.lost} lost, {st.disconnects} disconnected."
            + (" Samples: " + "; ".join(st.samples) if st.samples else ""))


def _verdicts(app: Figures, args: argparse.Namespace) -> list[str]:
    n, st = args.consultations, app.stats
    verdicts = []
    if args.processes == 1:
        p99 = pct_ms(st.latencies, 99)
        rate = st.timed_sent / app.seconds
        stored_ok = app.stored == st.attempted == st.acked_ok and st.lost == 0
        full = n >= TARGET_CONSULTATIONS and args.rate >= TARGET_RATE
        load_note = "" if full else (f" (this run: {n} consultations at {args.rate:g}/s, "
                                     "smaller than the target's load)")
        ok = p99 < TARGET_P99_MS and rate >= 0.98 * args.rate and stored_ok and full
        verdicts.append(
            f"{TARGET_CONSULTATIONS:,} consultations at {TARGET_RATE:g} messages/s in "
            f"one gevent process, p99 under {TARGET_P99_MS:g} ms, every message "
            f"stored{load_note}: p99 {p99:.1f} ms at {rate:.1f}/s, "
            f"{'all' if stored_ok else '**not all**'} stored: "
            + ("meets the target." if ok else "**misses the target.**"))
    kb = app.kb_per_conn
    verdicts.append(f"Memory per idle connection under {TARGET_KB_PER_CONN:g} KB: "
                    f"{kb:.1f} KiB ({kb * 1.024:.1f} kB): "
                    + ("meets the target." if kb * 1.024 < TARGET_KB_PER_CONN
                       else "**misses the target.**"))
    return verdicts
