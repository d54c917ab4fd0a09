"""Specialties, specialists' availability and booked appointments.

Working hours are entered and shown in the business time zone (Asia/Almaty) as local
wall-clock times; appointments are stored in UTC. A slot is free when it lies inside
the specialist's hours for that day (or an extra period), outside their days off, and
no open appointment holds it: a partial unique index on (specialist, start) makes two
bookings of one slot impossible, whatever the timing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime
from core.extensions import Model

# An appointment holds its slot in these states. Asking to reschedule frees it: the
# on-duty doctor books another time.
HOLDING = ("booked", "confirmed")
STATUSES = (*HOLDING, "reschedule_requested", "cancelled", "completed", "no_show")
# The room opens (its consultation becomes active) this long before the start; a side
# still absent this long after the start makes the appointment a no-show.
OPENS_BEFORE = timedelta(minutes=5)
NO_SHOW_AFTER = timedelta(minutes=15)


class _DoctorsTime:
    """A row of one doctor's availability (local wall-clock times); its columns first."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-2)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), sort_order=-1)


class WorkingHours(_DoctorsTime, Model):
    """A specialist's regular hours on one weekday (0 = Monday), local time; several
    periods a day are several rows."""

    __tablename__ = "working_hours"
    __table_args__ = (Index("ix_working_hours_doctor", "doctor_id", "weekday"),)

    weekday: Mapped[int] = mapped_column(Integer)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)


class AvailabilityException(_DoctorsTime, Model):
    """A change to a specialist's regular hours on one date: a day (or part of it) off,
    or an extra period of work."""

    __tablename__ = "availability_exception"
    __table_args__ = (Index("ix_availability_exception_doctor", "doctor_id", "day"),)

    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))  # off | extra
    # Empty for a whole day off; a period off or of extra work otherwise (local time).
    starts: Mapped[time | None] = mapped_column(Time)
    ends: Mapped[time | None] = mapped_column(Time)


class Appointment(Model):
    """A specialist consultation booked by an on-duty doctor for a patient."""

    __tablename__ = "appointment"
    __table_args__ = (
        Index("uq_appointment_slot", "specialist_id", "starts_at", unique=True,
              sqlite_where=text("status IN ('booked', 'confirmed')"),
              postgresql_where=text("status IN ('booked', 'confirmed')")),
        Index("ix_appointment_day", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    specialty_id: Mapped[int] = mapped_column(ForeignKey("specialty.id"))
    # The consultation the specialist and the patient hold at the appointed time: made
    # "scheduled" at booking, "active" five minutes before the start.
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), unique=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    insured_id: Mapped[int] = mapped_column(ForeignKey("insured.id"))
    referring_consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"))
    referred_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(24), default="booked")
    summary_encrypted: Mapped[str] = mapped_column(Text)  # the referral summary
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reschedule_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Reminders by email: 24 hours and 15 minutes before (set when queued).
    reminded_day_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_soon_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When each side first opened the room (absent 15 minutes after the start: no-show).
    patient_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    specialist_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppointmentDocument(Model):
    """A patient's document the referring doctor shares with the specialist."""

    __tablename__ = "appointment_document"

    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), primary_key=True)
