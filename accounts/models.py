"""User accounts, their sign-in sessions, second factor, and single-use links."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.access import STAFF_ROLES
from core.db import UTCDateTime
from core.extensions import Model


class User(UserMixin, Model):
    """A person who signs in. A patient account serves exactly one product line; staff
    (doctor, operator, admin) have none."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased login
    role: Mapped[str] = mapped_column(String(16), default="patient")
    product_line: Mapped[str | None] = mapped_column(String(32))
    full_name: Mapped[str | None] = mapped_column(String(150))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8), default="ru")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Doctors: on-duty and/or a specialist with a specialty; pediatric for children.
    on_duty_doctor: Mapped[bool] = mapped_column(Boolean, default=False)
    specialty: Mapped[str | None] = mapped_column(String(64))
    pediatric: Mapped[bool] = mapped_column(Boolean, default=False)
    # What patients see of a doctor: the languages spoken (comma-separated codes from
    # core.i18n.LANGUAGES, e.g. "kk,ru") and an optional short profile line.
    languages: Mapped[str | None] = mapped_column(String(32))
    profile_line: Mapped[str | None] = mapped_column(String(200))
    # Second factor (TOTP): the key, encrypted with DATA_KEYS (core.crypto).
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def display_name(self) -> str:
        """How others see this person: the full name, or the email until one is set."""
        return self.full_name or self.email

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def get_id(self) -> str:
        return str(self.id)


class UserSession(Model):
    """One signed-in browser. The cookie holds a random id; only its SHA-256 is here,
    so a revoked or expired row makes a copied cookie worthless."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Model):
    """A single-use second-factor recovery code; only its hash is stored."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordLink(Model):
    """A single-use, expiring link to set a password; only its SHA-256 is stored."""

    __tablename__ = "password_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
