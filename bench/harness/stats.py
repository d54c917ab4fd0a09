"""Percentiles and ratios, as the figures report them."""

from __future__ import annotations

import math


def nearest_rank(values: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (NaNs left out; NaN when there is none)."""
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return math.nan
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def pct_ms(seconds: list[float], p: float) -> float:
    """:func:`nearest_rank` of durations in seconds, in milliseconds."""
    return nearest_rank(seconds, p) * 1000


def rounded_rank(values: list[float], q: float) -> float:
    """The value at index ``round(q × (n − 1))`` of the sorted values (``q`` from 0 to 1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ratio(a: float, b: float) -> float:
    """``a / b``; NaN when ``b`` is not positive."""
    return a / b if b > 0 else math.nan


def times(a: float, b: float, digits: int = 1) -> str:
    """``a / b`` as ``1.5×``, or ``—`` when either is missing."""
    r = ratio(a, b)
    return "—" if math.isnan(r) else f"{r:.{digits}f}×"


def ms(x: float) -> str:
    """Whole milliseconds, or ``—``."""
    return "—" if math.isnan(x) else f"{x:.0f}"
