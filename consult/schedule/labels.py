"""Appointments in words, in the reader's language: their status as each side sees it,
and what a self-pay appointment costs and why (shown before anything is charged)."""

from __future__ import annotations

from flask_babel import format_date
from flask_babel import gettext as _

from consult import payments
from consult.schedule.appointments import Price


def status_words(status: str, side: str = "patient") -> str:
    """An appointment's status: the patient is asked to confirm a booked one; the
    doctor reads that it waits for the patient's confirmation."""
    if status == "booked":
        return _("Booked: please confirm") if side == "patient" else _(
            "Booked, not yet confirmed by the patient")
    return {
        "confirmed": _("Confirmed"), "reschedule_requested": _("New time requested"),
        "cancelled": _("Cancelled"), "completed": _("Took place"), "no_show": _("Missed"),
    }.get(status, status)


def price_words(price: Price) -> str:
    """The price of a self-pay appointment with the reason, or what became of the
    payment: pending (charged on confirmation), paid, refunded."""
    amount = payments.money(price.amount)
    until = format_date(price.waiting_until, "long")
    if price.status == payments.PAID:
        return _("Paid by you: %(price)s ₸ (payment reference %(reference)s). Your policy's "
                 "waiting period lasts until %(date)s.", price=amount,
                 reference=price.reference, date=until)
    if price.status == payments.REFUNDED:
        return _("%(price)s ₸ refunded (payment reference %(reference)s).", price=amount,
                 reference=price.reference)
    if price.status == payments.REFUND_FAILED:
        return _("Paid by you: %(price)s ₸ (payment reference %(reference)s); being returned "
                 "by the contact centre.", price=amount, reference=price.reference)
    return _("Self-pay: %(price)s ₸ — your policy's waiting period lasts until %(date)s. "
             "Charged when you confirm.", price=amount, date=until)


def confirm_words(price: Price | None) -> str:
    """The confirm button: it says when confirming charges money, and how much."""
    if price is not None and price.status not in (payments.PAID, payments.REFUNDED,
                                                  payments.REFUND_FAILED):
        return _("Confirm and pay %(price)s ₸", price=payments.money(price.amount))
    return _("Confirm")
