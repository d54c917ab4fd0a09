"""Specialists' free slots (working hours, exceptions, slot boundaries, the time zone)
and atomic booking."""

from __future__ import annotations

import threading
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from consult.duty.closing import Conclusion, close
from consult.errors import ConsultRefused
from consult.schedule import booking, slots
from consult.schedule.models import (
    Appointment,
    AvailabilityException,
)
from core import clock
from core.db import writing
from core.extensions import db
from tests.fixtures.schedule import MONDAY, _at, _request


def test_periods_subtract_cut_and_add():
    assert slots.subtract([(540, 720)], (600, 630)) == [(540, 600), (630, 720)]
    assert slots.subtract([(540, 720)], (500, 800)) == []
    assert slots.subtract([(540, 720)], (720, 800)) == [(540, 720)]
    # 09:00–12:00 in 45-minute slots: 11:15 ends exactly at 12:00 and is in; nothing after.
    assert slots.cut([(540, 720)], 45) == [540, 585, 630, 675]
    assert slots.cut([(540, 560)], 30) == []


def test_weekday_hours_give_slots_in_utc_and_only_that_weekday(app, make_specialist,
                                                               make_specialty):
    clock.freeze(_at(MONDAY, 6))
    specialty = make_specialty()
    doctor = make_specialist(hours={0: [("09:00", "11:00"), ("14:00", "15:00")],
                                2: [("10:00", "11:00")]})
    free = slots.free_slots(specialty, MONDAY, 7)
    starts = [s.starts_at for s in free]
    assert starts == [_at(MONDAY, 9), _at(MONDAY, 9, 30), _at(MONDAY, 10), _at(MONDAY, 10, 30),
                      _at(MONDAY, 14), _at(MONDAY, 14, 30),
                      _at(MONDAY + timedelta(days=2), 10), _at(MONDAY + timedelta(days=2), 10, 30)]
    assert starts[0].hour == 4  # 09:00 in Almaty is 04:00 UTC
    assert all(s.specialist_id == doctor.id and s.ends_at - s.starts_at == timedelta(minutes=30)
               for s in free)


def test_exceptions_days_off_part_days_and_extra_work(app, make_specialist, make_specialty):
    clock.freeze(_at(MONDAY, 6))
    specialty = make_specialty(minutes=60)
    doctor = make_specialist(hours={0: [("09:00", "13:00")], 1: [("09:00", "13:00")]})
    tuesday, next_monday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=7)
    saturday = MONDAY + timedelta(days=5)
    db.session.add_all([
        AvailabilityException(doctor_id=doctor.id, day=MONDAY, kind="off",
                              starts=time(10), ends=time(11)),
        AvailabilityException(doctor_id=doctor.id, day=tuesday, kind="off"),
        AvailabilityException(doctor_id=doctor.id, day=saturday, kind="extra",
                              starts=time(10), ends=time(12)),
        AvailabilityException(doctor_id=doctor.id, day=next_monday, kind="extra",
                              starts=time(12, 30), ends=time(14, 30)),
    ])
    db.session.commit()
    by_day: dict[date, list[int]] = {}
    for s in slots.free_slots(specialty, MONDAY, 8):
        local = clock.local(s.starts_at)
        by_day.setdefault(local.date(), []).append(local.hour * 60 + local.minute)
    assert by_day == {
        MONDAY: [540, 660, 720],  # 09, 11, 12: 10–11 off
        saturday: [600, 660],  # extra work on a day without hours
        # 09–12:30 regular (12:00 slot would cross into the extra period, which starts
        # a new run: 12:30, 13:30)
        next_monday: [540, 600, 660, 750, 810],
    }


def test_past_and_booked_slots_are_not_offered(app, client, activated_patient, make_specialist,
                                               make_specialty, taken_consultation):
    clock.freeze(_at(MONDAY, 10, 15) - timedelta(days=20))
    patient, insured = activated_patient(client)
    clock.freeze(_at(MONDAY, 10, 15))
    specialty = make_specialty()
    doctor = make_specialist()
    consultation = taken_consultation(patient, insured)
    db.session.add(Appointment(
        consultation_id=consultation.id,
        specialty_id=specialty.id, specialist_id=doctor.id, patient_id=patient.id,
        insured_id=insured.id, referring_consultation_id=consultation.id,
        referred_by_id=consultation.doctor_id, starts_at=_at(MONDAY, 11),
        ends_at=_at(MONDAY, 11, 30), status="booked", summary_encrypted="x",
        created_at=clock.now()))
    db.session.commit()
    starts = [clock.local(s.starts_at).strftime("%H:%M")
              for s in slots.free_slots(specialty, MONDAY, 1)]
    assert starts == ["11:30"]  # 10:30 starts within BOOKING_LEAD_MINUTES (60)


