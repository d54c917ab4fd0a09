"""Specialist appointment pages: the patient's list with confirm / another time /
cancel, and the specialist's day. Thin: the rules are in :mod:`.appointments`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import abort, flash, has_request_context, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from accounts.models import User
from activation.models import Insured
from consult import bp, payments, realtime
from consult import services as consult_services
from consult.doctors import doctor_label
from consult.documents import services as documents
from consult.documents.models import Document
from consult.errors import ConsultRefused
from consult.models import Consultation
from consult.schedule import appointments, booking, rooms, slots
from consult.schedule.models import HOLDING, Appointment, AppointmentDocument, Specialty
from core import clock
from core.access import allow
from core.db import writing
from core.extensions import db

ACTIONS = {"confirm": appointments.confirm, "reschedule": appointments.request_reschedule,
           "cancel": appointments.cancel}


def _specialty_names() -> dict[int, str]:
    """Every specialty's name in the reader's language."""
    locale = str(get_locale() or "ru")
    return {s.id: s.name(locale) for s in db.session.scalars(select(Specialty))}


@bp.get("/appointments")
@allow("patient")
def appointments_page() -> str:
    """The account's specialist appointments, those ahead first."""
    rows = appointments.of_patient(current_user)
    specialties = _specialty_names()
    people = {u.id: doctor_label(u) for u in db.session.scalars(
        select(User).where(User.id.in_({a.specialist_id for a in rows})))}
    return render_template("consult/appointments.html", rows=rows, specialties=specialties,
                           specialists=people, now=clock.now(),
                           prices=appointments.prices_of(rows))


@bp.post("/appointments/<int:appointment_id>/<action>")
@allow("patient")
def appointment_action(appointment_id: int, action: str) -> Response:
    """Confirm, ask for another time, or cancel."""
    change = ACTIONS.get(action)
    if change is None:
        abort(404)
    before = appointments.payment_status(current_user, appointment_id)
    try:
        appointment = change(current_user, appointment_id)
        db.session.commit()
    except ConsultRefused as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.detail, "error")
        return redirect(url_for("consult.appointments_page"))
    referring = db.session.get(Consultation, appointment.referring_consultation_id)
    if referring is not None:
        realtime.appointment_booked(referring.id, appointment.id)  # the room's panel
        if action == "reschedule":  # the on-duty desks list it to book a new time
            realtime.queue_changed(referring.product, "new_time", referring.id)
    held = db.session.get(Consultation, appointment.consultation_id)
    if held is not None:  # the specialist's room shows the answer
        realtime.status(held, appointment_status=appointment.status)
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
        said += " " + refund_failed_words(amount)
    return said


def refund_failed_words(amount: str) -> str:
    """The provider did not return the money: who will."""
    return _("We could not return %(price)s ₸ automatically; the contact centre will "
             "return it and call you.", price=amount)


@bp.get("/day")
@allow("doctor")
def specialist_day() -> str:
    """A specialist's appointments of one day (Asia/Almaty), today by default."""
    try:
        day = datetime.strptime(request.args.get("date", ""), "%Y-%m-%d").date()
    except ValueError:
        day = clock.today()
    zone = clock.zone()
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    rows = db.session.scalars(select(Appointment).where(
        Appointment.specialist_id == current_user.id, Appointment.starts_at >= start,
        Appointment.starts_at < start + timedelta(days=1)).order_by(Appointment.starts_at)
    ).all()
    specialties = _specialty_names()
    people = {i.id: i.full_name for i in db.session.scalars(
        select(Insured).where(Insured.id.in_({a.insured_id for a in rows})))}
    return render_template("consult/day.html", rows=rows, day=day, specialties=specialties,
                           people=people, previous=day - timedelta(days=1),
                           next=day + timedelta(days=1))


# --- the on-duty doctor refers ---------------------------------------------------------

@bp.route("/<int:consultation_id>/referral", methods=["GET", "POST"])
@allow("doctor")
def referral(consultation_id: int) -> str | Response | tuple[str, int]:
    """Refer the patient: choose a specialty, then one of its free slots over the next
    14 days, write the summary and choose the documents to share."""
    try:
        consultation = booking.referring_consultation(current_user, consultation_id)
    except ConsultRefused as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.detail, "error")
        return redirect(url_for("consult.room", consultation_id=consultation_id))
    # A colleague rebooking from the desk is not in that consultation's room.
    back = url_for("consult.room", consultation_id=consultation.id) \
        if consultation.doctor_id == current_user.id else url_for("consult.desk")
    form = request.form if request.method == "POST" else request.args
    specialty = db.session.get(Specialty, form.get("specialty_id", type=int) or 0)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        slot = (form.get("slot") or "").split("|", 1)
        req = booking.BookingRequest(
            specialty_id=form.get("specialty_id"), specialist_id=slot[0],
            starts_at=slot[1] if len(slot) == 2 else "", summary=form.get("summary"),
            document_ids=tuple(form.getlist("document_ids")))
        try:
            appointment = booking.book(current_user, consultation.id, req)
            db.session.commit()
        except ConsultRefused as exc:
            db.session.rollback()
            errors = exc.errors or {"slot": [exc.detail]}
            status = exc.status
        else:
            realtime.appointment_booked(consultation.id, appointment.id)
            flash(_("The appointment is booked; the patient has been told."), "info")
            return redirect(back)
    free = slots.free_slots(specialty) if specialty is not None and specialty.active else []
    names = {u.id: doctor_label(u) for u in db.session.scalars(
        select(User).where(User.id.in_({s.specialist_id for s in free})))}
    by_day: dict[object, list[slots.Slot]] = {}
    for slot_ in free:
        by_day.setdefault(clock.local(slot_.starts_at).date(), []).append(slot_)
    specialties = db.session.scalars(select(Specialty).where(Specialty.active.is_(True))
                                     .order_by(Specialty.code)).all()
    return render_template(
        "consult/referral.html", c=consultation, specialty=specialty, back=back,
        specialties=specialties, locale=str(get_locale() or "ru"), by_day=by_day,
        names=names, errors=errors, form=form,
        documents=documents.for_doctor(current_user, consultation)
        if consultation.status == "active" else []), status


