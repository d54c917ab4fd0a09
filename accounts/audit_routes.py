"""The audit log page: operators and admins browse and filter it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from wtforms import Form, SelectField, StringField

from accounts.audit import ACTIONS, AuditEntry
from core import clock
from core.access import allow
from core.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/staff/audit")

PER_PAGE = 50

ACTION_LABELS = {
    "auth.sign_in": _l("Signed in"),
    "auth.sign_in_failed": _l("Sign-in failed"),
    "auth.sign_out": _l("Signed out"),
    "auth.password_changed": _l("Password changed"),
    "auth.password_reset": _l("Password reset"),
    "auth.totp_enabled": _l("Authenticator app turned on"),
    "auth.totp_disabled": _l("Authenticator app turned off"),
    "auth.recovery_code_used": _l("Recovery code used"),
    "auth.email_changed": _l("Login email changed"),
    "auth.sessions_ended": _l("Signed out on other devices"),
    "staff.created": _l("Staff account created"),
    "staff.role_changed": _l("Role changed"),
    "staff.profile_changed": _l("Staff profile changed"),
    "patient.record_viewed": _l("Medical record viewed"),
    "consultation.history_viewed": _l("Patient's earlier consultations viewed"),
    "call.recording_played": _l("Call recording played"),
    "document.uploaded": _l("Document uploaded"),
    "document.viewed": _l("Document viewed"),
    "document.downloaded": _l("Document downloaded"),
    "document.reviewed": _l("Document reviewed"),
    "document.deleted": _l("Document deleted"),
    "specialty.saved": _l("Specialty saved"),
    "availability.added": _l("Working hours or time off added"),
    "availability.removed": _l("Working hours or time off removed"),
}


class FilterForm(Form):
    """Filters from the query string; checked by hand so a bad value is only ignored."""

    actor = StringField(_l("Who (email contains)"))
    action = SelectField(_l("Action"), validate_choice=False)
    date_from = StringField(_l("From (date)"), render_kw={"type": "date"})
    date_to = StringField(_l("To (date)"), render_kw={"type": "date"})
    subject = StringField(_l("Subject"), description=_l("For example user:12"))


def _day_start(day: date) -> datetime:
    """The instant a calendar day of the business time zone begins."""
    return datetime.combine(day, time.min, tzinfo=clock.zone())


def _parse_date(form_field: StringField) -> date | None:
    value = (form_field.data or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        form_field.errors = [_("Enter a date as YYYY-MM-DD; this filter was ignored.")]
        return None


def _filtered(form: FilterForm) -> Select[tuple[AuditEntry]]:
    """The query for the form's valid filters; invalid ones get an error and are skipped."""
    query = select(AuditEntry)
    actor = (form.actor.data or "").strip().lower()
    if actor:
        query = query.where(func.lower(AuditEntry.actor_email).contains(actor, autoescape=True))
    action = form.action.data or ""
    if action in ACTIONS:
        query = query.where(AuditEntry.action == action)
    elif action:
        form.action.errors = [_("Unknown action; this filter was ignored.")]
    start, end = _parse_date(form.date_from), _parse_date(form.date_to)
    if start and end and start > end:
        form.date_to.errors = [_("The end date is before the start date; the dates were "
                                 "ignored.")]
        start = end = None
    if start:
        query = query.where(AuditEntry.at >= _day_start(start))
    if end:
        query = query.where(AuditEntry.at < _day_start(end + timedelta(days=1)))
    subject = (form.subject.data or "").strip()
    if subject:
        query = query.where(AuditEntry.subject == subject)
    return query


def _page_number() -> tuple[int, str | None]:
    raw = request.args.get("page", "1")
    if raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) >= 1:
        return int(raw), None
    return 1, _("The page number is not valid; showing the first page.")


def _page_url(page: int) -> str:
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
    return url_for("audit.index", page=page, **args)


@bp.get("/")
@allow("operator", "admin")
def index() -> str:
    """Entries newest first, 50 a page, filtered by who, action, dates and subject."""
    form = FilterForm(request.args)
    form.action.choices = [("", _("Any action"))] + [
        (code, str(ACTION_LABELS.get(code, code))) for code in ACTIONS]
    page, page_error = _page_number()
    query = _filtered(form).order_by(AuditEntry.id.desc())
    # One row more than a page tells whether there is an older page, without a count.
    rows = list(db.session.scalars(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)))
    errors = [e for f in form for e in f.errors]
    if page_error:
        errors.append(page_error)
    return render_template(
        "accounts/audit.html", form=form, entries=rows[:PER_PAGE], errors=errors,
        labels=ACTION_LABELS, page=page,
        newer_url=_page_url(page - 1) if page > 1 else None,
        older_url=_page_url(page + 1) if len(rows) > PER_PAGE else None)
