"""How a consultation would be paid: covered by one of the person's policies, or self-pay
during the waiting period; refused with neither. On-duty requests and specialist
bookings decide it the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from accounts.models import User
from activation.coverage import status_on
from activation.models import Activation, Insured
from consult.errors import ConsultRefused
from core.extensions import db


@dataclass(frozen=True)
class CoverageDecision:
    """How a consultation for ``insured`` requested ``on`` would be paid."""

    insured: Insured
    activation: Activation
    kind: str  # covered | self_pay
    until: date  # covered: last covered day; self_pay: last day of the waiting period
    price: int
    currency: str

    @property
    def policy_number(self) -> str:
        return self.activation.policy.number


def people_of(patient: User) -> list[Insured]:
    """The insured people of the account, in the order they were added."""
    return list(db.session.scalars(
        select(Insured).where(Insured.account_id == patient.id).order_by(Insured.id)))


def decide_coverage(patient: User, insured_id: int, on: date) -> CoverageDecision:
    """Covered when one of the person's policies is active ``on`` that day (Asia/Almaty
    calendar date); self-pay when the newest is still in its waiting period; refused
    when none is active or waiting."""
    insured = db.session.get(Insured, insured_id)
    if insured is None or insured.account_id != patient.id:
        msg = _("Choose one of the people insured on your account.")
        raise ConsultRefused(msg, errors={"insured_id": [msg]})
    activations = db.session.scalars(
        select(Activation).where(Activation.insured_id == insured.id)
        .options(joinedload(Activation.policy))
        .order_by(Activation.coverage_starts_on)
    ).all()
    waiting: Activation | None = None
    for a in activations:
        state = status_on(a.coverage_starts_on, a.coverage_ends_on, on)
        if state == "active":
            return CoverageDecision(insured, a, "covered", a.coverage_ends_on, 0, "KZT")
        if state == "waiting" and waiting is None:
            waiting = a
    if waiting is None:
        msg = _("%(name)s has no active policy and none in its waiting period, so a "
                "consultation cannot be requested. Activate a new policy to consult a doctor.",
                name=insured.full_name)
        raise ConsultRefused(msg, 422, {"insured_id": [msg]})
    price = int(current_app.config["SELF_PAY_PRICE_KZT"])
    return CoverageDecision(insured, waiting, "self_pay",
                            waiting.coverage_starts_on - timedelta(days=1), price, "KZT")