@bp.get("/<int:consultation_id>/appointments")
@allow("patient", "doctor")
def appointments_panel(consultation_id: int) -> str:
    """The appointments booked from a consultation (the room's panel, refreshed live)."""
    try:
        consultation, side = consult_services.participant_consultation(current_user.id,
                                                                        consultation_id)
    except ConsultRefused:
        abort(404)
    return render_template("consult/_appointments.html", c=consultation, side=side,
                           **panel(consultation))


def panel(consultation: object) -> dict[str, object]:
    """What the room's appointments panel shows."""
    rows = db.session.scalars(select(Appointment).where(
        Appointment.referring_consultation_id == consultation.id)  # type: ignore[attr-defined]
        .order_by(Appointment.starts_at)).all()
    names = {u.id: doctor_label(u) for u in db.session.scalars(
        select(User).where(User.id.in_({a.specialist_id for a in rows})))}
    return {"booked": rows, "specialty_names": _specialty_names(), "specialist_names": names,
            "now": clock.now(), "prices": appointments.prices_of(rows)}


def arrive(consultation: Consultation, side: str) -> Appointment | None:
    """A side opens a specialist consultation's room: open it if its time has come,
    and note the visit (in a short transaction of its own: this is a GET)."""
    appointment = rooms.of_consultation(consultation.id)
    if appointment is None:
        return None
    if consultation.status not in ("scheduled", "active"):
        return appointment
    db.session.commit()  # end the read; the writes below take the writer's place briefly
    with writing():
        opened = rooms.open_due(consultation.id)
        if consultation.status == "active" or consultation.id in opened:
            rooms.note_joined(appointment, side)
        db.session.commit()
    db.session.refresh(consultation)
    db.session.refresh(appointment)
    return appointment


def room_context(appointment: Appointment | None) -> dict[str, object]:
    """What the room shows of the appointment a consultation was booked for."""
    referrer = db.session.get(User, appointment.referred_by_id) if appointment else None
    shared = list(db.session.scalars(select(Document).join(
        AppointmentDocument, AppointmentDocument.document_id == Document.id).where(
        AppointmentDocument.appointment_id == appointment.id))) if appointment else []
    return {"appointment": appointment, "now": clock.now(),
            "five_minutes": rooms.OPENS_BEFORE, "shared_documents": shared,
            "appointment_referrer": doctor_label(referrer) if referrer else ""}


def desk_context() -> dict[str, object]:
    """The on-duty desk's list of appointments that need a new time."""
    rows = appointments.needing_new_time()
    people = {i.id: i.full_name for i in db.session.scalars(
        select(Insured).where(Insured.id.in_({a.insured_id for a in rows})))}
    return {"new_time": rows, "new_time_people": people,
            "new_time_specialties": _specialty_names() if rows else {}}


def banner() -> dict[str, object]:
    """For a signed-in patient: their next appointment if it waits for an answer or is
    within a day (shown above every page)."""
    if not has_request_context() or current_user is None or \
            not current_user.is_authenticated or current_user.role != "patient":
        return {}  # mail is rendered outside requests
    now = clock.now()
    nxt = db.session.scalar(select(Appointment).where(
        Appointment.patient_id == current_user.id, Appointment.status.in_(HOLDING),
        Appointment.starts_at > now - rooms.NO_SHOW_AFTER).order_by(Appointment.starts_at)
        .limit(1))
    if nxt is None or (nxt.status == "confirmed" and nxt.starts_at - now > timedelta(days=1)):
        return {}
    return {"appointment_banner": nxt}


def appointments_of(consultation_ids: list[int]) -> dict[int, Appointment]:
    """For specialist consultations among ``consultation_ids``: the appointment each
    was booked for (its time, when it was confirmed and so paid)."""
    if not consultation_ids:
        return {}
    return {a.consultation_id: a for a in db.session.scalars(select(Appointment).where(
        Appointment.consultation_id.in_(consultation_ids)))}


def referred_from(consultation_ids: list[int]) -> dict[int, Consultation]:
    """For specialist consultations among ``consultation_ids``: the on-duty
    consultation that referred each (the history links them)."""
    if not consultation_ids:
        return {}
    pairs = db.session.execute(select(Appointment.consultation_id, Consultation).join(
        Consultation, Consultation.id == Appointment.referring_consultation_id).where(
        Appointment.consultation_id.in_(consultation_ids))).all()
    return {held_id: referring for held_id, referring in pairs}
