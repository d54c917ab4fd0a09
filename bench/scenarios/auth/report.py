"""The sign-in and audit figures as they go into ``docs/performance.md``."""

from __future__ import annotations

import argparse

from bench.harness import machine
from bench.harness.clients import Result
from bench.harness.report import Section
from bench.harness.servers import shown
from bench.scenarios.auth.audit import AuditFigures
from bench.scenarios.auth.kdf import KdfFigures
from bench.scenarios.auth.signin import server_command
from bench.scenarios.auth.users import RAISED_LIMIT

KDF_TARGET = (50.0, 250.0)  # ms per verification
AUDIT_TARGET = 2.0  # append+commit ÷ plain insert+commit
SECTION = Section("auth", "## Sign-in and audit", """\
## Sign-in and audit

`bench/auth.py` (see its docstring) measures, in one run: the CPU and memory of one
password verification with the app's KDF and a few alternatives; successful and
failed sign-ins (`POST /login` with a CSRF token) per second under gunicorn with
**one sync worker**, that is per core, with the sign-in rate limits raised through
the environment; and the cost of an audit-log append (hash chain, head row) against a
plain insert of the same row, each with its own commit. Targets: 50–250 ms per
password verification; an audit append at most 2× a plain insert.

Why the KDF costs what it does: passwords are hashed with scrypt (N=2^15, r=8, p=1,
Werkzeug's default), a memory-hard KDF: each guess needs 32 MiB of memory as well as
the CPU time below, which makes GPU and ASIC guessing of a stolen hash far costlier
than with a fast hash or PBKDF2. The cost per request is bounded: one verification
per sign-in attempt, whatever the password's length (scrypt's cost hardly depends on
it; request bodies are capped at 1 MiB), and an unknown email is checked against a
dummy hash, so it costs the same. The totals are bounded by the rate limits (per IP,
per account and IP, per account), so sign-in cannot be used to load the servers
faster than those limits allow. A failed sign-in does the same work as a successful
one, which is the point: the answer's timing says nothing. A sign-in is almost all
KDF: the worker's CPU per sign-in is within about 10 % of one verification, so
sign-ins per core are about 1000 ÷ (KDF CPU ms).

Why an audit append costs more than a plain insert: the chain adds a statement (the
conditional UPDATE that moves the head from the newest id and hash this process has
seen; the head is read and locked afresh only when another process or a rolled-back
transaction moved it), a SHA-256 and a JSON round trip, with the same single commit.
Where the commit is cheap (SQLite in WAL with `synchronous=NORMAL`, no fsync per
commit) the extra statement weighs most; on PostgreSQL the synchronous commit is a
larger share of both. The first version read, locked and updated the head with three
statements built per call and measured 2.2–2.6×; building the head statement once
(SQLAlchemy's construction was most of the extra cost) brought it under 2×. The
round-to-round spread on this shared machine is wide (the range over the rounds is
given beside the ratio).
""", refresh=True)


def render(kdf: KdfFigures, candidates: list[KdfFigures], http: list[Result],
           inproc: list[Result], audit_fig: AuditFigures, info: dict[str, str], db_desc: str,
           command: str, args: argparse.Namespace, when: str, http_note: str | None) -> str:
    lines = [f"Run {when} with `{command}`.", "", machine.line(info, db_desc), "",
             *_kdf_table(kdf, candidates, args)]
    if http:
        lines += _http_table(http, kdf, args)
    if http_note:
        lines += [http_note]
    if inproc:
        lines += ([""] if http else []) + _inproc_table(inproc, args)
    lines += ["", *_audit_table(audit_fig), "", "Against the targets:", ""]
    lines += _verdicts(kdf, http, audit_fig)
    errors = sum(r.errors for r in http + inproc)
    lines += ["", f"{errors} unexpected responses in total."]
    return "\n".join(lines) + "\n"


