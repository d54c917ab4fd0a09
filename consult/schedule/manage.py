"""Managing the schedule: admins keep the list of specialties (names in three
languages, slot length); each specialist publishes their weekly hours and exceptions
(Asia/Almaty wall-clock times). Routes with their small rules; every change audited."""

from __future__ import annotations

import re
from datetime import date, time

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import delete, select
from werkzeug.wrappers import Response

from accounts import audit
from consult.blueprint import bp
from consult.errors import ConsultRefused
from consult.models import Specialty
from consult.schedule.models import AvailabilityException, WorkingHours
from consult.text import as_id
from core import clock
from core.access import allow
from core.db import rowcount
from core.extensions import db
from core.unit import on_refusal

CODE = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")
WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))


def _time(value: str | None) -> time | None:
    try:
        return time.fromisoformat(value or "")
    except ValueError:
        return None


@bp.route("/specialties", methods=["GET", "POST"])
@allow("admin")
def specialties() -> str | Response | tuple[str, int]:
    """The specialties: add one, or change one's names, slot length or availability."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        f = request.form
        code = (f.get("code") or "").strip().lower()
        names = [(f.get(k) or "").strip() for k in ("name_ru", "name_kk", "name_en")]
        minutes = f.get("slot_minutes", 0, type=int)  # 0 (refused) when missing or not a number
        if not CODE.match(code):
            errors["code"] = _("Latin letters, digits and dashes, e.g. cardiology.")
        if not all(names) or any(len(n) > 100 for n in names):
            errors["names"] = _("Give the name in all three languages (at most 100 "
                                "characters).")
        if minutes not in (15, 20, 30, 40, 45, 60, 90):
            errors["slot_minutes"] = _("Choose a slot length.")
        if not errors:
            specialty = db.session.scalar(select(Specialty).where(Specialty.code == code))
            if specialty is None:
                specialty = Specialty(code=code)
                db.session.add(specialty)
            specialty.name_ru, specialty.name_kk, specialty.name_en = names
            specialty.slot_minutes, specialty.active = minutes, f.get("active") == "on"
            db.session.flush()
            audit.append("specialty.saved", actor=current_user,
                         subject=f"specialty:{specialty.id}",
                         details={"code": code, "slot_minutes": minutes,
                                  "active": specialty.active})
            flash(_("The specialty is saved."), "info")
            return redirect(url_for("consult.specialties"))
    rows = db.session.scalars(select(Specialty).order_by(Specialty.code)).all()
    return render_template("consult/specialties.html", rows=rows, errors=errors,
                           form=request.form), (422 if errors else 200)


def _availability_page(error: str | None = None) -> tuple[str, int]:
    """The specialist's hours and exceptions from today, with a refused change's reason."""
    hours = db.session.scalars(select(WorkingHours).where(
        WorkingHours.doctor_id == current_user.id)
        .order_by(WorkingHours.weekday, WorkingHours.starts)).all()
    exceptions = db.session.scalars(select(AvailabilityException).where(
        AvailabilityException.doctor_id == current_user.id,
        AvailabilityException.day >= clock.today()).order_by(AvailabilityException.day)).all()
    return render_template("consult/availability.html", hours=hours, exceptions=exceptions,
                           weekdays=WEEKDAYS, error=error, today=clock.today()), \
        (422 if error else 200)


def _availability_refused(exc: ConsultRefused) -> tuple[str, int]:
    return _availability_page(exc.detail)


@bp.route("/availability", methods=["GET", "POST"])
@allow("doctor")
@on_refusal(_availability_refused)
def availability() -> str | Response | tuple[str, int]:
    """A specialist's weekly hours and exceptions: add a period, an exception, or remove
    one."""
    if not current_user.specialty:  # on-duty doctors book; only specialists are booked
        return render_template("consult/availability.html", not_specialist=True), 200
    if request.method != "POST":
        return _availability_page()
    error = _change_availability()
    if error is not None:  # nothing of it is kept
        raise ConsultRefused(error)
    flash(_("Your availability is saved."), "info")
    return redirect(url_for("consult.availability"))


def _change_availability() -> str | None:
    """Apply one change from the form; a message when it is refused."""
    form = request.form
    action = form.get("action")
    if action in ("remove_hours", "remove_exception"):
        model = WorkingHours if action == "remove_hours" else AvailabilityException
        done = rowcount(db.session.execute(delete(model).where(
            model.id == as_id(form.get("id")), model.doctor_id == current_user.id)))
        if not done:
            return _("Nothing to remove.")
        audit.append("availability.removed", actor=current_user, details={"what": action})
        return None
    starts, ends = _time(form.get("starts")), _time(form.get("ends"))
    if action == "add_hours":
        weekday = form.get("weekday", type=int)
        if weekday not in range(7) or starts is None or ends is None or starts >= ends:
            return _("Choose a weekday and a period that ends after it starts.")
        db.session.add(WorkingHours(doctor_id=current_user.id, weekday=weekday,
                                    starts=starts, ends=ends))
    elif action == "add_exception":
        try:
            day = date.fromisoformat(form.get("day") or "")
        except ValueError:
            return _("Enter the date.")
        kind = form.get("kind")
        if kind not in ("off", "extra") or day < clock.today():
            return _("Choose a date from today on, and whether it is time off or extra work.")
        if (starts is None) != (ends is None) or (starts and ends and starts >= ends) or \
                (kind == "extra" and starts is None):
            return _("Give a period that ends after it starts (or none, for a whole day off).")
        db.session.add(AvailabilityException(doctor_id=current_user.id, day=day, kind=kind,
                                             starts=starts, ends=ends))
    else:
        return _("Nothing to change.")
    audit.append("availability.added", actor=current_user, details={"what": action})
    db.session.flush()
    return None
