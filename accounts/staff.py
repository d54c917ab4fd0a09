"""The admin's staff page: list staff, add a doctor, operator or admin, and change what
patients see of a doctor (name, specialty, languages, profile line)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from accounts import audit, services
from accounts.forms import StaffForm, StaffProfileForm
from accounts.models import User
from accounts.services import StaffRefused
from core.access import STAFF_ROLES, allow
from core.extensions import db
from core.unit import on_refusal

bp = Blueprint("staff", __name__, url_prefix="/staff")

ROLE_NAMES = {"doctor": _l("Doctor"), "operator": _l("Insurer operator"),
              "admin": _l("Administrator")}


def _staff() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.email)))


def _specialty_choices() -> list[tuple[str, str]]:
    """The specialty picker: none, then the specialties list in the reader's language."""
    return [("", _("None (on-duty doctor only)"))] + [
        (code, name if active else _("%(name)s (inactive)", name=name))
        for code, name, active in services.specialties(str(get_locale() or "ru"))]


def _error_on(form: StaffForm | StaffProfileForm, exc: StaffRefused, default: str) -> None:
    """Show a refusal under the field it is about (``StaffRefused.field``)."""
    field = getattr(form, exc.field, None) or getattr(form, default)
    field.errors = [exc.detail]


def _page(form: StaffForm, status: int = 200) -> tuple[str, int]:
    return render_template("staff/index.html", form=form, staff=_staff(),
                           role_names=ROLE_NAMES), status


def _staff_form() -> StaffForm:
    form = StaffForm()
    form.specialty.choices = _specialty_choices()
    return form


def _index_refused(exc: StaffRefused) -> tuple[str, int]:
    """The new staff member cannot be added: the form again, the reason under its field."""
    form = _staff_form()
    _error_on(form, exc, "email")
    return _page(form, 422)


@bp.route("/", methods=["GET", "POST"])
@allow("admin")
@on_refusal(_index_refused)
def index() -> str | Response | tuple[str, int]:
    """Staff accounts, and a form to add one (who then gets a set-password link)."""
    form = _staff_form()
    if form.validate_on_submit():
        user = services.create_staff(
            form.email.data or "", form.role.data or "", full_name=form.full_name.data,
            specialty=form.specialty.data, pediatric=bool(form.pediatric.data),
            on_duty=bool(form.on_duty.data), language=current_user.language,
            languages=form.languages.data, profile_line=form.profile_line.data)
        audit.append("staff.created", actor=current_user, subject=f"user:{user.id}",
                     details={"role": user.role, "email": user.email})
        flash(_("%(email)s is added and has been sent a link to set a password.",
                email=user.email), "success")
        return redirect(url_for("staff.index"))
    return _page(form, 422 if form.errors else 200)


def _staff_member(user_id: int) -> User:
    """The staff account ``user_id``; 404 for any other."""
    user = db.session.get(User, user_id) if 0 < user_id < 2**31 else None
    if user is None or not user.is_staff:
        abort(404)
    return user


def _profile_form(user: User) -> StaffProfileForm:
    """The profile form: what was posted, else the member's current profile."""
    posted = request.method == "POST"
    form = StaffProfileForm(obj=None if posted else user)
    form.specialty.choices = _specialty_choices()
    if not posted:
        form.on_duty.data, form.specialty.data = user.on_duty_doctor, user.specialty or ""
        form.languages.data = [c for c in (user.languages or "").split(",") if c]
    return form


def _edit_refused(exc: StaffRefused, user_id: int) -> tuple[str, int]:
    """The profile cannot be saved: the form again, the reason under its field."""
    user = _staff_member(user_id)
    form = _profile_form(user)
    _error_on(form, exc, "full_name")
    return _edit_page(user, form, 422)


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@allow("admin")
@on_refusal(_edit_refused)
def edit(user_id: int) -> str | Response | tuple[str, int]:
    """Change a staff member's name and, for a doctor, what patients see of them."""
    user = _staff_member(user_id)
    form = _profile_form(user)
    if form.validate_on_submit():
        changed = services.update_staff_profile(
            user, full_name=form.full_name.data, specialty=form.specialty.data,
            pediatric=bool(form.pediatric.data), on_duty=bool(form.on_duty.data),
            languages=form.languages.data, profile_line=form.profile_line.data)
        if changed:
            audit.append("staff.profile_changed", actor=current_user, subject=f"user:{user.id}",
                         details={"changed": changed})
        flash(_("The profile of %(email)s is saved.", email=user.email) if changed
              else _("Nothing was changed."), "success" if changed else "info")
        return redirect(url_for("staff.index"))
    return _edit_page(user, form, 422 if form.errors else 200)


def _edit_page(user: User, form: StaffProfileForm, status: int) -> tuple[str, int]:
    return render_template("staff/edit.html", user=user, form=form,
                           role_names=ROLE_NAMES), status
