"""Payment for self-pay consultations, behind a small provider interface.

The consultation logic only calls :func:`provider` and the two methods of
:class:`PaymentProvider`. The embedded default is :class:`SandboxProvider`, which
marks a payment paid as soon as the patient confirms it; a real acquirer plugs in by
naming its class in ``PAYMENT_PROVIDER`` (``package.module:ClassName``).
"""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from flask import current_app
from flask_babel import gettext as _

from consult.errors import ConsultRefused

if TYPE_CHECKING:
    from consult.models import Consultation

PAID = "paid"
DECLINED = "declined"
REFUNDED = "refunded"
# The provider did not return the money: it was taken, so the receipt stays, and the
# contact centre returns it by hand.
REFUND_FAILED = "refund_failed"
NOT_REQUIRED = "not_required"


@dataclass(frozen=True)
class Charge:
    """What the patient is asked to pay: whole tenge, and a reference of ours."""

    amount: int
    currency: str
    reference: str
    description: str


@dataclass(frozen=True)
class Outcome:
    """The provider's answer: ``paid`` or ``declined``, and its own reference."""

    status: str
    provider_reference: str


class PaymentProvider(Protocol):
    def charge(self, charge: Charge) -> Outcome:
        """Take the payment; answer once it is paid or declined."""

    def refund(self, provider_reference: str, amount: int, currency: str) -> Outcome:
        """Return a payment (the consultation was cancelled before a doctor took it)."""


class SandboxProvider:
    """Pays every confirmed charge at once; for the demo and tests."""

    def charge(self, charge: Charge) -> Outcome:
        return Outcome(PAID, f"sandbox-{uuid.uuid4().hex[:16]}")

    def refund(self, provider_reference: str, amount: int, currency: str) -> Outcome:
        return Outcome(REFUNDED, provider_reference)


def provider() -> PaymentProvider:
    """The configured provider (``PAYMENT_PROVIDER``: ``sandbox`` or ``module:Class``)."""
    name = current_app.config["PAYMENT_PROVIDER"]
    if name == "sandbox":
        return SandboxProvider()
    module, _, cls = name.partition(":")
    return getattr(importlib.import_module(module), cls)()


def money(amount: int) -> str:
    """Whole tenge with thin grouping, as people read prices: ``5 000``."""
    return f"{amount:,}".replace(",", "\u00a0")


@dataclass(frozen=True)
class Receipt:
    """What the patient paid for one consultation, to show as proof of payment: the
    amount, when it was paid, its status (``paid`` or ``refunded``, with the date of the
    refund) and the provider's reference."""

    amount: int
    currency: str
    status: str
    reference: str
    paid_at: datetime | None
    refunded_at: datetime | None


def receipt(consultation: Consultation, paid_at: datetime | None) -> Receipt | None:
    """The receipt of a self-pay consultation that was paid (and perhaps refunded since);
    None when nothing was taken (covered, not paid yet, declined). ``paid_at``: when the
    charge was made (joining the queue, or confirming a specialist appointment)."""
    if consultation.coverage != "self_pay" or not consultation.payment_reference or \
            consultation.payment_status not in (PAID, REFUNDED, REFUND_FAILED):
        return None
    refunded = consultation.payment_status == REFUNDED
    return Receipt(consultation.price_amount, consultation.currency,
                   consultation.payment_status, consultation.payment_reference, paid_at,
                   consultation.cancelled_at if refunded else None)


def take_price(consultation: Consultation, description: str) -> None:
    """Charge the consultation's price (``price_amount`` in ``currency``) through the
    provider and note the payment on it (flushes nothing). Refused (402) when the
    provider declines: nothing was charged."""
    outcome = provider().charge(Charge(consultation.price_amount, consultation.currency,
                                       new_reference(), description))
    if outcome.status != PAID:
        raise ConsultRefused(_("The payment did not go through. Nothing was charged; "
                               "please try again or use another card."), 402)
    consultation.payment_status = outcome.status
    consultation.payment_reference = outcome.provider_reference


def refund(consultation: Consultation) -> bool:
    """Give back what was paid for ``consultation`` (flushes nothing): True when money
    was paid and a refund was asked for now (its result is in ``payment_status``:
    refunded, or refund_failed when the provider refused); False when nothing was paid
    or it was already given back."""
    if consultation.payment_status != PAID or not consultation.payment_reference:
        return False
    outcome = provider().refund(consultation.payment_reference, consultation.price_amount,
                                consultation.currency)
    consultation.payment_status = REFUNDED if outcome.status == REFUNDED else REFUND_FAILED
    return True


def refund_failed_words(amount: str) -> str:
    """The provider did not return the money: who will (``amount`` as :func:`money`
    writes it)."""
    return _("We could not return %(price)s ₸ automatically; the contact centre will "
             "return it and call you.", price=amount)


def new_reference() -> str:
    return f"pd-{uuid.uuid4().hex[:20]}"
