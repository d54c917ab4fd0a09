"""The admin's staff page: list staff, add a doctor, operator or admin."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from accounts import audit, services
from accounts.models import User
from core.access import STAFF_ROLES, allow
from core.extensions import db

bp = Blueprint("staff", __name__, url_prefix="/staff")


class StaffForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter an email."))])
    full_name = StringField(_l("Full name"), validators=[Length(max=150)])
    role = SelectField(_l("Role"), choices=[("doctor", _l("Doctor")),
                                            ("operator", _l("Insurer operator")),
                                            ("admin", _l("Administrator"))])
    on_duty = BooleanField(_l("On-duty doctor"))
    specialty = StringField(_l("Specialty (for specialists)"), validators=[Length(max=64)])
    pediatric = BooleanField(_l("Sees children"))


ROLE_NAMES = {"doctor": _l("Doctor"), "operator": _l("Insurer operator"),
              "admin": _l("Administrator")}


def _staff() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.email)))


@bp.route("/", methods=["GET", "POST"])
@allow("admin")
def index() -> str | Response | tuple[str, int]:
    """Staff accounts, and a form to add one (who then gets a set-password link)."""
    form = StaffForm()
    if form.validate_on_submit():
        try:
            user = services.create_staff(
                form.email.data or "", form.role.data or "", full_name=form.full_name.data,
                specialty=form.specialty.data, pediatric=bool(form.pediatric.data),
                on_duty=bool(form.on_duty.data), language=current_user.language)
        except ValueError as exc:
            db.session.rollback()
            form.email.errors = [str(exc)]
            return render_template("staff/index.html", form=form, staff=_staff(),
                                   role_names=ROLE_NAMES), 422
        audit.append("staff.created", actor=current_user, subject=f"user:{user.id}",
                     details={"role": user.role, "email": user.email})
        db.session.commit()
        flash(_("%(email)s is added and has been sent a link to set a password.",
                email=user.email), "success")
        return redirect(url_for("staff.index"))
    return render_template("staff/index.html", form=form, staff=_staff(), role_names=ROLE_NAMES)
