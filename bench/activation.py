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
import contextlib
import csv
import io
import itertools
import logging
import math
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path and this file would shadow the
# app's ``activation`` package; the app's own code is imported from ROOT.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin" / "flask").exists() \
    else Path(sys.executable).parent
DOC = ROOT / "docs" / "performance.md"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"  # noqa: S105 (fixed on purpose)
CODE_KEY = "bench-activation-code-key-0123456789"
ZONE = ZoneInfo("Asia/Almaty")  # the app's default TIMEZONE
FULL_NAME = "Тестов Бенч Бенчович"
WRONG_CODE = "WRONG-CODE-0000"
DATA_KEY = "YmVuY2gtZGF0YS1rZXktbm90LWZvci1wcm9kdWN0aW8="  # a Fernet key for the run
DOCUMENT_KEY = "bench:YmVuY2gtZG9jdW1lbnQta2V5LW5vdC1mb3ItcHJvZCE"  # AES-256 for the run
MAX_WRONG_PER_POLICY = 4  # the app locks a policy at the 5th wrong code
TARGETS = {"activate": 5.0, "wrong-code": 2.0}
IMPORT_TARGET = 5000.0  # rows/s
# Settings the app reads from the environment: the servers get only ours.
APP_ENV = ("DATABASE_URL", "SECRET_KEY", "BASE_URL", "TIMEZONE", "MAIL_SERVER", "MAIL_PORT",
           "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_USERNAME", "MAIL_PASSWORD",
           "MAIL_DEFAULT_SENDER", "REDIS_URL", "ACTIVATION_CODE_KEY", "PROXY_FIX_X_FOR",
           "INSURER_NAME", "CONTACT_CENTRE_PHONE", "SELF_PAY_PRICE_KZT",
           "RATELIMIT_ACTIVATION", "RATELIMIT_LOGIN", "INSTANCE_PATH", "FLASK_APP",
           "DATA_KEYS", "DOCUMENT_KEYS")


# --------------------------------------------------------------------------- IINs

from activation.rules import iin_check_digit  # noqa: E402  (after sys.path is set)
from bench._common import (  # noqa: E402, F401
    free_port,
    fresh_database,
    log,
    machine,
    stop_group,
    tracebacks,
    wait_until_up,
)
from core import clock  # noqa: E402


class IinFactory:
    """Distinct valid IINs: adults (19-80) or children (under 17), random sex."""

    def __init__(self, today: date, seed: int):
        self.today = today
        self.rng = random.Random(seed)
        self.used: set[str] = set()

    def make(self, child: bool) -> str:
        for _ in range(10_000):
            days = self.rng.randint(30, 17 * 365) if child else self.rng.randint(19 * 366,
                                                                                  80 * 365)
            born = self.today - timedelta(days=days)
            female = self.rng.random() < 0.5
            if born.year >= 2000:
                century = "6" if female else "5"
            else:
                century = "4" if female else "3"
            first11 = f"{born:%y%m%d}{century}{self.rng.randint(0, 9999):04d}"
            check = iin_check_digit(first11)
            if check is None:
                continue
            iin = f"{first11}{check}"
            if iin not in self.used:
                self.used.add(iin)
                return iin
        raise RuntimeError("could not find a fresh valid IIN")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class PolicyRow:
    number: str
    code: str
    product: str


