"""Helpers for specialist-appointment tests: a specialty, specialists with hours, and a
consultation whose doctor refers its patient (the ``referral`` fixture)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from consult import services
from consult.schedule import booking
from consult.schedule.models import Specialty, WorkingHours
from core import clock
from core.extensions import db
from tests.accounts_helpers import make_user
from tests.consult_helpers import activated_patient, on_shift_doctor

MONDAY = date(2026, 3, 30)  # Asia/Almaty; UTC+5


def _at(day: date, hh: int, mm: int = 0) -> datetime:
    """Almaty wall-clock time as UTC."""
    return datetime.combine(day, time(hh, mm), clock.zone()).astimezone(UTC)


def _specialty(code: str = "cardiology", minutes: int = 30) -> Specialty:
    s = Specialty(code=code, name_ru="Кардиология", name_kk="Кардиология",
                  name_en="Cardiology", slot_minutes=minutes)
    db.session.add(s)
    db.session.flush()
    return s


def _specialist(code: str = "cardiology", hours: dict[int, list[tuple[str, str]]] | None = None):
    doctor = make_user("doctor", specialty=code, full_name="Aliya Sarsenova")
    for weekday, periods in (hours or {0: [("09:00", "12:00")]}).items():
        for start, end in periods:
            db.session.add(WorkingHours(doctor_id=doctor.id, weekday=weekday,
                                        starts=time.fromisoformat(start),
                                        ends=time.fromisoformat(end)))
    db.session.commit()
    return doctor


def _taken_consultation(patient, insured):
    doctor = on_shift_doctor()
    c = services.request_consultation(
        patient, services.ConsultationRequest(insured.id, "Chest pain", "chat"), "en")
    services.take(doctor, c.id)
    db.session.commit()
    return c


@pytest.fixture
def referral(app, client, no_csrf):
    clock.freeze(_at(MONDAY, 6) - timedelta(days=20))
    patient, insured = activated_patient(client)
    clock.freeze(_at(MONDAY, 6))
    consultation = _taken_consultation(patient, insured)
    specialty = _specialty()
    specialist = _specialist()
    return {"consultation": consultation, "specialty": specialty, "specialist": specialist,
            "doctor": consultation.doctor, "patient": patient}


def _request(r, hh=9, mm=0, **changes):
    fields = {"specialty_id": r["specialty"].id, "specialist_id": r["specialist"].id,
              "starts_at": _at(MONDAY, hh, mm).isoformat(), "summary": "ECG changes, please"}
    fields.update(changes)
    return booking.BookingRequest(**fields)




def self_pay_referral(client):
    """Like ``referral``, for a patient whose policy is still in its waiting period on
    Monday (activated 10 days before): specialist appointments are self-pay."""
    clock.freeze(_at(MONDAY, 6) - timedelta(days=10))
    patient, insured = activated_patient(client)
    clock.freeze(_at(MONDAY, 6))
    doctor = on_shift_doctor()
    c = services.request_consultation(patient, services.ConsultationRequest(
        insured.id, "Chest pain", "chat", True), "en")
    services.take(doctor, c.id)
    db.session.commit()
    return {"consultation": c, "doctor": doctor, "patient": patient,
            "specialty": _specialty(), "specialist": _specialist()}