def _kdf_table(kdf: KdfFigures, candidates: list[KdfFigures],
               args: argparse.Namespace) -> list[str]:
    lo, hi = KDF_TARGET
    lines = [
        f"Password verification (`check_password_hash` on a `hash_password` hash; median "
        f"of {len(kdf.cpu_ms)}, candidates of {args.candidate_reps}; target "
        f"{lo:g}–{hi:g} ms):",
        "",
        "| KDF | CPU ms | wall ms | memory (128·N·r) | peak RSS growth | verifications/s "
        "per core |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for i, fig in enumerate([kdf, *candidates]):
        name = f"**{fig.label()}** (app, `{fig.method}`)" if i == 0 else fig.label()
        lines.append(f"| {name} | {fig.cpu:.0f} | {fig.wall:.0f} | {fig.memory_mib:.0f} MiB | "
                     f"{fig.rss_mib:.0f} MiB | {1000 / fig.cpu:.1f} |")
    return [*lines, ""]


def _http_table(http: list[Result], kdf: KdfFigures, args: argparse.Namespace) -> list[str]:
    lines = [
        f"Sign-in under gunicorn with one sync worker (`{shown(server_command(0))}`), "
        f"{args.concurrency} client threads on the same machine, up to "
        f"{args.requests} sign-ins per scenario or {args.seconds:g} s, "
        f"{len(args.emails)} patient accounts in turn; sign-in limits raised to "
        f"\"{RAISED_LIMIT}\" through the environment. Latency as the client sees it "
        "(with one worker it includes waiting for it); worker CPU from /proc:",
        "",
        "| server | scenario | requests | errors | req/s | p50 ms | p99 ms | "
        "worker CPU ms/req | ÷ KDF CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in http:
        more = " (time-capped)" if r.truncated and r.scenario != "ping" else ""
        share = "—" if r.scenario == "ping" else f"{r.cpu_ms / kdf.cpu:.2f}×"
        lines.append(f"| gunicorn, 1 worker | {r.scenario} | {r.count}{more} | {r.errors} "
                     f"| {r.rps:,.1f} | {r.pct(50):.1f} | {r.pct(99):.1f} | "
                     f"{r.cpu_ms:.1f} | {share} |")
    return lines


def _inproc_table(inproc: list[Result], args: argparse.Namespace) -> list[str]:
    lines = [
        f"In process (Flask's test client, one at a time, {args.inprocess} per scenario; "
        "CSRF off, limits raised in `app.config`): the app's own cost without HTTP:",
        "",
        "| scenario | requests | errors | sign-ins/s | p50 ms | p99 ms | CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in inproc:
        lines.append(f"| {r.scenario} | {r.count} | {r.errors} | {r.rps:,.1f} | "
                     f"{r.pct(50):.1f} | {r.pct(99):.1f} | {r.cpu_ms:.1f} |")
    return lines


def _audit_table(audit_fig: AuditFigures) -> list[str]:
    return [
        f"Audit log, in process on a fresh database ({audit_fig.ops} operations each, in "
        f"{len(audit_fig.round_ratios)} alternating rounds of {audit_fig.per_round} after a "
        f"warm-up; µs and ratio are medians over the rounds; target ≤ {AUDIT_TARGET:g}×):",
        "",
        "| operation | µs per operation | ratio |",
        "|---|---:|---:|",
        f"| plain ORM insert of an equivalent row + commit | {audit_fig.plain_us:,.0f} | 1× |",
        f"| `audit.append(...)` + commit | {audit_fig.append_us:,.0f} | "
        f"{audit_fig.ratio:.2f}× (all rounds together {audit_fig.total_ratio:.2f}×; rounds "
        f"{audit_fig.spread()}) |",
    ]


def _verdicts(kdf: KdfFigures, http: list[Result], audit_fig: AuditFigures) -> list[str]:
    lo, hi = KDF_TARGET
    lines = [f"- Password verification: {kdf.cpu:.0f} ms CPU ({kdf.wall:.0f} ms wall), "
             f"{kdf.memory_mib:.0f} MiB (target {lo:g}–{hi:g} ms): "
             + ("within the target." if lo <= kdf.cpu <= hi else "**outside the target.**")]
    for r in http:
        if r.scenario != "ping":
            lines.append(f"- {r.scenario}: {r.rps:.1f}/s for one worker process (one core), "
                         f"p50 {r.pct(50):.0f} ms, p99 {r.pct(99):.0f} ms; the worker spends "
                         f"{r.cpu_ms:.0f} ms CPU per request, {r.cpu_ms / kdf.cpu:.2f}× one "
                         "verification (no target).")
    ok = audit_fig.ratio <= AUDIT_TARGET
    lines.append(f"- Audit append: {audit_fig.ratio:.2f}× a plain insert with its commit "
                 f"(target ≤ {AUDIT_TARGET:g}×): "
                 + ("meets the target." if ok else "**misses the target.**")
                 + (" Chain verified intact afterwards." if audit_fig.chain_ok
                    else " **Chain verification failed.**"))
    return lines

