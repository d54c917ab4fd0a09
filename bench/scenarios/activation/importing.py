"""The registry import: ``flask policies import`` end to end, and ``import_csv`` in this
process on fresh rows and on an unchanged file."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from activation import rules
from activation.registry import import_csv
from bench.harness import app as bench_app
from bench.harness import env as bench_env
from bench.harness import log
from bench.harness.servers import flask, run_timed
from bench.scenarios.activation.data import PolicyRow, policies_csv
from core import clock


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
    figures.cli_startup_seconds, _ = run_timed(flask("policies", "--help"), env, 120)
    figures.cli_seconds, out = run_timed(flask("policies", "import", str(csv_path)), env, 300)
    log(f"flask policies import: {out} in {figures.cli_seconds:.2f}s")
    if f"Imported {len(first)} new" not in out:
        raise RuntimeError(f"unexpected import output: {out}")
    bench_env.adopt(env)  # in process: the same environment as the servers
    app = _import_in_process(figures, csv_path.read_text(encoding="utf-8"),
                             policies_csv(second), len(second))
    with app.app_context():  # the generated IINs must be valid by the app's own rules
        today = clock.today()
        for iin in iins:
            rules.parse_iin(iin, today)
    return figures, app


def _import_in_process(figures: ImportFigures, text1: str, text2: str, fresh: int) -> Any:
    """``create_app``, ``text2`` imported (fresh rows), ``text1`` again (all unchanged)."""
    db = bench_app.db
    t0 = time.perf_counter()
    app = bench_app.build()
    figures.create_app_seconds = time.perf_counter() - t0
    with app.app_context():
        t0 = time.perf_counter()
        report = import_csv(text2)
        db.session.commit()
        figures.insert_seconds = time.perf_counter() - t0
        if not report.ok or report.added != fresh:
            raise RuntimeError(f"in-process import failed: {report.errors[:5]}")
        t0 = time.perf_counter()
        report = import_csv(text1)
        db.session.rollback()
        figures.reimport_seconds = time.perf_counter() - t0
        if not report.ok or report.unchanged != figures.rows:
            raise RuntimeError(f"re-import was not a no-op: {report.errors[:5]}")
    return app
