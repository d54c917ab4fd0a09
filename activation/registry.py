"""Loading the insurer's registry of issued policies from CSV.

The whole file is checked before anything is written: one bad row and nothing is
imported. Re-importing a policy with the same data is a no-op; with different data
it is an error.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, select

from activation import rules
from activation.codes import code_matches, hash_code
from activation.models import PRODUCTS, Policy
from activation.services import iin_lookup
from core import clock
from core.extensions import db

REQUIRED = ("policy_number", "activation_code", "product")
OPTIONAL = ("activate_by", "iin")


@dataclass
class ImportReport:
    """What an import did, or why it did nothing."""

    added: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Row:
    line: int
    number: str
    code: str
    product: str
    activate_by: date | None
    iin: str | None


def _parse_row(line: int, raw: dict[str, str | None], today: date) -> tuple[Row | None, list[str]]:
    problems: list[str] = []
    number = (raw.get("policy_number") or "").strip()
    code = (raw.get("activation_code") or "").strip()
    product = (raw.get("product") or "").strip()
    if not number:
        problems.append("policy_number is empty")
    elif len(number) > 40 or not number.isascii() or not number.isprintable():
        problems.append(f"policy_number {number!r} is not 1-40 printable ASCII characters")
    if not code:
        problems.append("activation_code is empty")
    elif len(code) > 64 or not code.isascii() or not code.isprintable():
        problems.append("activation_code is not 1-64 printable ASCII characters")
    if product not in PRODUCTS:
        problems.append(f"product {product!r} is not one of {', '.join(PRODUCTS)}")
    activate_by = None
    if (raw.get("activate_by") or "").strip():
        try:
            activate_by = date.fromisoformat(raw["activate_by"].strip())  # type: ignore[union-attr]
        except ValueError:
            problems.append(f"activate_by {raw['activate_by']!r} is not an ISO date (YYYY-MM-DD)")
    iin = (raw.get("iin") or "").strip() or None
    if iin is not None:
        try:
            iin = rules.parse_iin(iin, today).value
        except rules.RuleError as exc:
            problems.append(f"iin {iin!r}: {exc}")
    if None in raw:  # more cells than the header has columns
        problems.append("the row has more cells than the header")
    if problems:
        return None, problems
    return Row(line, number, code, product, activate_by, iin), []


def import_csv(text: str) -> ImportReport:
    """Validate and import a registry file; flushes only when the whole file is good."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        if missing:
            report.errors.append((1, f"missing columns: {', '.join(missing)}"))
        if unknown:
            report.errors.append((1, f"unknown columns: {', '.join(unknown)}"))
        return report

    today = clock.today()
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        row, problems = _parse_row(line, raw, today)
        for problem in problems:
            report.errors.append((line, problem))
        if row is None:
            continue
        if row.number in seen:
            report.errors.append(
                (line, f"policy_number {row.number} repeats line {seen[row.number]}")
            )
            continue
        seen[row.number] = line
        rows.append(row)

    existing = _existing({r.number for r in rows})
    new_rows: list[Row] = []
    for row in rows:
        old = existing.get(row.number)
        if old is None:
            new_rows.append(row)
        elif _same(old, row):
            report.unchanged += 1
        else:
            report.errors.append(
                (row.line, f"policy_number {row.number} already exists with different data")
            )
    if report.errors:
        report.unchanged = 0
        return report
    now = clock.now()
    if new_rows:
        db.session.execute(insert(Policy), [
            {"number": r.number, "code_hash": hash_code(r.code), "product": r.product,
             "activate_by": r.activate_by,
             "expected_iin_hash": iin_lookup(r.iin) if r.iin else None, "imported_at": now,
             "failed_attempts": 0}
            for r in new_rows
        ])
    report.added = len(new_rows)
    return report


def _existing(numbers: set[str]) -> dict[str, Policy]:
    found: dict[str, Policy] = {}
    ordered = sorted(numbers)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        for policy in db.session.scalars(select(Policy).where(Policy.number.in_(chunk))):
            found[policy.number] = policy
    return found


def _same(policy: Policy, row: Row) -> bool:
    return (
        policy.product == row.product
        and policy.activate_by == row.activate_by
        and policy.expected_iin_hash == (iin_lookup(row.iin) if row.iin else None)
        and code_matches(row.code, policy.code_hash)
    )
