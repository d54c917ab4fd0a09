"""The generated registry and which policies each scenario uses: valid IINs of the
right age, two personal_doctor policies for every child_doctor one."""

from __future__ import annotations

import csv
import io
import itertools
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from activation.rules import iin_check_digit

FULL_NAME = "Тестов Бенч Бенчович"
WRONG_CODE = "WRONG-CODE-0000"
MAX_WRONG_PER_POLICY = 4  # the app locks a policy at the 5th wrong code


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