def make_policies(prefix: str, count: int, rng: Any) -> list[PolicyRow]:
    """``count`` policies, two personal_doctor for every child_doctor."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    rows = []
    for i in range(count):
        product = "child_doctor" if i % 3 == 2 else "personal_doctor"
        raw = "".join(rng.choice(alphabet) for _ in range(12))
        rows.append(PolicyRow(f"{prefix}-{i + 1:07d}", f"{raw[:4]}-{raw[4:8]}-{raw[8:]}",
                              product))
    return rows


def policies_csv(rows: list[PolicyRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["policy_number", "activation_code", "product"])
    writer.writerows((r.number, r.code, r.product) for r in rows)
    return out.getvalue()


# --------------------------------------------------------------------------- database


def app_env(database_url: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in APP_ENV}
    env.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "ACTIVATION_CODE_KEY": CODE_KEY,
        "DATA_KEYS": DATA_KEY,
        "DOCUMENT_KEYS": DOCUMENT_KEY,
        "RATELIMIT_ACTIVATION": "1000000 per minute",
        "INSTANCE_PATH": str(tmp / "instance"),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def flask_cmd(*args: str) -> list[str]:
    return [str(BIN / "flask"), "--app", "wsgi", *args]


def run_timed(argv: list[str], env: dict[str, str], timeout: float) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({proc.returncode}):\n"
                           f"{proc.stdout}\n{proc.stderr}")
    return elapsed, proc.stdout.strip()


# --------------------------------------------------------------------------- import


@dataclass
class ImportFigures:
    rows: int
    cli_seconds: float = 0.0
    cli_startup_seconds: float = 0.0
    create_app_seconds: float = 0.0
    insert_seconds: float = 0.0
    reimport_seconds: float = 0.0

    def rate(self, seconds: float) -> float:
        return self.rows / seconds if seconds > 0 else math.inf


def measure_import(env: dict[str, str], tmp: Path, first: list[PolicyRow],
                   second: list[PolicyRow], iins: list[str]) -> tuple[ImportFigures, Any]:
    """Time the CLI import of ``first`` and the in-process import of ``second``; return the
    figures and the app built in this process."""
    figures = ImportFigures(rows=len(first))
    csv_path = tmp / "policies.csv"
    csv_path.write_text(policies_csv(first), encoding="utf-8")
    figures.cli_startup_seconds, _ = run_timed(flask_cmd("policies", "--help"), env, 120)
    figures.cli_seconds, out = run_timed(flask_cmd("policies", "import", str(csv_path)), env,
                                         300)
    log(f"flask policies import: {out} in {figures.cli_seconds:.2f}s")
    if f"Imported {len(first)} new" not in out:
        raise RuntimeError(f"unexpected import output: {out}")

    # In-process: the same environment as the servers, set in this process.
    for key in APP_ENV:
        os.environ.pop(key, None)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "ACTIVATION_CODE_KEY",
                                           "DATA_KEYS", "DOCUMENT_KEYS", "INSTANCE_PATH",
                                           "RATELIMIT_ACTIVATION")})
    from activation import rules
    from activation.registry import import_csv
    from core.app import create_app
    from core.extensions import db

    text2 = policies_csv(second)
    text1 = csv_path.read_text(encoding="utf-8")
    t0 = time.perf_counter()
    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)  # create_app sets INFO for everything
    figures.create_app_seconds = time.perf_counter() - t0
    with app.app_context():
        t0 = time.perf_counter()
        report = import_csv(text2)
        db.session.commit()
        figures.insert_seconds = time.perf_counter() - t0
        if not report.ok or report.added != len(second):
            raise RuntimeError(f"in-process import failed: {report.errors[:5]}")
        t0 = time.perf_counter()
        report = import_csv(text1)
        db.session.rollback()
        figures.reimport_seconds = time.perf_counter() - t0
        if not report.ok or report.unchanged != len(first):
            raise RuntimeError(f"re-import was not a no-op: {report.errors[:5]}")
        # The generated IINs must be valid by the app's own rules.
        from core import clock

        today = clock.today()
        for iin in iins:
            rules.parse_iin(iin, today)
    return figures, app


def measure_inprocess(app: Any, activations: list[dict[str, Any]],
                      wrong: list[dict[str, Any]], warm: int, budget: Budget) -> list[Result]:
    """The same scenarios, serially through Flask's test client: the app's own cost per
    request, without HTTP, server or client overhead."""

    client = app.test_client()
    n = len(activations) - warm
    scenarios = [
        ("ping", "GET", "/api/v1/ping", 200, [None] * len(activations), None),
        ("activate", "POST", "/api/v1/activations", 201, activations, "coverage_starts_on"),
        ("wrong-code", "POST", "/api/v1/activations", 422, wrong, "errors"),
    ]
    results = []
    for name, method, path, expect, payloads, key in scenarios:
        res = Result("in-process", name)
        stop_at = time.monotonic() + budget.next_slice()
        t_start = 0.0
        for i, body in enumerate(payloads):
            if i == warm:
                t_start = time.perf_counter()
            if time.monotonic() > stop_at:
                break
            t0 = time.perf_counter()
            resp = client.open(path, method=method, json=body)
            elapsed = time.perf_counter() - t0
            if i < warm:
                continue
            res.latencies.append(elapsed)
            data = resp.get_json(silent=True)
            if resp.status_code != expect or (key and not (isinstance(data, dict)
                                                             and key in data)):
                res.errors += 1
                if len(res.samples) < 3:
                    res.samples.append(f"HTTP {resp.status_code}: {resp.get_data(True)[:400]}")
        res.seconds = time.perf_counter() - t_start if t_start else 0.0
        res.count = len(res.latencies)
        res.truncated = res.count < n
        results.append(res)
        log(f"{'in-proc':8} {name:10} {res.count:5} req in {res.seconds:6.2f}s = "
            f"{res.rps:7.1f}/s  p50 {res.pct(50):7.2f} ms  p99 {res.pct(99):7.2f} ms  "
            f"errors {res.errors}")
        for sample in res.samples:
            log(f"  sample error: {sample}")
    return results


def release(app: Any) -> None:
    """Close this process's database connections before the servers start."""
    from core.extensions import db

    with app.app_context():
        db.engine.dispose()


