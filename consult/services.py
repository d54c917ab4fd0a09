"""Consultation rules: coverage at the start, the on-duty queue, taking a patient,
chat messages and their marks, the conclusion, history, and the figures operators see.

Plain functions over the session: they flush, never commit. The caller commits once
and only then announces the change (:mod:`consult.realtime`).
"""

from __future__ import annotations

import statistics
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import Integer, bindparam, exists, func, select, text, update
from sqlalchemy.orm import joinedload

from accounts.models import User
from activation.coverage import age_on, status_on
from activation.models import Activation, Insured
from consult import payments, redflags
from consult.errors import (
    ConsultRefused,
    OpenConsultationExists,
    RedFlagsNeedChoice,
    SelfPayNeedsConfirmation,
)
from consult.models import CHANNELS, ChatMessage, Consultation, DutyShift
from core import clock
from core.crypto import decrypt, encrypt
from core.db import UTCDateTime
from core.extensions import db

COMPLAINT_MAX = 2000
CONCLUSION_MAX = 4000
OPEN = ("waiting", "active")
ETA_WINDOW = timedelta(hours=2)


# --- text ------------------------------------------------------------------------------

def clean_text(value: Any, field: str, limit: int, *, required: bool = True) -> str:
    """Free text as people type it: trimmed, line breaks kept, control and formatting
    characters (NUL, bidi overrides, zero-width) refused. Raises ConsultRefused."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            msg = _("Please fill this in.")
            raise ConsultRefused(msg, errors={field: [msg]})
        return ""
    if len(text) > limit:
        msg = _("At most %(num)s characters.", num=limit)
        raise ConsultRefused(msg, errors={field: [msg]})
    for ch in text:
        if ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co"):
            msg = _("The text contains characters that cannot be shown.")
            raise ConsultRefused(msg, errors={field: [msg]})
    return text.replace("\r\n", "\n")


# --- coverage --------------------------------------------------------------------------

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


# --- requesting and the queue ----------------------------------------------------------

@dataclass(frozen=True)
class ConsultationRequest:
    insured_id: Any
    complaint: Any
    channel: Any
    confirm_self_pay: bool = False
    # The red-flag checklist ({sign: bool}); None when the client did not ask it (API).
    red_flags: Any = None
    continue_anyway: bool = False  # the patient saw the emergency advice and goes on


def request_consultation(patient: User, req: ConsultationRequest, language: str
                         ) -> Consultation:
    """Put the patient's request in the on-duty queue (flushes).

    Refuses a second open consultation for the same person, and a self-pay one the
    patient has not agreed to pay; takes the payment through the configured provider.
    A red-flag checklist, when given, must answer every sign asked of the person
    (:mod:`consult.redflags`); any "yes" is refused with the emergency advice
    (:class:`RedFlagsNeedChoice`) unless ``continue_anyway``, before anything is written.
    """
    errors: dict[str, list[str]] = {}
    try:
        insured_id = int(req.insured_id)
    except (TypeError, ValueError):
        insured_id = 0
    if not 0 < insured_id < 2**31:  # no such row; and beyond the column's integers
        insured_id = 0
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
    signs = redflags.yes_signs(answers or {})

    # One open consultation per person: lock the person's row (PostgreSQL) so two
    # requests at once cannot both pass the check; SQLite writers are serialised.
    db.session.execute(select(Insured.id).where(Insured.id == insured_id).with_for_update())
    now = clock.now()
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

    consultation = Consultation(
        patient_id=patient.id, insured_id=insured_id, activation_id=decision.activation.id,
        product=decision.activation.product, channel=channel, language=language,
        complaint_encrypted=encrypt(complaint), status="waiting", coverage=decision.kind,
        price_amount=decision.price if decision.kind == "self_pay" else 0,
        currency=decision.currency, payment_status=payments.NOT_REQUIRED,
        requested_at=now, red_flag=bool(signs),
        red_flags_encrypted=(redflags.sealed(answers, req.continue_anyway)
                             if answers is not None else None),
    )
    db.session.add(consultation)
    db.session.flush()  # the row is sound before any money moves
    if decision.kind == "self_pay":
        outcome = payments.provider().charge(payments.Charge(
            decision.price, decision.currency, payments.new_reference(),
            f"Consultation for {decision.activation.policy.number}"))
        if outcome.status != payments.PAID:
            raise ConsultRefused(_("The payment did not go through. Nothing was charged; "
                                   "please try again or use another card."), 402)
        consultation.payment_status = outcome.status
        consultation.payment_reference = outcome.provider_reference
        db.session.flush()
    return consultation


def open_by_person(patient: User) -> dict[int, int]:
    """The account's people with a consultation open now (waiting, scheduled or
    active): insured id → that consultation's id."""
    return {insured_id: cid for cid, insured_id in db.session.execute(
        select(Consultation.id, Consultation.insured_id).where(
            Consultation.patient_id == patient.id, Consultation.status.in_(OPEN)))}


