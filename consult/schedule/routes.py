"""Specialist appointment pages: the patient's list with confirm / another time /
cancel, the specialist's day, and the on-duty doctor's referral. Thin: the rules are
in :mod:`.appointments` and :mod:`.booking`, what else the pages show in
:mod:`.context`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from consult import payments
from consult.access import participant_consultation
from consult.blueprint import bp
from consult.documents import services as documents
from consult.errors import ConsultRefused, status_page
from consult.models import Consultation, Specialty
from consult.schedule import announce, appointments, booking, context, slots
from consult.schedule.models import Appointment
from consult.text import as_id
from core import clock
from core.access import allow
from core.extensions import db
from core.unit import on_refusal

ACTIONS = {"confirm": appointments.confirm, "reschedule": appointments.request_reschedule,
           "cancel": appointments.cancel}


@bp.get("/appointments")
@allow("patient")
def appointments_page() -> str:
    """The account's specialist appointments, those ahead first."""
    rows = appointments.of_patient(current_user)
    return render_template("consult/appointments.html", rows=rows,
                           specialties=context.specialty_names(),
                           specialists=context.doctor_names({a.specialist_id for a in rows}),
                           now=clock.now(), prices=appointments.prices_of(rows))


def _to_appointments(exc: ConsultRefused, **_view_args: Any) -> ResponseReturnValue:
    """A refused answer, said on the appointments page (404: not the patient's)."""
    if exc.status == 404:
        return status_page(404)
    flash(exc.detail, "error")
    return redirect(url_for("consult.appointments_page"))


@bp.post("/appointments/<int:appointment_id>/<action>")
@allow("patient")
@on_refusal(_to_appointments)
def appointment_action(appointment_id: int, action: str) -> Response:
    """Confirm, ask for another time, or cancel."""
    change = ACTIONS.get(action)
    if change is None:
        abort(404)
    before = appointments.payment_status(current_user, appointment_id)
    appointment = change(current_user, appointment_id)
    announce.answered(appointment, action)
    flash(_answer_words(action, appointments.prices_of([appointment]).get(appointment.id),
                        before), "info")
    return redirect(url_for("consult.appointments_page"))


def _answer_words(action: str, price: appointments.Price | None, before: str | None) -> str:
    """What the patient's answer did, with the money it took or gives back now (``before``:
    the payment's status before this answer; a repeated answer moves no money)."""
    amount = payments.money(price.amount) if price is not None else ""
    after = price.status if price is not None else None
    if action == "confirm":
        if after == payments.PAID and before != payments.PAID:
            return _("Thank you: the appointment is confirmed and %(price)s ₸ is paid "
                     "(payment reference %(reference)s).", price=amount,
                     reference=price.reference if price is not None else "")
        return _("Thank you: the appointment is confirmed.")
    refunded = before == payments.PAID and after == payments.REFUNDED
    failed = before == payments.PAID and after == payments.REFUND_FAILED
    if action == "reschedule":
        said = _("Your request for another time was sent to the on-duty doctors.")
        if refunded:
            said = _("Your request for another time was sent to the on-duty doctors; "
                     "%(price)s ₸ will be returned.", price=amount)
    else:
        said = _("The appointment is cancelled.")
        if refunded:
            said = _("The appointment is cancelled; %(price)s ₸ will be returned.",
                     price=amount)
    if failed:
        said += " " + payments.refund_failed_words(amount)
    return said


@bp.get("/day")
@allow("doctor")
def specialist_day() -> str:
    """A specialist's appointments of one day (Asia/Almaty), today by default."""
    try:
        day = datetime.strptime(request.args.get("date", ""), "%Y-%m-%d").date()
    except ValueError:
        day = clock.today()
    start = datetime.combine(day, time(), clock.zone()).astimezone(UTC)
    rows = db.session.scalars(select(Appointment).where(
        Appointment.specialist_id == current_user.id, Appointment.starts_at >= start,
        Appointment.starts_at < start + timedelta(days=1)).order_by(Appointment.starts_at)
    ).all()
    return render_template("consult/day.html", rows=rows, day=day,
                           specialties=context.specialty_names(),
                           people=context.person_names({a.insured_id for a in rows}),
                           previous=day - timedelta(days=1), next=day + timedelta(days=1))


# --- the on-duty doctor refers ---------------------------------------------------------

def _referral_refused(exc: ConsultRefused, consultation_id: int) -> ResponseReturnValue:
    """A refused booking: the form again with the reasons. A consultation the doctor
    may not refer from: said in its room (404: not theirs)."""
    try:  # refused before the booking (not theirs, not open) or by it (the form again)
        consultation = booking.referring_consultation(current_user, consultation_id)
    except ConsultRefused:
        consultation = None
    if consultation is None:
        if exc.status == 404:
            return status_page(404)
        flash(exc.detail, "error")
        return redirect(url_for("consult.room", consultation_id=consultation_id))
    return _referral_page(consultation, request.form, exc.errors or {"slot": [exc.detail]}), \
        exc.status


@bp.route("/<int:consultation_id>/referral", methods=["GET", "POST"])
@allow("doctor")
@on_refusal(_referral_refused)
def referral(consultation_id: int) -> str | Response | tuple[str, int]:
    """Refer the patient: choose a specialty, then one of its free slots over the next
    14 days, write the summary and choose the documents to share."""
    consultation = booking.referring_consultation(current_user, consultation_id)
    if request.method != "POST":
        return _referral_page(consultation, request.args, {}), 200
    form = request.form
    slot = (form.get("slot") or "").split("|", 1)
    appointment = booking.book(current_user, consultation.id, booking.BookingRequest(
        specialty_id=form.get("specialty_id"), specialist_id=slot[0],
        starts_at=slot[1] if len(slot) == 2 else "", summary=form.get("summary"),
        document_ids=tuple(form.getlist("document_ids"))))
    announce.booked(consultation.id, appointment.id)
    flash(_("The appointment is booked; the patient has been told."), "info")
    return redirect(_back(consultation))


def _back(consultation: Consultation) -> str:
    """A colleague rebooking from the desk is not in that consultation's room."""
    return url_for("consult.room", consultation_id=consultation.id) \
        if consultation.doctor_id == current_user.id else url_for("consult.desk")


def _referral_page(consultation: Consultation, form: MultiDict[str, str],
                   errors: dict[str, list[str]]) -> str:
    """The referral form: the specialties, the chosen one's free slots by day, the
    patient's documents to share."""
    specialty = db.session.get(Specialty, as_id(form.get("specialty_id")))
    free = slots.free_slots(specialty) if specialty is not None and specialty.active else []
    by_day: dict[object, list[slots.Slot]] = {}
    for slot in free:
        by_day.setdefault(clock.local(slot.starts_at).date(), []).append(slot)
    specialties = db.session.scalars(select(Specialty).where(Specialty.active.is_(True))
                                     .order_by(Specialty.code)).all()
    return render_template(
        "consult/referral.html", c=consultation, specialty=specialty,
        back=_back(consultation), specialties=specialties, locale=str(get_locale() or "ru"),
        by_day=by_day, names=context.doctor_names({s.specialist_id for s in free}),
        errors=errors, form=form,
        documents=documents.for_doctor(current_user, consultation)
        if consultation.status == "active" else [])


@bp.get("/<int:consultation_id>/appointments")
@allow("patient", "doctor")
def appointments_panel(consultation_id: int) -> str:
    """The appointments booked from a consultation (the room's panel, refreshed live)."""
    consultation, side = participant_consultation(current_user.id, consultation_id)
    return render_template("consult/_appointments.html", c=consultation, side=side,
                           **context.panel(consultation))
