"""The activation figures as they go into ``docs/performance.md``."""

from __future__ import annotations

import argparse

from bench.harness import machine
from bench.harness.clients import Result
from bench.harness.report import Section
from bench.harness.stats import ratio
from bench.scenarios.activation.data import Plan
from bench.scenarios.activation.importing import ImportFigures

TARGETS = {"activate": 5.0, "wrong-code": 2.0}
IMPORT_TARGET = 5000.0  # rows/s
SECTION = Section("activation", "## Activation", """## Activation

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
""")


def render(results: list[Result], imp: ImportFigures, info: dict[str, str], db_desc: str,
           command: str, args: argparse.Namespace, plan: Plan, when: str,
           commands: dict[str, str]) -> str:
    lines = [
        f"Run {when} with `{command}`.",
        "",
        machine.line(info, db_desc) + f" Client: {args.concurrency} threads on the same "
        f"machine, up to {args.requests} timed requests per scenario after {args.warmup} "
        "warm-up requests.",
        "Servers: " + "; ".join(f"`{c}`" for c in commands.values()) + ".",
        "",
        *_import_table(imp),
        "",
        "API (latency measured by the client; ratios against `ping` on the same server):",
        "",
        "| server | scenario | requests | errors | req/s | p50 ms | mean ms | p99 ms "
        "| p50 ÷ ping p50 | ping req/s ÷ req/s | target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    rows, verdicts, notes = _api_rows(results)
    lines += rows
    if any(r.server == "in-process" for r in results):
        lines += ["", "¹ Flask's test client in the benchmark process, one request at a time: "
                  "the app's own cost per request without HTTP, server or client overhead "
                  "(p50 against ping in process: " + ", ".join(notes) + ")."]
    verdicts.insert(0, _import_verdict(imp))
    errors = sum(r.errors for r in results)
    lines += ["", "Against the targets (both the p50 and the throughput ratio must be within "
              "the target):", ""] + [f"- {v}" for v in verdicts]
    lines += ["", f"Activations used {sum(len(a) for a in plan.activations)} policies (2 "
              f"personal for 1 child), wrong codes {plan.wrong_policies} other policies; "
              f"{errors} unexpected responses in total."]
    return "\n".join(lines) + "\n"


def _import_table(imp: ImportFigures) -> list[str]:
    both = imp.create_app_seconds + imp.insert_seconds
    return [
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
        f"| in process: `create_app()` + fresh import | {both:.2f} | {imp.rate(both):,.0f} |",
    ]


def _import_verdict(imp: ImportFigures) -> str:
    ok = imp.rate(imp.insert_seconds) >= IMPORT_TARGET
    return (f"Import: {imp.rate(imp.insert_seconds):,.0f} rows/s in process, "
            f"{imp.rate(imp.cli_seconds):,.0f} rows/s end to end with the CLI "
            f"(target ≥ {IMPORT_TARGET:,.0f}): "
            + ("meets the target." if ok else "**misses the target.**"))


def _api_rows(results: list[Result]) -> tuple[list[str], list[str], list[str]]:
    """Table rows, verdicts against the targets, and the in-process notes."""
    rows, verdicts, notes = [], [], []
    by_server: dict[str, dict[str, Result]] = {}
    for r in results:
        by_server.setdefault(r.server, {})[r.scenario] = r
    for server, scen in by_server.items():
        ping = scen["ping"]
        label = "in-process¹" if server == "in-process" else server
        for name, r in scen.items():
            lat, thr = ratio(r.pct(50), ping.pct(50)), ratio(ping.rps, r.rps)
            target = TARGETS.get(name)
            if target is None:
                cells = ["—", "—", "baseline"]
            elif server == "in-process":
                cells = [f"{lat:.1f}×", f"{thr:.1f}×", "(no target)"]
                notes.append(f"{name} {lat:.0f}×")
            else:
                cells = [f"{lat:.1f}×", f"{thr:.1f}×", f"≤ {target:g}×"]
                ok = lat <= target and thr <= target
                verdicts.append(f"{server}, {name}: p50 {lat:.1f}×, throughput {thr:.1f}× "
                                f"the ping baseline (target ≤ {target:g}×): "
                                + ("meets the target." if ok else "**misses the target.**"))
            more = " (time-capped)" if r.truncated else ""
            rows.append(f"| {label} | {name} | {r.count}{more} | {r.errors} | {r.rps:,.0f} | "
                        f"{r.pct(50):.1f} | {r.mean:.1f} | {r.pct(99):.1f} | "
                        + " | ".join(cells) + " |")
    return rows, verdicts, notes
