"""What patients are told of their specialist appointments: an email on booking with
an .ics calendar file (RFC 5545, built with ``icalendar``), and reminders 24 hours and
15 minutes before, queued by :func:`send_due_reminders` (``flask serve`` runs it every
minute; ``flask appointments remind --loop`` under gunicorn). An appointment booked less
than 24 hours ahead gets no day-before reminder: the booking email was the notice. All
mail goes through the outbox and is rendered at delivery in the patient's language, so
"today at 11:30" / "tomorrow at 09:00" is worded from the time actually left then."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app, render_template
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select, update

from accounts.models import User
from consult.doctors import doctor_label
from consult.models import Specialty
from consult.schedule.models import HOLDING, Appointment
from core import clock, outbox
from core.db import rowcount
from core.extensions import db

DAY_BEFORE = timedelta(hours=24)
SOON_BEFORE = timedelta(minutes=15)


def booked(appointment: Appointment) -> None:
    """Queue the booking email with its calendar file (in the request's transaction)."""
    patient = db.session.get(User, appointment.patient_id)
    if patient is None:
        return
    outbox.enqueue(patient.email, "appointment_booked", {"appointment_id": appointment.id},
                   patient.language,
                   attachments=[{"kind": "appointment_ics", "ref": str(appointment.id)}])


def send_due_reminders() -> int:
    """Queue the reminders that are due (each once per appointment and time), for
    appointments still holding their slot; returns how many were queued. Flushes."""
    now = clock.now()
    queued = 0
    for column, before, template in (
            (Appointment.reminded_day_at, DAY_BEFORE, "appointment_reminder_day"),
            (Appointment.reminded_soon_at, SOON_BEFORE, "appointment_reminder_soon")):
        due = db.session.scalars(select(Appointment).where(
            Appointment.status.in_(HOLDING), column.is_(None),
            Appointment.starts_at > now, Appointment.starts_at <= now + before)).all()
        for appointment in due:
            # Booked less than a day ahead: no "tomorrow" mail, but settled like one so
            # it is not looked at again every minute.
            late = column is Appointment.reminded_day_at and \
                appointment.starts_at - appointment.created_at < DAY_BEFORE
            # Claim it first: of two processes reminding at once, one queues the mail.
            claimed = rowcount(db.session.execute(
                update(Appointment).where(Appointment.id == appointment.id, column.is_(None))
                .values({column.key: now}).execution_options(synchronize_session=False)
            ))
            if not claimed or late:
                continue
            patient = db.session.get(User, appointment.patient_id)
            if patient is not None:
                outbox.enqueue(patient.email, template, {"appointment_id": appointment.id},
                               patient.language)
                queued += 1
    db.session.flush()
    return queued


def _context(ref: dict[str, Any]) -> dict[str, Any]:
    appointment = db.session.get(Appointment, ref["appointment_id"])
    if appointment is None:
        raise LookupError(f"appointment {ref['appointment_id']} not found")
    specialty = db.session.get(Specialty, appointment.specialty_id)
    specialist = db.session.get(User, appointment.specialist_id)
    patient = db.session.get(User, appointment.patient_id)
    locale = patient.language if patient else "ru"
    return {"a": appointment, "specialty": specialty.name(locale) if specialty else "",
            "specialist": doctor_label(specialist, locale) if specialist else "",
            "when": format_datetime(appointment.starts_at, "EEEE d MMMM y, HH:mm"),
            "when_words": when_words(appointment.starts_at),
            "url": current_app.config["BASE_URL"].rstrip("/") + "/consult/appointments"}


def _render(template: str, subject: str, ctx: dict[str, Any]) -> outbox.RenderedMail:
    return outbox.RenderedMail(subject, render_template(f"email/{template}.txt", **ctx),
                               render_template(f"email/{template}.html", **ctx))


def render_booked(ref: dict[str, Any]) -> outbox.RenderedMail:
    ctx = _context(ref)
    # Subjects show on lock screens and in mail lists: no specialty, nothing medical.
    return _render("appointment_booked", _("Appointment with a specialist: %(when)s",
                                           when=ctx["when"]), ctx)


def when_words(starts_at: datetime) -> str:
    """When an appointment starts, as seen from now (Almaty calendar, the reader's
    language): "today at 11:30", "tomorrow at 09:00", else "Monday 30 March at 15:00"."""
    at = format_datetime(starts_at, "HH:mm")
    days = (clock.local(starts_at).date() - clock.today()).days
    if days == 0:
        return _("today at %(time)s", time=at)
    if days == 1:
        return _("tomorrow at %(time)s", time=at)
    return _("%(date)s at %(time)s", date=format_datetime(starts_at, "EEEE d MMMM"), time=at)


def render_reminder_day(ref: dict[str, Any]) -> outbox.RenderedMail:
    ctx = _context(ref)
    return _render("appointment_reminder", _("Your appointment with a specialist: %(when)s",
                                             when=ctx["when_words"]), ctx)


def render_reminder_soon(ref: dict[str, Any]) -> outbox.RenderedMail:
    ctx = _context(ref)
    return _render("appointment_reminder", _("Starting soon: your appointment with a "
                                             "specialist, %(when)s",
                                             when=ctx["when_words"]), ctx)


def render_ics(ref: str, locale: str) -> outbox.RenderedAttachment:
    """The appointment as an iCalendar file (one VEVENT, times in UTC)."""
    from icalendar import Calendar, Event

    ctx = _context({"appointment_id": int(ref)})
    appointment: Appointment = ctx["a"]
    calendar = Calendar()
    calendar.add("prodid", "-//Personal Doctor//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    host = current_app.config["BASE_URL"].split("//", 1)[-1].split("/", 1)[0]
    event.add("uid", f"appointment-{appointment.id}@{host}")
    event.add("dtstamp", clock.now())
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", _("Online consultation with a doctor"))  # shown in previews
    event.add("description", _("With %(name)s. Open %(url)s five minutes before the start.",
                               name=ctx["specialist"], url=ctx["url"]))
    event.add("url", ctx["url"])
    # Booked is not yet agreed: tentative until the patient confirms.
    event.add("status", {"cancelled": "CANCELLED", "confirmed": "CONFIRMED"}.get(
        appointment.status, "TENTATIVE"))
    calendar.add_component(event)
    return outbox.RenderedAttachment(f"appointment-{appointment.id}.ics",
                                     "text/calendar; charset=utf-8; method=PUBLISH",
                                     calendar.to_ical())


def register() -> None:
    outbox.register_template("appointment_booked", render_booked)
    outbox.register_template("appointment_reminder_day", render_reminder_day)
    outbox.register_template("appointment_reminder_soon", render_reminder_soon)
    outbox.register_attachment("appointment_ics", render_ics)