def test_a_booking_holds_its_slot_and_a_second_one_is_refused(app, referral):
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral))
    db.session.commit()
    assert (appointment.status, appointment.starts_at) == ("booked", _at(MONDAY, 9))
    assert "ECG" not in appointment.summary_encrypted
    with pytest.raises(ConsultRefused) as refused:
        booking.book(referral["doctor"], referral["consultation"].id, _request(referral))
    assert refused.value.status == 409
    db.session.rollback()
    free = [s.starts_at for s in slots.free_slots(referral["specialty"], MONDAY, 1)]
    assert _at(MONDAY, 9) not in free and _at(MONDAY, 9, 30) in free


@pytest.mark.parametrize(("changes", "status"), [
    ({"hh": 13}, 409),  # outside the specialist's hours
    ({"hh": 9, "mm": 10}, 409),  # not a slot boundary
    ({"starts_at": "tomorrow"}, 422),
    ({"starts_at": "2026-03-30T09:00:00"}, 422),  # no offset: ambiguous
    ({"specialty_id": 999}, 422),
    ({"summary": " "}, 422),
])
def test_times_never_offered_and_bad_fields_are_refused(app, referral, changes, status):
    hh, mm = changes.pop("hh", 9), changes.pop("mm", 0)
    with pytest.raises(ConsultRefused) as refused:
        booking.book(referral["doctor"], referral["consultation"].id,
                     _request(referral, hh, mm, **changes))
    assert refused.value.status == status
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_only_the_consultations_doctor_refers_and_only_until_a_day_after(app, referral,
                                                                         on_shift_doctor):
    other = on_shift_doctor()
    with pytest.raises(ConsultRefused) as refused:
        booking.book(other, referral["consultation"].id, _request(referral))
    assert refused.value.status == 404
    db.session.rollback()
    close(referral["doctor"], referral["consultation"].id,
                   Conclusion("Chest pain", "Angina?", "See a cardiologist", ""))
    db.session.commit()
    clock.shift(timedelta(hours=2))
    booking.book(referral["doctor"], referral["consultation"].id, _request(referral, 10))
    db.session.commit()
    clock.shift(timedelta(hours=23))
    with pytest.raises(ConsultRefused) as refused:
        booking.book(referral["doctor"], referral["consultation"].id, _request(referral, 11))
    assert refused.value.status == 409


def test_two_bookings_of_one_slot_at_once_give_one(app, referral):
    """Both threads pass the free-slot check where the database lets them (PostgreSQL);
    the partial unique index then lets one insert win."""
    doctor_id, consultation_id = referral["doctor"].id, referral["consultation"].id
    request = _request(referral)
    db.session.commit()
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def attempt() -> None:
        with app.app_context(), writing():
            from accounts.models import User

            doctor = db.session.get(User, doctor_id)
            db.session.commit()  # on SQLite, holding the write lock would keep the others out
            barrier.wait()
            try:
                booking.book(doctor, consultation_id, request)
                db.session.commit()
                outcomes.append("booked")
            except ConsultRefused as exc:
                db.session.rollback()
                outcomes.append(exc.status)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes, key=str) == [409, 409, 409, "booked"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1


def test_a_whole_day_off_keeps_extra_work_whatever_the_order():
    from types import SimpleNamespace

    off = SimpleNamespace(kind="off", starts=None, ends=None)
    extra = SimpleNamespace(kind="extra", starts=time(14), ends=time(16))
    for order in ([off, extra], [extra, off]):
        assert slots.day_periods([(540, 720)], order) == [(840, 960)]


def test_a_time_beyond_the_fortnight_is_not_booked(app, referral):
    far = _at(MONDAY + timedelta(days=14), 9)
    with pytest.raises(ConsultRefused) as refused:
        booking.book(referral["doctor"], referral["consultation"].id,
                     _request(referral, starts_at=far.isoformat()))
    assert refused.value.status == 409
