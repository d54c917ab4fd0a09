"""A patient asks for an on-duty doctor, or leaves the queue.

Plain functions over the session: they flush, never commit. The caller's unit of work
commits once and only then announces the change (:mod:`consult.realtime`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select, update

from accounts.models import User
from activation.models import Insured
from consult import payments
from consult.access import own_consultation
from consult.coverage import CoverageDecision, decide_coverage
from consult.duty import redflags
from consult.errors import (
    ConsultRefused,
    OpenConsultationExists,
    RedFlagsNeedChoice,
    SelfPayNeedsConfirmation,
)
from consult.models import CHANNELS, Consultation
from consult.text import as_id, clean_text
from core import clock
from core.crypto import encrypt
from core.db import rowcount
from core.extensions import db

COMPLAINT_MAX = 2000
OPEN = ("waiting", "active")


@dataclass(frozen=True)
class ConsultationRequest:
    insured_id: Any
    complaint: Any
    channel: Any
    confirm_self_pay: bool = False
    # The red-flag checklist ({sign: bool}); None when the client did not ask it (API).
    red_flags: Any = None
    continue_anyway: bool = False  # the patient saw the emergency advice and goes on


@dataclass(frozen=True)
class _Checked:
    """A request whose fields are sound."""

    insured_id: int
    channel: str
    complaint: str
    answers: dict[str, bool] | None  # the red-flag checklist, when it was asked


def request_consultation(patient: User, req: ConsultationRequest, language: str
                         ) -> Consultation:
    """Put the patient's request in the on-duty queue (flushes).

    Refuses a second open consultation for the same person, and a self-pay one the
    patient has not agreed to pay; takes the payment through the configured provider.
    A red-flag checklist, when given, must answer every sign asked of the person
    (:mod:`consult.duty.redflags`); any "yes" is refused with the emergency advice
    (:class:`RedFlagsNeedChoice`) unless ``continue_anyway``, before anything is written.
    """
    checked = _checked(patient, req)
    signs = redflags.yes_signs(checked.answers or {})
    now = clock.now()
    decision = _admissible(patient, checked.insured_id, req, signs, now)
    consultation = Consultation(
        patient_id=patient.id, insured_id=checked.insured_id,
        activation_id=decision.activation.id, product=decision.activation.product,
        channel=checked.channel, language=language,
        complaint_encrypted=encrypt(checked.complaint), status="waiting",
        coverage=decision.kind, price_amount=decision.price if decision.kind == "self_pay" else 0,
        currency=decision.currency, payment_status=payments.NOT_REQUIRED,
        requested_at=now, red_flag=bool(signs),
        red_flags_encrypted=(redflags.sealed(checked.answers, req.continue_anyway)
                             if checked.answers is not None else None),
    )
    db.session.add(consultation)
    db.session.flush()  # the row is sound before any money moves
    if decision.kind == "self_pay":
        payments.take_price(consultation,
                            f"Consultation for {decision.activation.policy.number}")
        db.session.flush()
    return consultation


def _checked(patient: User, req: ConsultationRequest) -> _Checked:
    """The request's fields, each error collected under its field; raises
    ConsultRefused ("Some fields need correcting.") with all of them."""
    errors: dict[str, list[str]] = {}
    insured_id = as_id(req.insured_id)
    channel = req.channel if req.channel in CHANNELS else None
    if channel is None:
        errors["channel"] = [_("Choose chat, audio or video.")]
    try:
        complaint = clean_text(req.complaint, "complaint", COMPLAINT_MAX)
    except ConsultRefused as exc:
        errors.update(exc.errors)
        complaint = ""
    answers: dict[str, bool] | None = None
    if req.red_flags is not None:
        person = db.session.get(Insured, insured_id) if insured_id else None
        born = person.birth_date if person is not None and person.account_id == patient.id \
            else None
        try:
            answers = redflags.check(req.red_flags, redflags.signs_for(born, clock.today()))
        except ConsultRefused as exc:
            errors.update(exc.errors)
    if errors:
        raise ConsultRefused(_("Some fields need correcting."), errors=errors)
    return _Checked(insured_id, channel or "", complaint, answers)


def _admissible(patient: User, insured_id: int, req: ConsultationRequest, signs: list[str],
                now: datetime) -> CoverageDecision:
    """How the request would be paid, once nothing stands in its way: no other open
    consultation of the person, the emergency advice heard, a self-pay price agreed."""
    # One open consultation per person: lock the person's row (PostgreSQL) so two
    # requests at once cannot both pass the check; SQLite writers are serialised.
    db.session.execute(select(Insured.id).where(Insured.id == insured_id).with_for_update())
    decision = decide_coverage(patient, insured_id, clock.local(now).date())
    already = db.session.scalar(select(Consultation.id).where(
        Consultation.insured_id == insured_id, Consultation.status.in_(OPEN)))
    if already is not None:
        raise OpenConsultationExists(
            _("%(name)s already has a consultation in progress: continue it there.",
              name=decision.insured.full_name), already)
    # The emergency advice comes before any talk of money, and only for a request that
    # could otherwise go ahead.
    if signs and not req.continue_anyway:
        raise RedFlagsNeedChoice(redflags.advice(signs), signs, redflags.emergency_numbers())
    if decision.kind == "self_pay" and not req.confirm_self_pay:
        raise SelfPayNeedsConfirmation(
            _("%(name)s is in the waiting period until %(date)s: this consultation "
              "costs %(price)s ₸, paid by you. Please confirm to continue.",
              name=decision.insured.full_name, date=format_date(decision.until, "long"),
              price=payments.money(decision.price)),
            decision.price, decision.currency, decision.until.isoformat())
    return decision


def open_by_person(patient: User) -> dict[int, int]:
    """The account's people with a consultation open now (waiting, scheduled or
    active): insured id → that consultation's id."""
    return {insured_id: cid for cid, insured_id in db.session.execute(
        select(Consultation.id, Consultation.insured_id).where(
            Consultation.patient_id == patient.id, Consultation.status.in_(OPEN)))}


def cancel(patient: User, consultation_id: int) -> Consultation:
    """The patient leaves the queue; a self-pay payment is refunded (flushes)."""
    consultation = own_consultation(patient, consultation_id)
    done = rowcount(db.session.execute(
        update(Consultation).where(Consultation.id == consultation.id,
                                   Consultation.status == "waiting")
        .values(status="cancelled", cancelled_at=clock.now())
        .execution_options(synchronize_session=False)
    ))
    if not done:
        raise ConsultRefused(_("A doctor has already taken this consultation; it can no "
                               "longer be cancelled."), 409)
    db.session.refresh(consultation)
    payments.refund(consultation)
    return consultation
