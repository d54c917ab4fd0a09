"""Reminders say the real time left ("today at 09:00", "tomorrow at 09:00") in the
account's language; an appointment booked less than a day ahead gets no day-before
mail; the earliest slot offered starts BOOKING_LEAD_MINUTES from now (moved clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from consult.errors import ConsultRefused
from consult.schedule import booking, notify, slots
from core import clock, outbox
from core.extensions import db
from core.outbox import OutboxMessage
from tests.fixtures.schedule import MONDAY, _at, _request


def _mails(template: str) -> list[OutboxMessage]:
    db.session.commit()
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.template == template).order_by(OutboxMessage.id)))


def _delivered(mail: OutboxMessage):
    """The message as the sender would deliver it now (rendered at delivery)."""
    return outbox.build_message(outbox.materialise(mail))


def _book_three_days_ahead(referral, language="en", hh=9):
    referral["patient"].language = language
    clock.freeze(_at(MONDAY, 6) - timedelta(days=3))
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, hh))
    db.session.commit()
    return appointment


def test_the_day_before_reminder_says_tomorrow_at_the_time(app, referral):
    appointment = _book_three_days_ahead(referral)
    clock.freeze(appointment.starts_at - timedelta(hours=24))
    notify.send_due_reminders()
    [mail] = _mails("appointment_reminder_day")
    message = _delivered(mail)
    assert message.subject == "Your appointment with a specialist: tomorrow at 09:00"
    assert "Cardiology" not in message.subject  # nothing medical where previews show it
    assert "is tomorrow at 09:00 (Almaty time)" in message.body


def test_a_late_first_reminder_says_today_not_tomorrow(app, referral):
    appointment = _book_three_days_ahead(referral)
    clock.freeze(_at(MONDAY, 6))  # the reminders did not run yesterday
    notify.send_due_reminders()
    [mail] = _mails("appointment_reminder_day")
    message = _delivered(mail)
    assert message.subject == "Your appointment with a specialist: today at 09:00"
    assert "tomorrow" not in message.subject.lower() + message.body.lower()
    clock.freeze(appointment.starts_at - timedelta(minutes=15))
    notify.send_due_reminders()
    [soon] = _mails("appointment_reminder_soon")
    assert _delivered(soon).subject == ("Starting soon: your appointment with a specialist, "
                                        "today at 09:00")


def test_the_reminder_is_worded_in_the_accounts_language(app, referral):
    appointment = _book_three_days_ahead(referral, language="ru")
    clock.freeze(appointment.starts_at - timedelta(hours=24))
    notify.send_due_reminders()
    [mail] = _mails("appointment_reminder_day")
    with force_locale("ru"):  # the Russian wording, whatever the catalogue holds now
        expected = gettext("Your appointment with a specialist: %(when)s",
                           when=gettext("tomorrow at %(time)s", time="09:00"))
    assert _delivered(mail).subject == expected


def test_an_appointment_booked_less_than_a_day_ahead_gets_no_day_before_mail(app, referral):
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, 11))  # Monday 06:00 for 11:00
    db.session.commit()
    assert len(_mails("appointment_booked")) == 1
    for at in (_at(MONDAY, 6, 1), _at(MONDAY, 9), appointment.starts_at - timedelta(minutes=15)):
        clock.freeze(at)
        notify.send_due_reminders()
    assert _mails("appointment_reminder_day") == []
    assert len(_mails("appointment_reminder_soon")) == 1


def _starts(specialty) -> list[str]:
    return [clock.local(s.starts_at).strftime("%H:%M")
            for s in slots.free_slots(specialty, MONDAY, 1)]


def test_the_earliest_slot_offered_starts_the_lead_time_from_now(app, referral):
    # Hours 09:00–12:00 in 30-minute slots; it is 08:15.
    clock.freeze(_at(MONDAY, 8, 15))
    assert _starts(referral["specialty"]) == ["09:30", "10:00", "10:30", "11:00", "11:30"]
    app.config["BOOKING_LEAD_MINUTES"] = 120
    assert _starts(referral["specialty"]) == ["10:30", "11:00", "11:30"]


def test_a_slot_inside_the_lead_time_cannot_be_booked(app, referral):
    clock.freeze(_at(MONDAY, 8, 15))
    with pytest.raises(ConsultRefused) as refused:
        booking.book(referral["doctor"], referral["consultation"].id, _request(referral, 9))
    assert refused.value.status == 409
