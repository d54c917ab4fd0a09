"""Admins manage specialties; specialists publish their hours and exceptions."""

from __future__ import annotations

from sqlalchemy import func, select

from accounts.audit import AuditEntry
from consult.models import Specialty
from consult.schedule import slots
from consult.schedule.models import AvailabilityException, WorkingHours
from core import clock
from core.extensions import db
from tests.fixtures.accounts import sign_in
from tests.fixtures.schedule import MONDAY, _at


def _client(app, user):
    app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_LOGIN_ACCOUNT_IP="1000 per minute",
                      RATELIMIT_SECOND_FACTOR="1000 per minute")
    client = app.test_client()
    client.set_cookie("lang", "en")
    assert sign_in(client, user).status_code == 302
    return client


def test_an_admin_adds_and_changes_a_specialty_and_bad_input_changes_nothing(app, make_user):
    admin = _client(app, make_user("admin"))
    form = {"code": "cardiology", "name_ru": "Кардиология", "name_kk": "Кардиология",
            "name_en": "Cardiology", "slot_minutes": "30", "active": "on"}
    assert admin.post("/consult/specialties", data=form).status_code == 302
    assert admin.post("/consult/specialties", data={**form, "slot_minutes": "45"}
                      ).status_code == 302
    db.session.commit()
    [specialty] = db.session.scalars(select(Specialty)).all()
    assert specialty.slot_minutes == 45 and specialty.name("kk") == "Кардиология"
    for bad in ({"code": "Кардио"}, {"name_en": ""}, {"slot_minutes": "7"}):
        r = admin.post("/consult/specialties", data={**form, "code": "neuro", **bad})
        assert r.status_code == 422
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Specialty)) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "specialty.saved")) == 2


def test_a_specialist_publishes_hours_and_exceptions_that_make_the_slots(app, make_user):
    clock.freeze(_at(MONDAY, 6))
    db.session.add(Specialty(code="neurology", name_ru="Неврология", name_kk="Неврология",
                             name_en="Neurology", slot_minutes=60))
    specialist = make_user("doctor", specialty="neurology")
    db.session.commit()
    c = _client(app, specialist)
    assert c.post("/consult/availability", data={
        "action": "add_hours", "weekday": "0", "starts": "09:00", "ends": "12:00"}
    ).status_code == 302
    assert c.post("/consult/availability", data={
        "action": "add_exception", "day": MONDAY.isoformat(), "kind": "off",
        "starts": "10:00", "ends": "11:00"}).status_code == 302
    for bad in ({"action": "add_hours", "weekday": "7", "starts": "09:00", "ends": "10:00"},
                {"action": "add_hours", "weekday": "1", "starts": "12:00", "ends": "09:00"},
                {"action": "add_exception", "day": "2020-01-01", "kind": "off"},
                {"action": "add_exception", "day": MONDAY.isoformat(), "kind": "extra"}):
        assert c.post("/consult/availability", data=bad).status_code == 422, bad
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(WorkingHours)) == 1
    assert db.session.scalar(select(func.count()).select_from(AvailabilityException)) == 1
    specialty = db.session.scalar(select(Specialty))
    hours = [clock.local(s.starts_at).hour for s in slots.free_slots(specialty, MONDAY, 1)]
    assert hours == [9, 11]
    page = c.get("/consult/availability").get_data(as_text=True)
    assert "Monday 09:00–12:00" in page
    other = make_user("doctor", email="other-neuro@clinic.kz", specialty="neurology")
    db.session.commit()
    hours_id = db.session.scalar(select(WorkingHours.id))
    r = _client(app, other).post("/consult/availability",
                                 data={"action": "remove_hours", "id": hours_id})
    assert r.status_code == 422
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(WorkingHours)) == 1