def cancel(patient: User, consultation_id: int) -> Consultation:
    """The patient leaves the queue; a self-pay payment is refunded (flushes)."""
    consultation = own_consultation(patient, consultation_id)
    done = db.session.execute(
        update(Consultation).where(Consultation.id == consultation.id,
                                   Consultation.status == "waiting")
        .values(status="cancelled", cancelled_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        raise ConsultRefused(_("A doctor has already taken this consultation; it can no "
                               "longer be cancelled."), 409)
    db.session.refresh(consultation)
    payments.refund(consultation)
    return consultation


def products_for(doctor: User) -> tuple[str, ...]:
    """Which queues a doctor serves: children's consultations need a pediatric doctor."""
    return ("personal_doctor", "child_doctor") if doctor.pediatric else ("personal_doctor",)


def queue(doctor: User) -> list[Consultation]:
    """Waiting consultations the doctor may take: red-flag ones first, then oldest first."""
    return list(db.session.scalars(
        select(Consultation).where(Consultation.status == "waiting",
                                   Consultation.product.in_(products_for(doctor)))
        .options(joinedload(Consultation.insured))
        .order_by(Consultation.red_flag.desc(), Consultation.requested_at, Consultation.id)
    ))


def age_of(consultation: Consultation, on: date) -> int:
    return age_on(consultation.insured.birth_date, on)


def waiting_line(product: str) -> list[int]:
    """Ids of the waiting consultations of one product, first in line first (red-flag
    ones ahead, as the doctors' queue shows them)."""
    return list(db.session.scalars(
        select(Consultation.id).where(Consultation.status == "waiting",
                                      Consultation.product == product)
        .order_by(Consultation.red_flag.desc(), Consultation.requested_at, Consultation.id)))


def doctors_on_shift(product: str | None = None) -> int:
    """How many doctors are on shift (who can take ``product``, when given)."""
    query = (select(func.count(DutyShift.id)).join(User, User.id == DutyShift.doctor_id)
             .where(DutyShift.ended_at.is_(None)))
    if product == "child_doctor":
        query = query.where(User.pediatric.is_(True))
    return db.session.scalar(query) or 0


def is_on_shift(doctor: User) -> bool:
    return db.session.scalar(select(DutyShift.id).where(
        DutyShift.doctor_id == doctor.id, DutyShift.ended_at.is_(None))) is not None


def start_shift(doctor: User) -> bool:
    """Put the doctor on shift; False if already on it (flushes)."""
    if not doctor.on_duty_doctor:
        raise ConsultRefused(_("Only on-duty doctors take shifts."), 403)
    db.session.execute(select(User.id).where(User.id == doctor.id).with_for_update())
    if is_on_shift(doctor):
        return False
    db.session.add(DutyShift(doctor_id=doctor.id, started_at=clock.now()))
    db.session.flush()
    return True


def end_shift(doctor: User) -> bool:
    """End the doctor's shift; chats in progress stay theirs (flushes)."""
    return bool(db.session.execute(
        update(DutyShift).where(DutyShift.doctor_id == doctor.id, DutyShift.ended_at.is_(None))
        .values(ended_at=clock.now())).rowcount)


def max_chats() -> int:
    """How many consultations a doctor may hold at once (``CONSULT_MAX_CHATS_PER_DOCTOR``)."""
    return int(current_app.config["CONSULT_MAX_CHATS_PER_DOCTOR"])


def active_count(doctor: User) -> int:
    """The doctor's on-duty consultations in progress (specialist appointments they
    hold at a booked time do not count against the limit)."""
    from consult.schedule.models import Appointment

    return db.session.scalar(select(func.count(Consultation.id)).where(
        Consultation.doctor_id == doctor.id, Consultation.status == "active",
        ~exists().where(Appointment.consultation_id == Consultation.id))) or 0


def take(doctor: User, consultation_id: int) -> Consultation:
    """Give the waiting consultation to ``doctor``: one conditional UPDATE, so of two
    doctors taking it at once exactly one succeeds; the other gets a 409 (flushes)."""
    if not is_on_shift(doctor):
        raise ConsultRefused(_("Start your shift to take patients."), 409)
    # A doctor's takes are serialised on their own row: the chat limit holds.
    db.session.execute(select(User.id).where(User.id == doctor.id).with_for_update())
    limit = max_chats()
    if active_count(doctor) >= limit:
        raise ConsultRefused(_("You already have %(num)s consultations open, the most "
                               "allowed. Close one first.", num=limit), 409)
    taken = db.session.execute(
        update(Consultation).where(Consultation.id == consultation_id,
                                   Consultation.status == "waiting",
                                   Consultation.product.in_(products_for(doctor)))
        .values(status="active", doctor_id=doctor.id, taken_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        raise ConsultRefused(_("Another doctor has already taken this patient, or the "
                               "patient left the queue."), 409)
    consultation = db.session.get(Consultation, consultation_id)
    assert consultation is not None
    db.session.refresh(consultation)
    return consultation


@dataclass(frozen=True)
class Conclusion:
    complaint: Any
    assessment: Any
    recommendations: Any
    notes: Any = ""


def close(doctor: User, consultation_id: int, conclusion: Conclusion) -> Consultation:
    """Close the doctor's consultation with a conclusion; the chat becomes read-only."""
    consultation = doctors_consultation(doctor, consultation_id)
    errors: dict[str, list[str]] = {}
    parts: dict[str, str] = {}
    for name in ("complaint", "assessment", "recommendations", "notes"):
        try:
            parts[name] = clean_text(getattr(conclusion, name), name, CONCLUSION_MAX,
                                     required=name != "notes")
        except ConsultRefused as exc:
            errors.update(exc.errors)
    if errors:
        raise ConsultRefused(_("Some fields need correcting."), errors=errors)
    done = db.session.execute(
        update(Consultation).where(Consultation.id == consultation.id,
                                   Consultation.status == "active",
                                   Consultation.doctor_id == doctor.id)
        .values(status="closed", closed_at=clock.now(),
                conclusion_complaint=encrypt(parts["complaint"]),
                conclusion_assessment=encrypt(parts["assessment"]),
                conclusion_recommendations=encrypt(parts["recommendations"]),
                conclusion_notes=encrypt(parts["notes"]) if parts["notes"] else None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        raise ConsultRefused(_("This consultation is already closed."), 409)
    db.session.refresh(consultation)
    return consultation


# --- who sees what ---------------------------------------------------------------------

def own_consultation(patient: User, consultation_id: int) -> Consultation:
    """The patient's own consultation; anything else is 404 (no hint it exists)."""
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or consultation.patient_id != patient.id:
        raise ConsultRefused(_("Consultation not found."), 404)
    return consultation


def doctors_consultation(doctor: User, consultation_id: int) -> Consultation:
    """A consultation the doctor holds (or held); anything else is 404."""
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or consultation.doctor_id != doctor.id:
        raise ConsultRefused(_("Consultation not found."), 404)
    return consultation


def participant_consultation(user_id: int, consultation_id: Any) -> tuple[Consultation, str]:
    """The consultation and the user's side in it; 404 for anyone else."""
    try:
        cid = int(consultation_id)
    except (TypeError, ValueError):
        cid = 0
    consultation = db.session.get(Consultation, cid) if cid > 0 else None
    side = consultation.side_of(user_id) if consultation is not None else None
    if consultation is None or side is None:
        raise ConsultRefused(_("Consultation not found."), 404)
    return consultation, side


# --- chat ------------------------------------------------------------------------------

# The send path runs for every chat message: Core statements on the table (no ORM
# compilation, no entities), built once, executed on the session's connection.
_CONSULTATION = Consultation.__table__
_MESSAGE = ChatMessage.__table__
_PARTICIPANTS = select(_CONSULTATION.c.patient_id, _CONSULTATION.c.doctor_id,
                       _CONSULTATION.c.status).where(_CONSULTATION.c.id == bindparam("cid"))
_STORE = text(  # stores only for a participant of an active consultation, once per id
    "INSERT INTO chat_message (consultation_id, sender_id, client_id, body_encrypted, sent_at)"
    " SELECT :cid, :uid, :client_id, :body, :sent_at WHERE EXISTS (SELECT 1 FROM consultation"
    " WHERE id = :cid AND status = 'active' AND (patient_id = :uid OR doctor_id = :uid))"
    " ON CONFLICT (consultation_id, sender_id, client_id) DO NOTHING RETURNING id"
).bindparams(bindparam("sent_at", type_=UTCDateTime())).columns(id=Integer)
_FIND = select(_MESSAGE.c.id, _MESSAGE.c.body_encrypted, _MESSAGE.c.sent_at).where(
    _MESSAGE.c.consultation_id == bindparam("cid"), _MESSAGE.c.sender_id == bindparam("uid"),
    _MESSAGE.c.client_id == bindparam("client_id"))


def _as_id(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def send_message(user_id: int, consultation_id: Any, client_id: Any, body: Any,
                 side: str | None = None) -> dict[str, Any]:
    """Store a chat message once per ``client_id`` and return it as the clients see it
    (:func:`message_payload`). Only the two participants of an active consultation may
    add one; a resend with the same id returns the stored message (even once the chat
    is closed). ``side`` (patient / doctor), when the caller knows it, saves a query:
    the common case is one ``INSERT … SELECT … WHERE EXISTS … ON CONFLICT DO NOTHING
    RETURNING id`` (the caller commits)."""
    cid = _as_id(consultation_id)
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= 64 or not all(
            c.isalnum() or c in "-_" for c in client_id):
        raise ConsultRefused(_("The message has no valid id; reload the page."), 400)
    conn = db.session.connection()
    keys = {"cid": cid, "uid": user_id, "client_id": client_id}
    new_id = text_ = now = None
    if cid:
        text_ = clean_text(body, "body", int(current_app.config["CONSULT_MESSAGE_MAX_CHARS"]))
        now = clock.now()
        new_id = conn.execute(_STORE, {**keys, "body": encrypt(text_),
                                       "sent_at": now}).scalar()
    if new_id is None or side is None:
        row = conn.execute(_PARTICIPANTS, {"cid": cid}).first() if cid else None
        if row is None or user_id not in (row.patient_id, row.doctor_id):
            raise ConsultRefused(_("Consultation not found."), 404)
        side = "patient" if user_id == row.patient_id else "doctor"
    if new_id is not None and now is not None:
        return {"id": new_id, "consultation": cid, "client_id": client_id, "from": side,
                "body": text_, "sent_at": now.isoformat()}
    existing = conn.execute(_FIND, keys).first()
    if existing is not None:  # a resend: the first one is the message
        return {"id": existing.id, "consultation": cid, "client_id": client_id, "from": side,
                "body": decrypt(existing.body_encrypted), "sent_at": existing.sent_at.isoformat()}
    if row.status == "closed":
        raise ConsultRefused(_("This consultation is closed; the chat is read-only."), 409)
    raise ConsultRefused(_("The chat opens when a doctor takes the consultation."), 409)


def messages_after(consultation: Consultation, after_id: Any, limit: int = 1000
                   ) -> list[ChatMessage]:
    """The consultation's messages newer than ``after_id``, oldest first."""
    after = _as_id(after_id)
    return list(db.session.scalars(
        select(ChatMessage).where(ChatMessage.consultation_id == consultation.id,
                                  ChatMessage.id > after)
        .order_by(ChatMessage.id).limit(limit)))


def mark(consultation: Consultation, side: str, kind: str, upto: Any) -> dict[str, int]:
    """Move the side's delivered or read mark forward to ``upto`` (never back, never
    past the newest message); reading implies delivery. Returns the marks (flushes)."""
    try:
        upto_id = int(upto)
    except (TypeError, ValueError):
        upto_id = 0
    newest = db.session.scalar(select(func.max(ChatMessage.id)).where(
        ChatMessage.consultation_id == consultation.id)) or 0
    upto_id = min(max(upto_id, 0), newest)
    columns = [f"{side}_delivered_id"] + ([f"{side}_read_id"] if kind == "read" else [])
    for column in columns:
        attr = getattr(Consultation, column)
        db.session.execute(
            update(Consultation).where(Consultation.id == consultation.id, attr < upto_id)
            .values({column: upto_id}).execution_options(synchronize_session=False))
    db.session.refresh(consultation)
    return marks(consultation)


def marks(consultation: Consultation) -> dict[str, int]:
    return {
        "patient_delivered": consultation.patient_delivered_id,
        "patient_read": consultation.patient_read_id,
        "doctor_delivered": consultation.doctor_delivered_id,
        "doctor_read": consultation.doctor_read_id,
    }


def message_payload(message: ChatMessage, consultation: Consultation) -> dict[str, Any]:
    """A message as the clients see it (the body is escaped by whoever shows it). A call
    event of the timeline has an empty body and ``call``: its id, event (started, ended,
    declined, missed), kind, the side it was by and the duration in seconds."""
    payload = {
        "id": message.id,
        "consultation": consultation.id,
        "client_id": message.client_id,
        "from": consultation.side_of(message.sender_id),
        "body": message.body,
        "sent_at": message.sent_at.isoformat(),
    }
    event = message.call_event
    if event is not None:
        payload["call"] = {"id": message.call_id, **event}
        payload["body"] = ""
    return payload


# --- history ---------------------------------------------------------------------------

def history(patient: User, before_id: int | None = None, limit: int = 20
            ) -> list[Consultation]:
    """The patient's consultations, newest first, ``limit`` at a time (keyset paging:
    pass the last id seen as ``before_id``)."""
    query = (select(Consultation).where(Consultation.patient_id == patient.id)
             .options(joinedload(Consultation.doctor), joinedload(Consultation.insured))
             .order_by(Consultation.id.desc()).limit(limit))
    if before_id:
        query = query.where(Consultation.id < before_id)
    return list(db.session.scalars(query))


def earlier_consultations(consultation: Consultation) -> list[Consultation]:
    """The same person's other closed consultations, newest first (for the doctor)."""
    return list(db.session.scalars(
        select(Consultation).where(Consultation.insured_id == consultation.insured_id,
                                   Consultation.id != consultation.id,
                                   Consultation.status == "closed")
        .options(joinedload(Consultation.doctor))
        .order_by(Consultation.id.desc())))


def open_for_doctor(doctor: User) -> list[Consultation]:
    """The doctor's consultations in progress."""
    return list(db.session.scalars(
        select(Consultation).where(Consultation.doctor_id == doctor.id,
                                   Consultation.status == "active")
        .options(joinedload(Consultation.insured)).order_by(Consultation.taken_at)))


# --- the operator's figures ------------------------------------------------------------

def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def stats() -> dict[str, Any]:
    """Queue length, longest wait, doctors on shift, consultations in progress, and the
    median and 90th-percentile wait (seconds) of consultations taken in the last 24 h."""
    now = clock.now()
    waiting, oldest = db.session.execute(select(
        func.count(Consultation.id), func.min(Consultation.requested_at)
    ).where(Consultation.status == "waiting")).one()
    in_progress = db.session.scalar(select(func.count(Consultation.id)).where(
        Consultation.status == "active")) or 0
    waits = [(taken - requested).total_seconds() for requested, taken in db.session.execute(
        select(Consultation.requested_at, Consultation.taken_at).where(
            Consultation.taken_at >= now - timedelta(hours=24)))]
    return {
        "queue_length": waiting,
        "longest_wait_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        "doctors_on_shift": doctors_on_shift(),
        "in_progress": in_progress,
        "taken_last_24h": len(waits),
        "median_wait_seconds": _round(percentile(waits, 0.5)),
        "p90_wait_seconds": _round(percentile(waits, 0.9)),
        "at": now.isoformat(),
    }


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)


def line_info(product: str) -> list[dict[str, Any]]:
    """For every waiting consultation of ``product``, in line order: its place, the
    estimated wait and how many doctors who can take it are on shift."""
    line = waiting_line(product)
    on_shift = doctors_on_shift(product)
    now = clock.now()
    waits = [taken - requested for requested, taken in db.session.execute(
        select(Consultation.requested_at, Consultation.taken_at).where(
            Consultation.product == product, Consultation.taken_at >= now - ETA_WINDOW))]
    return [{"consultation": cid, "status": "waiting", "position": n,
             "eta_minutes": _eta_minutes(waits, n), "doctors_on_shift": on_shift}
            for n, cid in enumerate(line, start=1)]


def _eta_minutes(recent_waits: list[timedelta], position: int) -> int | None:
    """Position ÷ take-up rate when the last two hours saw several take-ups, otherwise
    the median wait × position; None with nothing recent to go on."""
    if not recent_waits:
        return None
    if len(recent_waits) >= 3:
        eta = ETA_WINDOW * position / len(recent_waits)
    else:
        eta = statistics.median(recent_waits) * position
    return max(1, round(eta.total_seconds() / 60))


def wait_info(consultation: Consultation) -> dict[str, Any]:
    """The waiting patient's place in line, estimated wait and whether anyone is on duty."""
    for info in line_info(consultation.product):
        if info["consultation"] == consultation.id:
            return info
    return {"consultation": consultation.id, "status": consultation.status, "position": 0,
            "eta_minutes": None,
            "doctors_on_shift": doctors_on_shift(consultation.product)}
