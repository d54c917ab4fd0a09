"""The activation API under load: ``ping``, ``activate`` and ``wrong-code`` from client
threads against a server, and the same requests one at a time in process."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench.harness import log
from bench.harness.clients import Result, drive
from bench.harness.servers import flask, gunicorn, running, tracebacks


@dataclass
class Scenario:
    name: str
    method: str
    path: str
    expect: int
    payloads: list[dict[str, Any]] | None  # None: no body; else one per request
    check: Callable[[requests.Response], bool] | None = None
    key: str | None = None  # in process: the answer must have this field


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


def _is_activation(resp: requests.Response) -> bool:
    body = resp.json()
    return isinstance(body, dict) and "coverage_starts_on" in body


def _is_wrong_code(resp: requests.Response) -> bool:
    body = resp.json()
    return isinstance(body, dict) and set(body.get("errors", {})) == {"activation_code"}


def scenarios(activations: list[dict[str, Any]], wrong: list[dict[str, Any]]
              ) -> list[Scenario]:
    return [
        Scenario("ping", "GET", "/api/v1/ping", 200, None),
        Scenario("activate", "POST", "/api/v1/activations", 201, activations, _is_activation,
                 "coverage_starts_on"),
        Scenario("wrong-code", "POST", "/api/v1/activations", 422, wrong, _is_wrong_code,
                 "errors"),
    ]


def server_command(name: str, port: int) -> list[str]:
    if name == "gunicorn":
        return gunicorn(port, "-w", "2", "-k", "gthread", "--threads", "4")
    return flask("serve", "--port", str(port))


def _sender(base: str, sc: Scenario) -> Callable[[requests.Session, int, int],
                                                 tuple[bool, int, str]]:
    url = base + sc.path

    def send(session: requests.Session, i: int, _k: int) -> tuple[bool, int, str]:
        body = sc.payloads[i] if sc.payloads is not None else None
        resp = session.request(sc.method, url, json=body, timeout=(5, 60))
        status, text = resp.status_code, resp.text
        return status == sc.expect and (sc.check is None or sc.check(resp)), status, text

    return send


def log_result(res: Result, label: str, digits: int = 1) -> None:
    log(f"{label:8} {res.scenario:10} {res.count:5} req in {res.seconds:6.2f}s = "
        f"{res.rps:7.1f}/s  p50 {res.pct(50):7.{digits}f} ms  p99 {res.pct(99):7.{digits}f} ms"
        f"  errors {res.errors}" + ("  (time-capped)" if res.truncated else ""))
    for sample in res.samples:
        log(f"  sample error: {sample}")


def bench_server(name: str, env: dict[str, str], logs: Path, port: int,
                 activations: list[dict[str, Any]], wrong: list[dict[str, Any]],
                 args: argparse.Namespace, budget: Budget) -> tuple[list[Result], list[str]]:
    """The three scenarios against server ``name``; its results and logged tracebacks."""
    n, warm, c = args.requests, args.warmup, args.concurrency
    results = []
    with running(name, server_command(name, port), port, logs, env, stop_wait=15) as server:
        for sc in scenarios(activations, wrong):
            size = len(sc.payloads) if sc.payloads is not None else n + warm
            send = _sender(server.base, sc)
            drive(Result(name, sc.name), send, 0, warm, c, 10)  # warm-up, not counted
            res = drive(Result(name, sc.name), send, warm, size - warm, c, budget.next_slice())
            results.append(res)
            log_result(res, name)
    return results, tracebacks(server.err_path)


def measure_inprocess(app: Any, activations: list[dict[str, Any]],
                      wrong: list[dict[str, Any]], warm: int, budget: Budget) -> list[Result]:
    """The same scenarios, serially through Flask's test client: the app's own cost per
    request, without HTTP, server or client overhead."""
    client = app.test_client()
    results = []
    for sc in scenarios(activations, wrong):
        payloads = sc.payloads if sc.payloads is not None else [None] * len(activations)
        res = _serially(client, sc, payloads, warm, budget.next_slice())
        res.truncated = res.count < len(activations) - warm
        results.append(res)
        log_result(res, "in-proc", digits=2)
    return results


def _serially(client: Any, sc: Scenario, payloads: list[Any], warm: int,
              seconds: float) -> Result:
    res = Result("in-process", sc.name)
    stop_at = time.monotonic() + seconds
    t_start = 0.0
    for i, body in enumerate(payloads):
        if i == warm:
            t_start = time.perf_counter()
        if time.monotonic() > stop_at:
            break
        t0 = time.perf_counter()
        resp = client.open(sc.path, method=sc.method, json=body)
        elapsed = time.perf_counter() - t0
        if i < warm:
            continue
        res.latencies.append(elapsed)
        data = resp.get_json(silent=True)
        if resp.status_code != sc.expect or (sc.key and not (isinstance(data, dict)
                                                             and sc.key in data)):
            res.note(f"HTTP {resp.status_code}: {resp.get_data(True)[:400]}")
    res.seconds = time.perf_counter() - t_start if t_start else 0.0
    res.count = len(res.latencies)
    return res