# --------------------------------------------------------------------------- load


@dataclass
class Scenario:
    name: str
    method: str
    path: str
    expect: int
    payloads: list[dict[str, Any]] | None  # None: no body; else one per request
    check: Callable[[requests.Response], bool] | None = None


@dataclass
class Result:
    server: str
    scenario: str
    count: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def mean(self) -> float:
        """Mean latency in milliseconds."""
        return sum(self.latencies) / len(self.latencies) * 1000 if self.latencies else math.nan

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def pct(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1] * 1000


def drive(base: str, sc: Scenario, start: int, n: int, concurrency: int, max_seconds: float,
          server: str) -> Result:
    """Send requests ``start .. start+n-1`` of ``sc`` from ``concurrency`` threads."""
    result = Result(server, sc.name)
    counter = itertools.count(start)
    lock = threading.Lock()
    stop_at = time.monotonic() + max_seconds
    url = base + sc.path

    def client() -> None:
        lat: list[float] = []
        errors = 0
        samples: list[str] = []
        with requests.Session() as session:
            while time.monotonic() < stop_at:
                i = next(counter)
                if i >= start + n:
                    break
                body = sc.payloads[i] if sc.payloads is not None else None
                t0 = time.perf_counter()
                try:
                    resp = session.request(sc.method, url, json=body, timeout=(5, 60))
                    status, text = resp.status_code, resp.text
                    ok = status == sc.expect and (sc.check is None or sc.check(resp))
                except requests.RequestException as exc:
                    status, text, ok = 0, f"{type(exc).__name__}: {exc}", False
                lat.append(time.perf_counter() - t0)
                if not ok:
                    errors += 1
                    if len(samples) < 3:
                        samples.append(f"HTTP {status}: {text[:400]}")
        with lock:
            result.latencies.extend(lat)
            result.errors += errors
            result.samples.extend(samples[: max(0, 3 - len(result.samples))])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(client) for _ in range(concurrency)]:
            future.result()
    result.seconds = time.perf_counter() - t0
    result.count = len(result.latencies)
    result.truncated = result.count < n
    return result


def _has_control_socket() -> bool:
    out = subprocess.run([str(BIN / "gunicorn"), "--help"], capture_output=True, text=True,
                         timeout=60, check=False).stdout
    return "--no-control-socket" in out


