"""What a referral shares with a specialist, as documents need to know it.

Documents know nothing of appointments: the scheduling feature, which imports documents
(never the reverse), tells them through :func:`use_referrals` which consultations are
held at a booked time and which documents each referral shares. Without it every
consultation is an on-duty one and nothing is shared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select


@dataclass(frozen=True)
class Referrals:
    """``booked_rooms()``: the ids of the consultations held at a booked time (a
    query); ``shared_in(consultation_id)``: the ids of the documents its referral shares
    (a query), None for an on-duty consultation; ``shared_with(specialist_id,
    document_id)``: a referral to that specialist, still to be held or held, shares it."""

    booked_rooms: Callable[[], Select[tuple[int]]]
    shared_in: Callable[[int], Select[tuple[int]] | None]
    shared_with: Callable[[int, int], bool]


_referrals: list[Referrals] = []


def use_referrals(referrals: Referrals) -> None:
    """Say how referrals share documents (the scheduling feature, when the app is built)."""
    _referrals[:] = [referrals]


def booked_rooms() -> Select[tuple[int]] | None:
    """The consultations held at a booked time (a query of ids), None without any."""
    return _referrals[0].booked_rooms() if _referrals else None


def shared_in(consultation_id: int) -> Select[tuple[int]] | None:
    """The documents the referral of a consultation held at a booked time shares (a
    query of ids); None for an on-duty consultation."""
    return _referrals[0].shared_in(consultation_id) if _referrals else None


def shared_with(specialist_id: int, document_id: int) -> bool:
    """A referral to the specialist, still to be held or held, shares the document."""
    return bool(_referrals) and _referrals[0].shared_with(specialist_id, document_id)
