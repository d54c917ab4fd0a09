"""Free-slot search for a specialty with 50 specialists over 14 days (issue 7).

Builds a fresh database (SQLite file, or PostgreSQL with ``--db postgres``): one
specialty with 30-minute slots, 50 specialists working Monday–Friday 09:00–13:00 and
14:00–18:00 (Asia/Almaty), a fifth of them with a day off and an extra Saturday in the
fortnight, and about a third of the slots booked. Then times, in this process,
``consult.schedule.slots.free_slots`` for the next 14 days (the doctor's referral
form asks exactly this), against a baseline measured in the same run: the same three
queries alone (hours, exceptions, bookings), so the ratio shows what the slot
arithmetic adds. Target (issue 7): p95 under 50 ms on PostgreSQL.

    .venv/bin/python bench/slots.py [--db postgres] [--runs 300]

Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time as walltime
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path and bench/activation.py would shadow
# the app's ``activation`` package; the app's own code is imported from ROOT.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.harness import app as bench_app  # noqa: E402
from bench.harness import cli, log, machine  # noqa: E402
from bench.harness.db import fresh_database  # noqa: E402
from bench.harness.stats import rounded_rank  # noqa: E402
from bench.scenarios.slots.data import DAYS, FIRST_DAY, SPECIALISTS, build  # noqa: E402
from consult.models import Specialty  # noqa: E402
from consult.schedule import slots  # noqa: E402
from consult.schedule.models import (  # noqa: E402
    HOLDING,
    Appointment,
    AvailabilityException,
    WorkingHours,
)
from core import clock  # noqa: E402


def _queries(specialty: Any, ids: list[int]) -> dict[str, Callable[[], Any]]:
    """The search, and its baseline: the same three queries alone."""
    db = bench_app.db

    def baseline() -> None:
        end = FIRST_DAY + timedelta(days=DAYS)
        db.session.execute(select(WorkingHours).where(
            WorkingHours.doctor_id.in_(ids))).all()
        db.session.execute(select(AvailabilityException).where(
            AvailabilityException.doctor_id.in_(ids),
            AvailabilityException.day.between(FIRST_DAY, end))).all()
        db.session.execute(select(Appointment.specialist_id, Appointment.starts_at)
                           .where(Appointment.specialist_id.in_(ids),
                                  Appointment.status.in_(HOLDING))).all()

    def search() -> int:
        return len(slots.free_slots(specialty, FIRST_DAY, DAYS))

    return {"baseline": baseline, "search": search}


def measure(queries: dict[str, Callable[[], Any]], runs: int) -> tuple[dict[str, list[float]],
                                                                       int]:
    """ms per run of each query, interleaved (the same machine state for both) after a
    warm-up; and the number of free slots found."""
    db = bench_app.db
    for _ in range(20):  # warm-up
        queries["search"]()
        queries["baseline"]()
        db.session.rollback()
    timings: dict[str, list[float]] = {"baseline": [], "search": []}
    found = 0
    for _ in range(runs):
        for name, fn in queries.items():
            start = walltime.perf_counter()
            result = fn()
            timings[name].append((walltime.perf_counter() - start) * 1000)
            db.session.rollback()
            if name == "search":
                found = result
    return timings, found


def main(argv: list[str]) -> int:
    p = cli.parser(__doc__)
    cli.add_database(p)
    p.add_argument("--runs", type=int, default=300)
    p.add_argument("--no-settle", action="store_true",
                   help="skip core.app.settle_memory (gc.freeze) after loading")
    args = p.parse_args(argv)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp, \
            fresh_database(args.db, Path(tmp), args.pg_url, "pd_bench_slots") as (url, desc):
        os.environ.update(INSTANCE_PATH=tmp)
        app = bench_app.build({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                               "SECRET_KEY": "bench", "ACTIVATION_CODE_KEY": "bench"},
                              quiet=False)
        with app.app_context():
            bench_app.db.create_all()
            clock.freeze(datetime.combine(FIRST_DAY, time(7), clock.zone()).astimezone(UTC))
            specialty_id, booked = build(rng)
            specialty = bench_app.db.session.get(Specialty, specialty_id)
            ids = slots.specialists_of(specialty)
            bench_app.db.session.commit()
            if not args.no_settle:  # as `flask serve` and gunicorn workers do after loading
                bench_app.settle_memory()
            timings, found = measure(_queries(specialty, ids), args.runs)
            report(desc, booked, found, timings)
        bench_app.release(app)
    return 0


def report(desc: str, booked: int, found: int, timings: dict[str, list[float]]) -> None:
    log(f"{desc}; {machine.machine()}")
    log(f"{SPECIALISTS} specialists, {DAYS} days, {booked} booked, {found} free")
    for name, values in timings.items():
        log(f"{name:>8}: p50 {statistics.median(values):6.2f} ms  "
            f"p95 {rounded_rank(values, 0.95):6.2f} ms  max {max(values):6.2f} ms")
    ratio = rounded_rank(timings["search"], 0.95) / rounded_rank(timings["baseline"], 0.95)
    log(f"search / baseline at p95: {ratio:.2f}x")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