def server_command(name: str, port: int) -> list[str]:
    if name == "gunicorn":
        # --no-control-socket: gunicorn >= 24 otherwise listens on ~/.gunicorn/gunicorn.ctl,
        # shared with any other gunicorn of the same user.
        extra = ["--no-control-socket"] if _has_control_socket() else []
        return [str(BIN / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "4",
                "-b", f"127.0.0.1:{port}", *extra, "wsgi:app"]
    return flask_cmd("serve", "--port", str(port))


class Budget:
    """Share a total time among the timed scenarios still to run, so a slow machine
    shortens every scenario a little rather than overrunning the run."""

    def __init__(self, seconds: float, parts: int, cap: float):
        self.deadline = time.monotonic() + seconds
        self.parts = parts
        self.cap = cap

    def next_slice(self) -> float:
        share = (self.deadline - time.monotonic()) / max(1, self.parts)
        self.parts = max(0, self.parts - 1)
        return max(2.0, min(self.cap, share))


@contextlib.contextmanager
def running_server(name: str, argv: list[str], env: dict[str, str], port: int,
                   logs: Path) -> Iterator[Path]:
    """Start ``argv`` in its own process group; yield its stderr path; always stop it."""
    err_path = logs / f"{name}.stderr"
    with open(logs / f"{name}.stdout", "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_up(proc, port, name, err_path)
        log(f"{name} is up on 127.0.0.1:{port} (pid {proc.pid})")
        yield err_path
    finally:
        stop_group(proc, wait=15)
        log(f"{name} stopped")


# --------------------------------------------------------------------------- plan


@dataclass
class Plan:
    """Which policies each server's scenarios use; nothing is used twice."""

    activations: list[list[dict[str, Any]]]  # per server
    wrong: list[list[dict[str, Any]]]  # per server
    wrong_policies: int
    iins: list[str]


def make_plan(policies: list[PolicyRow], sizes: list[int], today: date, seed: int) -> Plan:
    """One batch of activations and one of wrong codes per slot, of ``sizes[slot]`` each."""
    need = sum(sizes)
    if len(policies) < need + math.ceil(need / MAX_WRONG_PER_POLICY):
        raise SystemExit(f"--policies {len(policies)} is too few for {need} activations and "
                         f"{need} wrong codes; raise --policies")
    iins = IinFactory(today, seed)
    made: list[str] = []
    activate_rows = iter(policies[:need])
    rest = policies[need:]
    per_policy = max(1, math.ceil(need / len(rest)))
    wrong_rows = iter([p for p in rest for _ in range(per_policy)][:need])
    adult = "871008401427"
    activations, wrong = [], []
    serial = itertools.count(1)
    for size in sizes:
        batch = []
        for row in itertools.islice(activate_rows, size):
            iin = iins.make(child=row.product == "child_doctor")
            made.append(iin)
            batch.append({"policy_number": row.number, "activation_code": row.code,
                          "iin": iin, "full_name": FULL_NAME,
                          "email": f"bench-{next(serial)}@example.kz", "consent": True})
        activations.append(batch)
        wrong.append([{"policy_number": p.number, "activation_code": WRONG_CODE, "iin": adult,
                       "full_name": FULL_NAME, "email": "bench-wrong@example.kz",
                       "consent": True} for p in itertools.islice(wrong_rows, size)])
    return Plan(activations, wrong, len({p["policy_number"] for b in wrong for p in b}), made)


def _is_activation(resp: requests.Response) -> bool:
    body = resp.json()
    return isinstance(body, dict) and "coverage_starts_on" in body


def _is_wrong_code(resp: requests.Response) -> bool:
    body = resp.json()
    return isinstance(body, dict) and set(body.get("errors", {})) == {"activation_code"}


def bench_server(name: str, argv: list[str], env: dict[str, str], port: int, logs: Path,
                 activations: list[dict[str, Any]], wrong: list[dict[str, Any]],
                 args: argparse.Namespace, budget: Budget) -> tuple[list[Result], list[str]]:
    n, warm, c = args.requests, args.warmup, args.concurrency
    base = f"http://127.0.0.1:{port}"
    scenarios = [
        Scenario("ping", "GET", "/api/v1/ping", 200, None),
        Scenario("activate", "POST", "/api/v1/activations", 201, activations, _is_activation),
        Scenario("wrong-code", "POST", "/api/v1/activations", 422, wrong, _is_wrong_code),
    ]
    results = []
    with running_server(name, argv, env, port, logs) as err_path:
        for sc in scenarios:
            size = len(sc.payloads) if sc.payloads is not None else n + warm
            timed = size - warm
            drive(base, sc, 0, warm, c, 10, name)  # warm-up, not counted
            res = drive(base, sc, warm, timed, c, budget.next_slice(), name)
            results.append(res)
            log(f"{name:8} {sc.name:10} {res.count:5} req in {res.seconds:6.2f}s = "
                f"{res.rps:7.1f}/s  p50 {res.pct(50):7.1f} ms  p99 {res.pct(99):7.1f} ms  "
                f"errors {res.errors}" + ("  (time-capped)" if res.truncated
                                          else ""))
            for sample in res.samples:
                log(f"  sample error: {sample}")
    return results, tracebacks(err_path)


# --------------------------------------------------------------------------- report


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def render(results: list[Result], imp: ImportFigures, info: dict[str, str], db_desc: str,
           command: str, args: argparse.Namespace, plan: Plan, when: str,
           commands: dict[str, str]) -> str:
    lines = [
        f"Run {when} with `{command}`.",
        "",
        f"Machine: {info['nproc']} CPU(s) ({info['cpu']}), Python {info['python']}, "
        f"{db_desc}; load average {info['load']} at the start, {info['load_end']} at the "
        f"end. Client: {args.concurrency} threads on the same machine, up to "
        f"{args.requests} timed requests per scenario after {args.warmup} warm-up requests.",
        "Servers: " + "; ".join(f"`{c}`" for c in commands.values()) + ".",
        "",
        f"Registry import ({imp.rows:,} rows, target ≥ {IMPORT_TARGET:,.0f} rows/s):",
        "",
        "| how | seconds | rows/s |",
        "|---|---:|---:|",
        f"| `flask policies import` end to end | {imp.cli_seconds:.2f} | "
        f"{imp.rate(imp.cli_seconds):,.0f} |",
        f"| of which CLI start-up (`flask policies --help`) | {imp.cli_startup_seconds:.2f} | |",
        f"| in process: `import_csv` + commit, fresh rows | {imp.insert_seconds:.2f} | "
        f"{imp.rate(imp.insert_seconds):,.0f} |",
        f"| in process: re-import, all rows unchanged | {imp.reimport_seconds:.2f} | "
        f"{imp.rate(imp.reimport_seconds):,.0f} |",
        f"| in process: `create_app()` | {imp.create_app_seconds:.2f} | |",
        f"| in process: `create_app()` + fresh import | "
        f"{imp.create_app_seconds + imp.insert_seconds:.2f} | "
        f"{imp.rate(imp.create_app_seconds + imp.insert_seconds):,.0f} |",
        "",
        "API (latency measured by the client; ratios against `ping` on the same server):",
        "",
        "| server | scenario | requests | errors | req/s | p50 ms | mean ms | p99 ms "
        "| p50 ÷ ping p50 | ping req/s ÷ req/s | target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    verdicts = []
    notes = []
    by_server: dict[str, dict[str, Result]] = {}
    for r in results:
        by_server.setdefault(r.server, {})[r.scenario] = r
    for server, scen in by_server.items():
        ping = scen["ping"]
        label = "in-process¹" if server == "in-process" else server
        for name, r in scen.items():
            lat = ratio(r.pct(50), ping.pct(50))
            thr = ratio(ping.rps, r.rps)
            target = TARGETS.get(name)
            if target is None:
                cells = ["—", "—", "baseline"]
            elif server == "in-process":
                cells = [f"{lat:.1f}×", f"{thr:.1f}×", "(no target)"]
            else:
                cells = [f"{lat:.1f}×", f"{thr:.1f}×", f"≤ {target:g}×"]
            more = " (time-capped)" if r.truncated else ""
            lines.append(f"| {label} | {name} | {r.count}{more} | {r.errors} | {r.rps:,.0f} | "
                         f"{r.pct(50):.1f} | {r.mean:.1f} | {r.pct(99):.1f} | "
                         + " | ".join(cells) + " |")
            if target is None:
                continue
            if server == "in-process":
                notes.append(f"{name} {lat:.0f}×")
                continue
            ok = lat <= target and thr <= target
            verdicts.append(f"{server}, {name}: p50 {lat:.1f}×, throughput {thr:.1f}× "
                            f"the ping baseline (target ≤ {target:g}×): "
                            + ("meets the target." if ok else "**misses the target.**"))
    if "in-process" in by_server:
        lines += ["", "¹ Flask's test client in the benchmark process, one request at a time: "
                  "the app's own cost per request without HTTP, server or client overhead "
                  "(p50 against ping in process: " + ", ".join(notes) + ")."]
    imp_ok = imp.rate(imp.insert_seconds) >= IMPORT_TARGET
    verdicts.insert(0, f"Import: {imp.rate(imp.insert_seconds):,.0f} rows/s in process, "
                       f"{imp.rate(imp.cli_seconds):,.0f} rows/s end to end with the CLI "
                       f"(target ≥ {IMPORT_TARGET:,.0f}): "
                       + ("meets the target." if imp_ok else "**misses the target.**"))
    errors = sum(r.errors for r in results)
    lines += ["", "Against the targets (both the p50 and the throughput ratio must be within "
              "the target):", ""] + [f"- {v}" for v in verdicts]
    lines += ["", f"Activations used {sum(len(a) for a in plan.activations)} policies (2 "
              f"personal for 1 child), wrong codes {plan.wrong_policies} other policies; "
              f"{errors} unexpected responses in total."]
    return "\n".join(lines) + "\n"


INTRO = """# Performance

How we measure: each benchmark compares the operation with a trivial baseline measured
in the same run on the same server (for the API, `GET /api/v1/ping`), and we read the
ratios, not the absolute figures: the machines we run on are shared and noisy. The
benchmarks are run by hand (`.venv/bin/python bench/<name>.py --write` updates this
file); CI does not run benchmarks.
"""

SECTION = """## Activation

`bench/activation.py` (see its docstring) imports a generated registry of policies,
then drives the activation API under gunicorn (`-w 2 -k gthread --threads 4`) and
under `flask serve` (threaded werkzeug), each on a fresh database it creates and drops:
successful activations (each on its own policy, with a new email and a distinct valid
IIN), wrong-code attempts (at most 4 per policy, below the lock), and `/api/v1/ping` as
the baseline, from 8 client threads on the same machine. Targets: a successful
activation costs at most 5× the baseline, a wrong-code attempt at most 2×, in p50
latency and in throughput; the import runs at 5,000 rows/s or more. The `in-process`
rows send the same requests one at a time through Flask's test client: the app's own
cost, with no target, to show how much of the HTTP figures is fixed overhead.
"""


def write_doc(db: str, body: str) -> None:
    begin, end = f"<!-- bench:activation:{db}:begin -->", f"<!-- bench:activation:{db}:end -->"
    block = f"{begin}\n### {'SQLite' if db == 'sqlite' else 'PostgreSQL'}\n\n{body}{end}\n"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else INTRO
    if "## Activation" not in text:
        text = text.rstrip("\n") + "\n\n" + SECTION
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block.rstrip("\n") + rest.split(end, 1)[1]
    else:
        start = text.index("## Activation")
        nxt = text.find("\n## ", start + 1)
        cut = len(text) if nxt < 0 else nxt + 1
        text = text[:cut].rstrip("\n") + "\n\n" + block + ("\n" + text[cut:] if nxt >= 0
                                                           else "")
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    log(f"updated {DOC.relative_to(ROOT)}")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--requests", type=int, default=2000,
                   help="timed requests per scenario and server (default 2000)")
    p.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    p.add_argument("--warmup", type=int, default=40,
                   help="untimed requests before each scenario (default 40)")
    p.add_argument("--policies", type=int, default=20000,
                   help="policies in the generated registry (default 20000)")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                   help="maintenance database used to create and drop the bench database")
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
    p.add_argument("--write", action="store_true", help="update docs/performance.md")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite)")
    args = p.parse_args(argv)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not servers or any(s not in ("gunicorn", "serve") for s in servers):
        p.error("--servers takes gunicorn, serve or both")
    args.servers = servers
    if args.requests < 1 or args.concurrency < 1 or args.warmup < 0 or args.inprocess < 0:
        p.error("--requests and --concurrency must be positive, --warmup not negative")
    if urlsplit(args.pg_url).hostname not in ("127.0.0.1", "localhost"):
        p.error("--pg-url must point at 127.0.0.1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = shlex.join([".venv/bin/python", "bench/activation.py", *argv])
    when = clock.now().astimezone(ZONE).strftime("%Y-%m-%d %H:%M %Z")
    info = machine()
    today = clock.now().astimezone(ZONE).date()  # the app's clock: ages match its rules
    rng = random.Random(args.seed)
    per_scenario = args.requests + args.warmup
    first = make_policies("BENCH", args.policies, rng)
    second = make_policies("BENCH-B", args.policies, rng)
    inproc = [args.inprocess + 10] if args.inprocess else []
    plan = make_plan(first, [per_scenario] * len(args.servers) + inproc, today, args.seed)
    started = time.monotonic()

    tmp = Path(tempfile.mkdtemp(prefix="pd-bench-"))
    (tmp / "instance").mkdir()
    all_results: list[Result] = []
    problems: list[str] = []
    try:
        with fresh_database(args.db, tmp, args.pg_url) as (url, db_desc):
            env = app_env(url, tmp)
            seconds, _ = run_timed(flask_cmd("db", "upgrade"), env, 180)
            log(f"flask db upgrade: {seconds:.2f}s ({db_desc})")
            imp, app = measure_import(env, tmp, first, second, plan.iins)
            log(f"import: CLI {imp.rate(imp.cli_seconds):,.0f} rows/s end to end; in process "
                f"{imp.rate(imp.insert_seconds):,.0f} rows/s fresh, "
                f"{imp.rate(imp.reimport_seconds):,.0f} rows/s unchanged; create_app "
                f"{imp.create_app_seconds:.2f}s")
            budget = Budget(args.budget, 3 * len(args.servers) + (3 if args.inprocess else 0),
                            args.max_seconds)
            if args.inprocess:
                all_results += measure_inprocess(app, plan.activations[-1], plan.wrong[-1], 10,
                                                 budget)
            release(app)
            for i, name in enumerate(args.servers):
                port = free_port()
                cmd = server_command(name, port)
                results, tbs = bench_server(name, cmd, env, port, tmp, plan.activations[i],
                                            plan.wrong[i], args, budget)
                all_results += results
                for tb in tbs:
                    problems.append(f"{name} stderr:\n{tb}")
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    info["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    commands = {n: shlex.join(server_command(n, 0)).replace(str(ROOT) + "/", "")
                .replace("127.0.0.1:0", "127.0.0.1:PORT").replace("--port 0", "--port PORT")
                for n in args.servers}
    body = render(all_results, imp, info, db_desc, command, args, plan, when, commands)
    print()
    print(body)
    for p in problems:
        print("TRACEBACK IN SERVER LOG\n" + p, file=sys.stderr)
    log(f"total {time.monotonic() - started:.0f}s")
    if args.write:
        write_doc(args.db, body)
    return 1 if problems or any(r.errors for r in all_results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
