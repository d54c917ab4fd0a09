"""Sign-ins per second for one gunicorn sync worker (one core), with the worker's CPU
per request; and the same sign-ins one at a time through Flask's test client."""

from __future__ import annotations

import argparse
import itertools
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench.harness import log
from bench.harness.clients import Result, drive
from bench.harness.procfs import total_cpu
from bench.harness.servers import free_port, gunicorn, running, tracebacks
from bench.scenarios.auth.users import LIMIT_SETTINGS, PASSWORD, RAISED_LIMIT, WRONG_PASSWORD

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@dataclass
class HttpScenario:
    name: str
    method: str
    path: str
    expect: int
    password: str | None  # None: no body


SCENARIOS = (HttpScenario("ping", "GET", "/api/v1/ping", 200, None),
             HttpScenario("sign-in", "POST", "/login", 302, PASSWORD),
             HttpScenario("wrong-password", "POST", "/login", 422, WRONG_PASSWORD))


def server_command(port: int) -> list[str]:
    return gunicorn(port, "-w", "1", "-k", "sync")


def log_result(res: Result, label: str, cpu: str = "CPU") -> None:
    log(f"{label:8} {res.scenario:14} {res.count:5} in {res.seconds:6.2f}s = "
        f"{res.rps:7.1f}/s  p50 {res.pct(50):7.1f} ms  p99 {res.pct(99):7.1f} ms  "
        f"{cpu} {res.cpu_ms:.1f} ms/req  errors {res.errors}")
    for sample in res.samples:
        log(f"  sample error: {sample}")


def measure_inprocess(app: Any, emails: list[str], n: int,
                      deadline_s: float) -> list[Result]:
    """Sign-ins one at a time through Flask's test client (CSRF off, limits raised)."""
    app.config["WTF_CSRF_ENABLED"] = False
    for key in LIMIT_SETTINGS:
        app.config[key] = RAISED_LIMIT
    client = app.test_client(use_cookies=False)
    users = itertools.cycle(reversed(emails))
    results = []
    try:
        for sc in SCENARIOS[1:]:
            res = _serially(client, sc, users, n, deadline_s)
            results.append(res)
            log_result(res, "in-proc")
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    return results


def _serially(client: Any, sc: HttpScenario, users: Any, n: int, deadline_s: float) -> Result:
    res = Result("in-process", sc.name)
    cpu = 0.0
    stop_at = time.monotonic() + deadline_s
    for i in range(n + 2):
        if time.monotonic() > stop_at and res.latencies:
            break
        c0, t0 = time.process_time(), time.perf_counter()
        resp = client.post("/login", data={"email": next(users), "password": sc.password})
        elapsed, used = time.perf_counter() - t0, time.process_time() - c0
        if i < 2:  # warm-up
            continue
        res.latencies.append(elapsed)
        cpu += used
        res.seconds += elapsed
        if resp.status_code != sc.expect:
            res.note(f"HTTP {resp.status_code}: {resp.get_data(True)[:300]}")
    res.count = len(res.latencies)
    res.cpu_ms = cpu / res.count * 1000 if res.count else math.nan
    return res


def login_state(base: str) -> tuple[dict[str, str], str]:
    """Cookies and CSRF token of a fresh ``GET /login``."""
    with requests.Session() as s:
        resp = s.get(f"{base}/login", timeout=(5, 30))
        resp.raise_for_status()
        match = CSRF_RE.search(resp.text)
        if not match:
            raise RuntimeError("no csrf_token in GET /login")
        return dict(resp.cookies), match.group(1) or match.group(2)


def run_scenario(base: str, sc: HttpScenario, emails: list[str], first: int, n: int,
                 concurrency: int, max_seconds: float, worker_pids: list[int]) -> Result:
    """Up to ``n`` requests of ``sc`` from ``concurrency`` threads, users from ``first``;
    with the worker's CPU per request."""
    states = [login_state(base) for _ in range(concurrency)] if sc.password else []

    def send(session: requests.Session, i: int, k: int) -> tuple[bool, int, str]:
        kwargs: dict[str, Any] = {"timeout": (5, 60), "allow_redirects": False}
        if sc.password is not None:
            cookies, token = states[k]
            kwargs["cookies"] = cookies
            kwargs["data"] = {"email": emails[(first + i) % len(emails)],
                              "password": sc.password, "csrf_token": token}
        resp = session.request(sc.method, base + sc.path, **kwargs)
        status, text = resp.status_code, resp.text
        return status == sc.expect, status, text

    cpu0 = total_cpu(worker_pids)
    result = drive(Result("gunicorn", sc.name), send, 0, n, concurrency, max_seconds,
                   sample_chars=300, before=lambda session: session.cookies.clear())
    cpu = total_cpu(worker_pids) - cpu0
    result.cpu_ms = cpu / result.count * 1000 if result.count else math.nan
    return result


def measure_http(env: dict[str, str], tmp: Path, emails: list[str],
                 args: argparse.Namespace) -> tuple[list[Result], list[str]]:
    """The three scenarios against one gunicorn sync worker; results and tracebacks."""
    port = free_port()
    results = []
    with running("gunicorn", server_command(port), port, tmp, env, one_worker=True,
                 stop_wait=15) as server:
        pids = [server.worker] if server.worker else []
        first = 0
        for sc in SCENARIOS:
            is_ping = sc.password is None
            n = args.ping_requests if is_ping else args.requests
            seconds = min(args.seconds, 5.0) if is_ping else args.seconds
            run_scenario(server.base, sc, emails, first, 4, args.concurrency, 10, pids)  # warm
            first += 4
            res = run_scenario(server.base, sc, emails, first, n, args.concurrency, seconds,
                               pids)
            first += res.count
            results.append(res)
            log_result(res, "gunicorn", "worker CPU")
    return results, tracebacks(server.err_path)
