"""Benchmark of policy activation: registry import speed and the activation API's cost.

What it measures, in one run against a fresh database it creates and drops itself:

1. **Registry import.** A generated CSV of ``--policies`` policies (both products) is
   imported with ``flask policies import FILE`` (timed end to end, interpreter start
   included) and, in this process, with ``create_app`` + ``import_csv`` + commit (a
   second CSV of the same size, so the insert path is measured again, and a re-import of
   the first file, which is the all-rows-unchanged path). Reported as rows/s; the target
   is at least 5,000 rows/s.
2. **The activation API against a trivial endpoint of the same app**, under two
   servers one after the other: gunicorn (2 gthread workers x 4 threads) and
   ``flask serve`` (threaded werkzeug). For each, ``--concurrency`` client threads
   (one keep-alive ``requests.Session`` each) send at most ``--requests`` requests per
   scenario, after a short untimed warm-up:

   * ``ping``: ``GET /api/v1/ping``, the baseline;
   * ``activate``: successful activations (201), each on a distinct imported policy,
     with a distinct valid IIN of the right age for the product and a new email;
   * ``wrong-code``: a real policy number with a wrong code (422), at most 4 attempts
     per policy so none gets locked (the 5th wrong code locks it).

   Reported per scenario: requests/s, p50, mean and p99 latency, errors (any
   unexpected status or body). The results are ratios to ``ping`` in the same run,
   since the machine is shared and noisy: activation p50 / ping p50 (target <= 5x) and
   wrong-code p50 / ping p50 (target <= 2x), and the same for throughput (ping req/s /
   scenario req/s, which follows the mean latency, so it shows a long tail that p50
   hides). The client runs on the same machine and competes with the server for the
   CPU, and its fixed cost per request (``requests``, HTTP) is part of every
   measurement: this flattens the ratios compared with the app's own cost.
3. **The app's own cost**, for reference (no target): the same three scenarios sent
   one at a time through Flask's test client in this process (``--inprocess``
   requests each), without HTTP, server or client overhead.

Run it by hand from the repository root (CI does not run it)::

    .venv/bin/python bench/activation.py                     # SQLite in a temp dir
    .venv/bin/python bench/activation.py --db postgres       # needs PostgreSQL on 127.0.0.1
    .venv/bin/python bench/activation.py --requests 500 --concurrency 4
    .venv/bin/python bench/activation.py --write             # update docs/performance.md

``--db postgres`` creates a uniquely named database on ``--pg-url`` (trust auth, by
default ``postgresql://postgres@127.0.0.1:5432/postgres``) and drops it at the end.
Only 127.0.0.1 is contacted. Every loop is bounded by a count and by
``--max-seconds`` per scenario (default 60 s) and all timed scenarios share a
``--budget`` (default 210 s), so a run ends in about 4.5 minutes at worst; with the
defaults it takes two to three minutes on a 2-core machine. The exit status is 1 when
any request got an unexpected answer or a server logged a traceback. Servers are
stopped (their process group) even when the run fails; their stderr is scanned for
tracebacks, which are printed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path and this file would shadow the
# app's ``activation`` package; the app's own code is imported from ROOT.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.harness import app as bench_app  # noqa: E402 (after sys.path is set)
from bench.harness import cli, env, log, machine, report  # noqa: E402
from bench.harness.clients import Result  # noqa: E402
from bench.harness.db import fresh_database, upgrade  # noqa: E402
from bench.harness.servers import free_port, shown  # noqa: E402
from bench.scenarios.activation.data import (  # noqa: E402
    Plan,
    PolicyRow,
    make_plan,
    make_policies,
)
from bench.scenarios.activation.importing import ImportFigures, measure_import  # noqa: E402
from bench.scenarios.activation.load import (  # noqa: E402
    Budget,
    bench_server,
    measure_inprocess,
    server_command,
)
from bench.scenarios.activation.report import SECTION, render  # noqa: E402
from core import clock  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = cli.parser(__doc__)
    p.add_argument("--requests", type=int, default=2000,
                   help="timed requests per scenario and server (default 2000)")
    p.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    p.add_argument("--warmup", type=int, default=40,
                   help="untimed requests before each scenario (default 40)")
    p.add_argument("--policies", type=int, default=20000,
                   help="policies in the generated registry (default 20000)")
    cli.add_database(p)
    p.add_argument("--servers", default="gunicorn,serve",
                   help="comma-separated subset of gunicorn,serve (default both)")
    p.add_argument("--max-seconds", type=float, default=60.0,
                   help="time cap of each timed scenario (default 60)")
    p.add_argument("--budget", type=float, default=210.0,
                   help="total time for all timed scenarios, shared among those still to "
                        "run (default 210)")
    p.add_argument("--inprocess", type=int, default=200,
                   help="serial requests per scenario through Flask's test client, in this "
                        "process, for the app's own cost without HTTP (default 200; 0: skip)")
    p.add_argument("--seed", type=int, default=20261122)
    cli.add_output(p)
    args = p.parse_args(argv)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not servers or any(s not in ("gunicorn", "serve") for s in servers):
        p.error("--servers takes gunicorn, serve or both")
    args.servers = servers
    if args.requests < 1 or args.concurrency < 1 or args.warmup < 0 or args.inprocess < 0:
        p.error("--requests and --concurrency must be positive, --warmup not negative")
    cli.check_local(p, args)
    return args


def make_run_plan(args: argparse.Namespace) -> tuple[list[PolicyRow], list[PolicyRow], Plan]:
    """The two registries (the CLI's, the in-process one) and who uses which policy."""
    today = clock.now().astimezone(report.ZONE).date()  # the app's clock: ages match its rules
    rng = random.Random(args.seed)
    per_scenario = args.requests + args.warmup
    first = make_policies("BENCH", args.policies, rng)
    second = make_policies("BENCH-B", args.policies, rng)
    inproc = [args.inprocess + 10] if args.inprocess else []
    plan = make_plan(first, [per_scenario] * len(args.servers) + inproc, today, args.seed)
    return first, second, plan


def run(args: argparse.Namespace, tmp: Path, plan: Plan, first: list[PolicyRow],
        second: list[PolicyRow]) -> tuple[list[Result], list[str], ImportFigures, str]:
    """Import, then the in-process and server scenarios; results, problems, import
    figures and the database's description."""
    results: list[Result] = []
    problems: list[str] = []
    with fresh_database(args.db, tmp, args.pg_url) as (url, db_desc):
        app_env = env.for_app(url, tmp, RATELIMIT_ACTIVATION="1000000 per minute")
        upgrade(app_env, db_desc)
        imp, app = measure_import(app_env, tmp, first, second, plan.iins)
        log(f"import: CLI {imp.rate(imp.cli_seconds):,.0f} rows/s end to end; in process "
            f"{imp.rate(imp.insert_seconds):,.0f} rows/s fresh, "
            f"{imp.rate(imp.reimport_seconds):,.0f} rows/s unchanged; create_app "
            f"{imp.create_app_seconds:.2f}s")
        budget = Budget(args.budget, 3 * len(args.servers) + (3 if args.inprocess else 0),
                        args.max_seconds)
        if args.inprocess:
            results += measure_inprocess(app, plan.activations[-1], plan.wrong[-1], 10, budget)
        bench_app.release(app)
        for i, name in enumerate(args.servers):
            res, tbs = bench_server(name, app_env, tmp, free_port(), plan.activations[i],
                                    plan.wrong[i], args, budget)
            results += res
            problems += [f"{name} stderr:\n{tb}" for tb in tbs]
    return results, problems, imp, db_desc


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = report.command("activation.py", argv)
    when = report.when()
    info = machine.machine()
    first, second, plan = make_run_plan(args)
    started = time.monotonic()
    with cli.workdir("pd-bench-", args.keep) as tmp:
        results, problems, imp, db_desc = run(args, tmp, plan, first, second)
    info["load_end"] = machine.load()
    commands = {n: shown(server_command(n, 0)) for n in args.servers}
    body = render(results, imp, info, db_desc, command, args, plan, when, commands)
    print()
    print(body)
    for p in problems:
        print("TRACEBACK IN SERVER LOG\n" + p, file=sys.stderr)
    log(f"total {time.monotonic() - started:.0f}s")
    if args.write:
        report.write(SECTION, args.db, report.title(args.db), body)
    return 1 if problems or any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
