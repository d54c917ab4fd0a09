"""Policies issued by the insurer, the people they cover, and their activations."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from activation.coverage import WAITING_DAYS
from core.crypto import decrypt
from core.db import UTCDateTime
from core.extensions import Model

if TYPE_CHECKING:
    from accounts.models import User

PRODUCTS = ("personal_doctor", "child_doctor")


class Policy(Model):
    """A boxed policy as loaded from the insurer's registry; activated at most once."""

    __tablename__ = "policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    product: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 hex of the code
    activate_by: Mapped[date | None] = mapped_column(Date)
    # When the insurer knows the insured: the IIN's keyed hash (core.crypto.lookup_hash).
    expected_iin_hash: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    activation: Mapped[Activation | None] = relationship(back_populates="policy")


class Insured(Model):
    """A person covered by one or more policies of one account."""

    __tablename__ = "insured"
    __table_args__ = (UniqueConstraint("account_id", "iin_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The IIN is personal data: found by its keyed hash, kept encrypted (DATA_KEYS).
    iin_hash: Mapped[str] = mapped_column(String(64), index=True)
    iin_encrypted: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(150))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(6))

    @property
    def iin(self) -> str:
        return decrypt(self.iin_encrypted)


class Activation(Model):
    """The one activation of a policy: who is insured, whose account, coverage dates,
    and the consent given."""

    __tablename__ = "activation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"), unique=True)
    insured_id: Mapped[int] = mapped_column(ForeignKey("insured.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    product: Mapped[str] = mapped_column(String(32))
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_on: Mapped[date] = mapped_column(Date)
    coverage_starts_on: Mapped[date] = mapped_column(Date)
    coverage_ends_on: Mapped[date] = mapped_column(Date)
    consent_version: Mapped[str] = mapped_column(String(32))
    consent_given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_ip: Mapped[str | None] = mapped_column(String(45))
    locale: Mapped[str] = mapped_column(String(8))

    policy: Mapped[Policy] = relationship(back_populates="activation")
    insured: Mapped[Insured] = relationship()
    account: Mapped[User] = relationship()

    @property
    def continues_coverage(self) -> bool:
        """True when this policy extends a running one (no waiting period of its own)."""
        return self.coverage_starts_on != self.activated_on + timedelta(days=WAITING_DAYS)
