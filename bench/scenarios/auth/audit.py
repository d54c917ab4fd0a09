"""An audit-log append against a plain insert of the same row, each with its commit, in
alternating rounds on a fresh database."""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import DeclarativeBase, mapped_column

from accounts import audit
from bench.harness import app as bench_app
from bench.harness import log
from core import clock
from core.db import UTCDateTime, writing


@dataclass
class BenchActor:
    id: int
    email: str


@dataclass
class AuditFigures:
    """Per round: seconds for ``per_round`` appends and as many plain inserts."""

    per_round: int = 0
    append_rounds: list[float] = field(default_factory=list)
    plain_rounds: list[float] = field(default_factory=list)
    chain_ok: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ops(self) -> int:
        return self.per_round * len(self.append_rounds)

    @property
    def round_ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.append_rounds, self.plain_rounds, strict=True)]

    # Medians over rounds: a WAL checkpoint or a neighbour's burst on this shared machine
    # lands in one round and would otherwise weigh on the whole.
    @property
    def append_us(self) -> float:
        return (statistics.median(self.append_rounds) / self.per_round * 1e6
                if self.append_rounds else math.nan)

    @property
    def plain_us(self) -> float:
        return (statistics.median(self.plain_rounds) / self.per_round * 1e6
                if self.plain_rounds else math.nan)

    @property
    def ratio(self) -> float:
        return statistics.median(self.round_ratios) if self.append_rounds else math.nan

    @property
    def total_ratio(self) -> float:
        return sum(self.append_rounds) / sum(self.plain_rounds) if self.plain_rounds else math.nan

    def spread(self) -> str:
        return (f"{min(self.round_ratios, default=math.nan):.2f}–"
                f"{max(self.round_ratios, default=math.nan):.2f}×")


class PlainBase(DeclarativeBase):
    pass


class PlainEntry(PlainBase):
    """A table with audit_entry's columns (same types and sizes), id from the database."""

    __tablename__ = "bench_plain_entry"
    # Plain columns, no Mapped[] annotations: the table only has to match audit_entry's.

    id = mapped_column(Integer, primary_key=True)
    at = mapped_column(UTCDateTime)
    actor_id = mapped_column(Integer)
    actor_email = mapped_column(String(254))
    action = mapped_column(String(64), index=True)
    subject = mapped_column(String(200))
    details = mapped_column(JSON)
    ip = mapped_column(String(45))
    prev_hash = mapped_column(String(64))
    hash = mapped_column(String(64))


def _workloads() -> tuple[Callable[[int], None], Callable[[int], None]]:
    """``n`` audit appends, ``n`` plain inserts: each row with its own commit."""
    db = bench_app.db
    actor = BenchActor(4242, "patient-004242@example.kz")
    details = {"how": "password"}
    fake_hash = "ab" * 32

    def appends(n: int) -> None:
        for _ in range(n):
            audit.append("auth.sign_in", actor=actor, subject=f"user:{actor.id}",
                         details=details, ip="127.0.0.1")
            db.session.commit()

    def inserts(n: int) -> None:
        for _ in range(n):
            db.session.add(PlainEntry(at=clock.now(), actor_id=actor.id,
                                      actor_email=actor.email, action="auth.sign_in",
                                      subject=f"user:{actor.id}",
                                      details=json.loads(json.dumps(details)), ip="127.0.0.1",
                                      prev_hash=fake_hash, hash=fake_hash))
            db.session.flush()
            db.session.commit()

    return appends, inserts


def measure_audit(app: Any, args: argparse.Namespace) -> AuditFigures:
    """Alternate rounds of audit appends and plain inserts, each with its own commit."""
    db = bench_app.db
    rounds = max(1, args.audit_rounds)
    figures = AuditFigures(max(1, args.audit_ops // rounds))
    appends, inserts = _workloads()
    deadline = time.monotonic() + args.audit_seconds
    with app.app_context(), writing():
        PlainBase.metadata.create_all(db.engine)
        appends(min(100, figures.per_round))  # warm-up
        inserts(min(100, figures.per_round))
        for i in range(rounds):
            if time.monotonic() > deadline:
                break
            times = {}
            order = (("plain", inserts), ("append", appends))
            for name, work in (order if i % 2 == 0 else order[::-1]):
                t0 = time.perf_counter()
                work(figures.per_round)
                times[name] = time.perf_counter() - t0
            figures.append_rounds.append(times["append"])
            figures.plain_rounds.append(times["plain"])
        db.session.remove()
        figures.problems = audit.verify()
        figures.chain_ok = not figures.problems
        db.session.remove()  # its connection holds the SQLite writer gate
        PlainBase.metadata.drop_all(db.engine)
        db.session.remove()
    log(f"audit: append+commit {figures.append_us:.0f} µs, plain insert+commit "
        f"{figures.plain_us:.0f} µs per op (medians of rounds), {figures.ops} each: "
        f"{figures.ratio:.2f}× (totals {figures.total_ratio:.2f}×, rounds {figures.spread()}); "
        "chain " + ("intact" if figures.chain_ok else f"BROKEN: {figures.problems[:3]}"))
    return figures
