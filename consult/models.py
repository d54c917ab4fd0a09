"""Consultations with on-duty doctors, their chat messages, doctors' shifts and
specialties, calls and their recordings.

Free text written by patients and doctors (complaints, messages, conclusions) is
health data: it is stored encrypted with DATA_KEYS (core.crypto) and decrypted only
to be shown to the consultation's patient and doctor.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto import decrypt
from core.db import UTCDateTime
from core.extensions import Model

if TYPE_CHECKING:
    from accounts.models import User
    from activation.models import Activation, Insured

CHANNELS = ("chat", "audio", "video")
STATUSES = ("waiting", "scheduled", "active", "closed", "cancelled")
# Message ids grow past 2**31 in a busy service; SQLite's rowid is 64-bit already.
MessageId = BigInteger().with_variant(Integer(), "sqlite")


class Consultation(Model):
    """A patient's request for an on-duty doctor, from the queue to the conclusion.

    ``status`` moves waiting → active (a doctor took it) → closed (conclusion written),
    or waiting → cancelled. ``coverage`` is decided when it is requested: ``covered``
    by the activation's policy, or ``self_pay`` during the waiting period, with the
    price and the payment's status stored here.
    """

    __tablename__ = "consultation"
    __table_args__ = (
        Index("ix_consultation_queue", "status", "product", "requested_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    insured_id: Mapped[int] = mapped_column(ForeignKey("insured.id"), index=True)
    activation_id: Mapped[int] = mapped_column(ForeignKey("activation.id"))
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    product: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    complaint_encrypted: Mapped[str] = mapped_column(Text)
    # The red-flag checklist answered before joining the queue: ``red_flag`` is true when
    # any sign was answered "yes" (the queue shows those first); the answers and the
    # patient's choice ("continue to a doctor anyway") are health data, encrypted JSON.
    red_flag: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    red_flags_encrypted: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    coverage: Mapped[str] = mapped_column(String(12))  # covered | self_pay
    price_amount: Mapped[int] = mapped_column(Integer, default=0)  # whole tenge
    currency: Mapped[str] = mapped_column(String(3), default="KZT")
    payment_status: Mapped[str] = mapped_column(String(16))  # not_required | paid | …
    payment_reference: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The conclusion, written by the doctor when closing (encrypted).
    conclusion_complaint: Mapped[str | None] = mapped_column(Text)
    conclusion_assessment: Mapped[str | None] = mapped_column(Text)
    conclusion_recommendations: Mapped[str | None] = mapped_column(Text)
    conclusion_notes: Mapped[str | None] = mapped_column(Text)
    # Delivered / read marks: the newest message id each side has received and read.
    patient_delivered_id: Mapped[int] = mapped_column(MessageId, default=0)
    patient_read_id: Mapped[int] = mapped_column(MessageId, default=0)
    doctor_delivered_id: Mapped[int] = mapped_column(MessageId, default=0)
    doctor_read_id: Mapped[int] = mapped_column(MessageId, default=0)

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    doctor: Mapped[User | None] = relationship(foreign_keys=[doctor_id])
    insured: Mapped[Insured] = relationship()
    activation: Mapped[Activation] = relationship()

    @property
    def complaint(self) -> str:
        return decrypt(self.complaint_encrypted)

    @property
    def red_flags(self) -> dict[str, Any]:
        """The checklist as stored: ``{"answers": {sign: bool}, "choice": str | None}``;
        empty for consultations made before the checklist (or by the API without one)."""
        if not self.red_flags_encrypted:
            return {}
        return json.loads(decrypt(self.red_flags_encrypted))

    def conclusion(self) -> dict[str, str] | None:
        """The conclusion's parts, decrypted; None until the consultation is closed."""
        if self.conclusion_assessment is None:
            return None
        return {
            "complaint": decrypt(self.conclusion_complaint or ""),
            "assessment": decrypt(self.conclusion_assessment),
            "recommendations": decrypt(self.conclusion_recommendations or ""),
            "notes": decrypt(self.conclusion_notes) if self.conclusion_notes else "",
        }

    def side_of(self, user_id: int) -> str | None:
        """``patient`` or ``doctor`` for the consultation's participants, else None."""
        if user_id == self.patient_id:
            return "patient"
        if self.doctor_id is not None and user_id == self.doctor_id:
            return "doctor"
        return None


