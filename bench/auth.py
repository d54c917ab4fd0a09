"""Benchmark of sign-in and the audit log: KDF cost, sign-ins per core, audit append cost.

What it measures, in one run against fresh databases it creates and drops itself:

1. **Password verification cost** with the app's KDF (``accounts.passwords.METHOD``,
   scrypt N=2^15 r=8 p=1): ``werkzeug.security.check_password_hash`` on a hash made by
   ``accounts.passwords.hash_password``, ``--kdf-reps`` times; median CPU time
   (``time.process_time``) and wall time (``perf_counter``). The memory scrypt needs is
   128·N·r bytes (32 MiB; OpenSSL computes the p lanes one after another, so p adds
   time, not memory); the peak RSS growth of one hash in a fresh interpreter is
   measured too. The target is 50–250 ms per verification. A few
   candidate parameter sets (``--candidates``) are timed the same way, fewer times, so
   a change can be chosen from figures.
2. **Sign-ins per second for one worker process (= one core)**: the app under gunicorn
   with ONE sync worker, on a database built with ``flask db upgrade``, with the three
   sign-in rate limits raised through the environment (``RATELIMIT_LOGIN``,
   ``RATELIMIT_LOGIN_ACCOUNT_IP``, ``RATELIMIT_LOGIN_ACCOUNT``). ``--users`` patient
   accounts are created in this process (one password hash, reused). Each of
   ``--concurrency`` client threads fetches ``GET /login`` once for a session cookie and
   its CSRF token, then sends ``POST /login`` (email, password, csrf_token) with that
   same cookie for up to ``--seconds`` (the Flask session is a signed cookie, so the
   pre-sign-in cookie stays valid; the worker does only sign-ins). Scenarios:
   ``ping`` (``GET /api/v1/ping``, the baseline), ``sign-in`` (right password: 302,
   a new server-side session and an ``auth.sign_in`` audit entry) and ``wrong-password``
   (422 and an ``auth.sign_in_failed`` entry), each sign-in on the next user in turn.
   Reported: sign-ins/s, p50/p99 latency as the client sees it (with one sync worker
   it includes waiting for the worker), and the worker's own CPU per request (from
   ``/proc``). If this app cannot take the per-account limits from the environment,
   the HTTP part is skipped (and says so) and only the in-process figures are given.
   For reference, the same two sign-in scenarios are also sent ``--inprocess`` times
   each, one at a time, through Flask's test client (CSRF disabled, limits raised in
   ``app.config``): the app's own cost without HTTP.
3. **Audit append against a plain insert of the same row** (target ≤ 2×), in this
   process on a fresh database: ``--audit-ops`` calls of ``accounts.audit.append(...)``
   each followed by ``db.session.commit()``, against as many ORM inserts of an
   equivalent row (same columns, types and sizes, in a plain table this script creates,
   id from the database) each followed by a commit. Both run in alternating rounds
   after a warm-up, inside ``core.db.writing()`` (SQLite transactions begin as
   writers, as in a request). Reported as medians over the rounds (the machine is
   shared; a WAL checkpoint or a neighbour's burst lands in one round), with the ratio
   of the totals beside it.

Run it by hand from the repository root (CI does not run it)::

    .venv/bin/python bench/auth.py                    # SQLite in a temp dir
    .venv/bin/python bench/auth.py --db postgres      # needs PostgreSQL on 127.0.0.1
    .venv/bin/python bench/auth.py --write            # update docs/performance.md

``--db postgres`` creates uniquely named databases on ``--pg-url`` (trust auth, by
default ``postgresql://postgres@127.0.0.1:5432/postgres``) and drops them at the end.
Only 127.0.0.1 is contacted. Every loop is bounded by a count and a time; with the
defaults a run takes about a minute and a half on a 2-core machine. The exit status is
1 when any request got an unexpected answer or the server logged a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path and would shadow the app's packages.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bench.harness import cli, log, machine, report  # noqa: E402
from bench.harness.clients import Result  # noqa: E402
from bench.harness.db import fresh_database, upgrade  # noqa: E402
from bench.scenarios.auth.audit import AuditFigures, measure_audit  # noqa: E402
from bench.scenarios.auth.kdf import measure_kdf  # noqa: E402
from bench.scenarios.auth.report import SECTION, render  # noqa: E402
from bench.scenarios.auth.signin import measure_http, measure_inprocess  # noqa: E402
from bench.scenarios.auth.users import (  # noqa: E402
    LIMIT_SETTINGS,
    app_for,
    create_users,
    run_env,
)
from core.config import ENV_SETTINGS  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = cli.parser(__doc__)
    cli.add_database(p)
    p.add_argument("--kdf-reps", type=int, default=20,
                   help="timed verifications with the app's KDF (default 20)")
    p.add_argument("--candidates",
                   default="scrypt:32768:8:1,scrypt:65536:8:1,scrypt:32768:8:2,"
                           "scrypt:16384:8:1",
                   help="comma-separated Werkzeug scrypt methods to time for comparison")
    p.add_argument("--candidate-reps", type=int, default=7,
                   help="timed verifications per candidate (default 7)")
    p.add_argument("--users", type=int, default=2000, help="patient accounts (default 2000)")
    p.add_argument("--requests", type=int, default=1000,
                   help="most sign-ins per HTTP scenario (default 1000)")
    p.add_argument("--ping-requests", type=int, default=2000,
                   help="most pings for the baseline (default 2000, at most 5 s)")
    p.add_argument("--seconds", type=float, default=25.0,
                   help="time cap of each HTTP sign-in scenario (default 25)")
    p.add_argument("--concurrency", type=int, default=2,
                   help="client threads (default 2: the one worker always has the next "
                        "request waiting)")
    p.add_argument("--inprocess", type=int, default=30,
                   help="serial sign-ins per scenario through the test client (default 30; "
                        "0: skip)")
    _add_audit_args(p)
    cli.add_output(p)
    args = p.parse_args(argv)
    args.candidates = [c.strip() for c in args.candidates.split(",") if c.strip()]
    for c in args.candidates:
        parts = c.split(":")
        if len(parts) != 4 or parts[0] != "scrypt" or not all(x.isdigit() for x in parts[1:]):
            p.error(f"--candidates: {c!r} is not scrypt:N:r:p")
    if min(args.kdf_reps, args.candidate_reps, args.users, args.requests, args.concurrency,
           args.audit_ops, args.ping_requests) < 1 or args.inprocess < 0:
        p.error("counts must be positive")
    cli.check_local(p, args)
    return args


def _add_audit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--audit-ops", type=int, default=2000,
                   help="audit appends and as many plain inserts (default 2000)")
    p.add_argument("--audit-rounds", type=int, default=20,
                   help="alternating rounds the operations are split into (default 20)")
    p.add_argument("--audit-seconds", type=float, default=60.0,
                   help="time cap of the audit comparison (default 60)")


def run_audit(args: argparse.Namespace, tmp: Path, data_key: str) -> AuditFigures:
    """3. Audit, on its own fresh database (an empty log, the head made by the first
    append)."""
    with fresh_database(args.db, tmp / "audit", args.pg_url) as (url, db_desc):
        env = run_env(url, tmp, data_key)
        upgrade(env, db_desc)
        with app_for(env) as app:
            return measure_audit(app, args)


def run_signin(args: argparse.Namespace, tmp: Path, data_key: str
               ) -> tuple[list[Result], list[Result], list[str], str | None, str]:
    """2. Sign-in, on another fresh database: HTTP and in-process results, tracebacks,
    why the HTTP part was skipped (if it was) and the database's description."""
    http: list[Result] = []
    inproc: list[Result] = []
    problems: list[str] = []
    with fresh_database(args.db, tmp, args.pg_url) as (url, db_desc):
        env = run_env(url, tmp, data_key)
        upgrade(env, db_desc)
        with app_for(env) as app:
            t0 = time.perf_counter()
            args.emails = create_users(app, args.users)
            log(f"created {args.users} patient accounts in {time.perf_counter() - t0:.2f}s")
            if args.inprocess:
                inproc = measure_inprocess(app, args.emails, args.inprocess, 30)
        missing = [k for k in LIMIT_SETTINGS if k not in ENV_SETTINGS]
        if missing:
            log("skipping gunicorn: " + ", ".join(missing) + " not read from the environment")
            return http, inproc, problems, (
                f"**Not measured under gunicorn:** {', '.join(missing)} "
                "cannot be set from the environment (`core/config.py` `ENV_SETTINGS`), so a "
                "server cannot run with the per-account limits raised; only the in-process "
                "figures below are given."), db_desc
        http, tbs = measure_http(env, tmp, args.emails, args)
        problems += [f"gunicorn stderr:\n{tb}" for tb in tbs]
    return http, inproc, problems, None, db_desc


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = report.command("auth.py", argv)
    when = report.when()
    info = machine.machine()
    started = time.monotonic()
    kdf, candidates = measure_kdf(args)
    data_key = Fernet.generate_key().decode()
    with cli.workdir("pd-bench-auth-", args.keep) as tmp:
        (tmp / "audit").mkdir()
        audit_fig = run_audit(args, tmp, data_key)
        problems = [] if audit_fig.chain_ok else [
            "audit chain: " + "; ".join(audit_fig.problems[:5])]
        http, inproc, more, http_note, db_desc = run_signin(args, tmp, data_key)
        problems += more
    info["load_end"] = machine.load()
    body = render(kdf, candidates, http, inproc, audit_fig, info, db_desc, command, args, when,
                  http_note)
    print()
    print(body)
    for p in problems:
        print("PROBLEM\n" + p, file=sys.stderr)
    log(f"total {time.monotonic() - started:.0f}s")
    if args.write:
        report.write(SECTION, args.db, report.title(args.db), body)
    return 1 if problems or any(r.errors for r in http + inproc) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