class ChatMessage(Model):
    """One chat message, stored before it is sent to anyone.

    ``client_id`` is made by the sender's browser: a resend with the same id finds the
    stored message instead of adding a second one.
    """

    __tablename__ = "chat_message"
    __table_args__ = (
        UniqueConstraint("consultation_id", "sender_id", "client_id"),
        Index("ix_chat_message_replay", "consultation_id", "id"),
    )

    id: Mapped[int] = mapped_column(MessageId, primary_key=True, autoincrement=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    body_encrypted: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set on the timeline's call events (started, ended, declined, missed); their body
    # is the event as JSON (see consult.calls.services.event_payload).
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"))

    @property
    def body(self) -> str:
        return decrypt(self.body_encrypted)

    @property
    def call_event(self) -> dict[str, Any] | None:
        """For a call event: ``event`` (started, ended, declined, missed), ``kind``,
        ``by`` (the side) and ``duration`` in seconds; None for a typed message."""
        return json.loads(self.body) if self.call_id is not None else None


class DutyShift(Model):
    """An on-duty doctor's shift: open while ``ended_at`` is empty."""

    __tablename__ = "duty_shift"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Specialty(Model):
    """A medical specialty: a doctor's (``User.specialty`` is its code), and what
    specialists are booked for (managed by admins)."""

    __tablename__ = "specialty"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. cardiology
    name_ru: Mapped[str] = mapped_column(String(100))
    name_kk: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def name(self, locale: str) -> str:
        return {"kk": self.name_kk, "en": self.name_en}.get(locale, self.name_ru)


CALL_KINDS = ("audio", "video")
OPEN_CALL = ("ringing", "active")


class Call(Model):
    """An audio or video call inside a consultation, peer to peer between the browsers.

    ``status`` moves ringing → active (answered) → ended, or ringing → declined /
    missed (the caller gave up or nobody answered). At most one call of a consultation
    is open (ringing or active) at a time: a partial unique index says so to the
    database, so two "call" presses at once give one call.
    """

    __tablename__ = "call"
    __table_args__ = (
        Index("uq_call_open", "consultation_id", unique=True,
              sqlite_where=text("status IN ('ringing', 'active')"),
              postgresql_where=text("status IN ('ringing', 'active')")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # audio | video, as started
    caller_side: Mapped[str] = mapped_column(String(8))  # patient | doctor
    status: Mapped[str] = mapped_column(String(10), default="ringing")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(8))  # a side, or None (the system)
    end_reason: Mapped[str | None] = mapped_column(String(16))

    consultation: Mapped[Consultation] = relationship()

    @property
    def duration_seconds(self) -> int | None:
        """Seconds from the answer to the end; None for a call never answered."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0, int((self.ended_at - self.answered_at).total_seconds()))


class CallQualitySample(Model):
    """What one side's browser measured of a call at one moment (from getStats), kept
    for support: round-trip time, loss, received bitrate and video size."""

    __tablename__ = "call_quality_sample"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    side: Mapped[str] = mapped_column(String(8))
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rtt_ms: Mapped[int | None] = mapped_column(Integer)
    loss_permille: Mapped[int | None] = mapped_column(Integer)  # packets lost per 1000
    bitrate_kbps: Mapped[int | None] = mapped_column(Integer)  # received, audio + video
    width: Mapped[int | None] = mapped_column(Integer)  # of the received video
    height: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[int | None] = mapped_column(Integer)
    audio_only: Mapped[bool] = mapped_column(Boolean, default=False)


RECORDING_STATUSES = ("asking", "refused", "recording", "finishing", "ready", "failed")


class CallRecording(Model):
    """The audio recording of one call, made only when both sides agreed.

    One side asks (its consent is noted), the other agrees or refuses; with both
    consents the status is ``recording`` and each browser also sends its audio to a
    media worker, which mixes the two into one Opus file. When the call ends it is
    ``finishing`` while the worker stores it encrypted (Fernet, DATA_KEYS) under a
    random name in RECORDINGS_DIR: then ``ready``, or ``failed``.
    """

    __tablename__ = "call_recording"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="asking")
    asked_by: Mapped[str] = mapped_column(String(8))  # patient | doctor
    patient_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    doctor_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker_url: Mapped[str | None] = mapped_column(String(200))  # where both sides record
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    file_name: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)

    call: Mapped[Call] = relationship()
