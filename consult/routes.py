"""Consultation pages: the patient's request, room and history; the doctor's desk
(shift, queue, take, conclusion, the patient's earlier consultations); the operator's
live view. Routes are thin: the rules are in :mod:`consult.services`, the live updates
in :mod:`consult.realtime` (sent after the commit)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts import audit
from consult import bp, calls, payments, realtime, recordings, redflags, services
from consult.documents import services as documents
from consult.documents.forms import KIND_LABELS
from consult.errors import (
    ConsultRefused,
    OpenConsultationExists,
    RedFlagsNeedChoice,
    SelfPayNeedsConfirmation,
)
from consult.forms import CHANNEL_LABELS, ConclusionForm, RequestForm
from consult.models import Consultation
from consult.schedule import rooms as schedule_rooms
from consult.schedule import routes as schedule_routes
from core import clock
from core.access import allow
from core.extensions import db

HISTORY_PAGE = 20


def _people_choices() -> tuple[list[tuple[str, str]], dict[int, services.CoverageDecision]]:
    """The account's people who can consult now, with how it would be paid."""
    today = clock.today()
    choices, decisions = [], {}
    for person in services.people_of(current_user):
        try:
            decision = services.decide_coverage(current_user, person.id, today)
        except ConsultRefused:
            continue
        decisions[person.id] = decision
        choices.append((str(person.id), person.full_name))
    return choices, decisions


def _infants(decisions: dict[int, services.CoverageDecision]) -> dict[str, str]:
    """The people under 3 months old today (id as the form's value: name): the
    checklist asks about a fever only for them."""
    today = clock.today()
    return {str(pid): d.insured.full_name for pid, d in decisions.items()
            if redflags.is_infant(d.insured.birth_date, today)}


@bp.route("/new", methods=["GET", "POST"])
@allow("patient")
def new() -> str | Response | tuple[str, int]:
    """Ask for an on-duty doctor: who, what is wrong, which channel; self-pay needs an
    explicit agreement to the price."""
    form = RequestForm()
    choices, decisions = _people_choices()
    form.insured_id.choices = choices
    if request.method == "GET" and len(choices) == 1:
        form.insured_id.data = choices[0][0]
    infants = _infants(decisions)
    if not decisions:
        return render_template("consult/new.html", form=form, decisions=decisions,
                               no_coverage=True)
    # Said before the form is filled in: who already has a consultation open, with a link.
    busy = {pid: cid for pid, cid in services.open_by_person(current_user).items()
            if pid in decisions}
    if not form.validate_on_submit():
        return render_template("consult/new.html", form=form, decisions=decisions,
                               infants=infants, busy=busy)
    req = services.ConsultationRequest(form.insured_id.data, form.complaint.data,
                                       form.channel.data, bool(form.confirm_self_pay.data),
                                       form.red_flags(), form.wants_to_continue())
    try:
        consultation = services.request_consultation(current_user, req, str(g.locale))
        db.session.commit()
    except RedFlagsNeedChoice as exc:  # nothing was written: advise, offer to go on
        db.session.rollback()
        # Continuing may charge: the amount and why are on this screen and its button.
        chosen = str(form.insured_id.data or "")
        decision = decisions.get(int(chosen)) if chosen.isdigit() else None
        charge = decision if decision is not None and decision.kind == "self_pay" and \
            form.confirm_self_pay.data else None
        return render_template("consult/emergency.html", form=form, signs=exc.signs,
                               sign_labels=redflags.LABELS, charge=charge)
    except ConsultRefused as exc:
        db.session.rollback()
        if not isinstance(exc, OpenConsultationExists):  # that one is said once, on top
            for name, messages in exc.errors.items():
                field = name.replace("red_flags.", "flag_")
                if hasattr(form, field):
                    getattr(form, field).errors = list(messages)
        status = 422 if isinstance(exc, SelfPayNeedsConfirmation) else exc.status
        return render_template("consult/new.html", form=form, decisions=decisions,
                               infants=infants, refusal=exc), status
    realtime.queue_changed(consultation.product, "joined", consultation.id,
                           red_flag=consultation.red_flag)
    return redirect(url_for("consult.room", consultation_id=consultation.id))


@bp.get("/<int:consultation_id>")
@allow("patient", "doctor")
def room(consultation_id: int) -> str:
    """The consultation room: the waiting room while in line, then the chat; read-only
    with the conclusion once closed. Only its patient and doctor may open it."""
    try:
        consultation, side = services.participant_consultation(current_user.id,
                                                                consultation_id)
    except ConsultRefused:
        abort(404)
    appointment = schedule_routes.arrive(consultation, side)
    form = ConclusionForm(formdata=None) if side == "doctor" else None
    if form is not None and consultation.status == "active":
        form.complaint.data = consultation.complaint
    return _room_page(consultation, side, form, appointment)


def _room_page(consultation: Consultation, side: str, form: ConclusionForm | None,
               appointment: object = None) -> str:
    """The room with its whole transcript, as ``side`` sees it."""
    return render_template(
        "consult/room.html", c=consultation, side=side, form=form,
        messages=services.messages_after(consultation, 0, limit=100_000),
        wait=services.wait_info(consultation) if consultation.status == "waiting" else None,
        channel_labels=CHANNEL_LABELS, marks=services.marks(consultation),
        recorded=recordings.ready_for([consultation.id]),
        recording_offered=recordings.enabled(),
        room_documents=documents.for_room(current_user, consultation, side),
        doc_kinds=KIND_LABELS, today=clock.today(),
        appointments_panel=schedule_routes.panel(consultation),
        **schedule_routes.room_context(appointment or schedule_rooms.of_consultation(
            consultation.id)),
        age=services.age_of(consultation, clock.today()))


@bp.post("/<int:consultation_id>/cancel")
@allow("patient")
def cancel(consultation_id: int) -> Response:
    """Leave the queue (a self-pay payment is refunded)."""
    try:
        consultation = services.cancel(current_user, consultation_id)
        db.session.commit()
    except ConsultRefused as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.detail, "error")
        return redirect(url_for("consult.room", consultation_id=consultation_id))
    realtime.status(consultation)
    realtime.queue_changed(consultation.product, "left", consultation.id)
    amount = payments.money(consultation.price_amount)
    if consultation.payment_status == payments.REFUNDED:
        flash(_("You left the queue; %(price)s ₸ will be returned.", price=amount), "info")
    elif consultation.payment_status == payments.REFUND_FAILED:
        flash(_("You left the queue.") + " " + schedule_routes.refund_failed_words(amount),
              "info")
    else:
        flash(_("You left the queue."), "info")
    return redirect(url_for("consult.history"))


@bp.get("/history")
@allow("patient")
def history() -> str:
    """Every consultation of the account, newest first, a page at a time."""
    before = request.args.get("before", type=int)
    rows = services.history(current_user, before, HISTORY_PAGE + 1)
    more = len(rows) > HISTORY_PAGE
    rows = rows[:HISTORY_PAGE]
    booked = schedule_routes.appointments_of([c.id for c in rows])
    # A specialist consultation is paid when the patient confirms; others on joining.
    receipts = {c.id: payments.receipt(c, booked[c.id].confirmed_at if c.id in booked
                                       else c.requested_at) for c in rows}
    return render_template("consult/history.html", rows=rows,
                           next_before=rows[-1].id if more and rows else None,
                           channel_labels=CHANNEL_LABELS, booked=booked, receipts=receipts,
                           referrals=schedule_routes.referred_from([c.id for c in rows]))


# --- doctors ---------------------------------------------------------------------------

@bp.get("/desk")
@allow("doctor")
def desk() -> str:
    """The on-duty doctor's desk: shift on/off, the queue (live), their open chats."""
    on_shift = services.is_on_shift(current_user)
    today = clock.today()
    waiting = services.queue(current_user) if on_shift else []
    mine = services.open_for_doctor(current_user)
    return render_template(
        "consult/desk.html", on_shift=on_shift, waiting=waiting,
        mine=mine, today=today, now=clock.now(),
        unreviewed=documents.unreviewed_counts([c.insured_id for c in mine]),
        **schedule_routes.desk_context(),
        limit=services.max_chats(), age_of=services.age_of, channel_labels=CHANNEL_LABELS,
        channel_names={key: str(label) for key, label in CHANNEL_LABELS.items()})


@bp.post("/shift")
@allow("doctor")
def shift() -> Response:
    """Start or end the doctor's shift (``action`` = start / end)."""
    try:
        if request.form.get("action") == "start":
            services.start_shift(current_user)
            message = _("Your shift has started. New patients will be announced.")
        else:
            services.end_shift(current_user)
            message = _("Your shift has ended. Your open chats stay with you.")
        db.session.commit()
    except ConsultRefused as exc:
        db.session.rollback()
        abort(exc.status)
    for product in services.products_for(current_user):
        realtime.queue_changed(product, "shift")  # waiting patients: "doctors on duty"
    flash(message, "info")
    return redirect(url_for("consult.desk"))


@bp.post("/<int:consultation_id>/take")
@allow("doctor")
def take(consultation_id: int) -> Response:
    """Take the patient; if another doctor was quicker, say so and stay at the desk."""
    try:
        consultation = services.take(current_user, consultation_id)
        db.session.commit()
    except ConsultRefused as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for("consult.desk"))
    realtime.status(consultation)
    realtime.queue_changed(consultation.product, "left", consultation.id)
    return redirect(url_for("consult.room", consultation_id=consultation.id))


@bp.post("/<int:consultation_id>/close")
@allow("doctor")
def close(consultation_id: int) -> str | Response | tuple[str, int]:
    """Close with a conclusion; the patient sees it in their history."""
    form = ConclusionForm()
    if not form.validate_on_submit():
        abort(400)
    conclusion = services.Conclusion(form.complaint.data, form.assessment.data,
                                     form.recommendations.data, form.notes.data)
    try:
        consultation = services.close(current_user, consultation_id, conclusion)
        schedule_rooms.completed(consultation.id)  # a specialist appointment, if it was one
        calls.end_open_calls(consultation, "closed")  # the call ends with the consultation
        pending = recordings.begin_finishing(consultation.id)
        db.session.commit()
    except ConsultRefused as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        if not exc.errors:
            flash(exc.detail, "error")
            return redirect(url_for("consult.room", consultation_id=consultation_id))
        for name, messages in exc.errors.items():
            getattr(form, name).errors = list(messages)
        consultation, side = services.participant_consultation(current_user.id,
                                                               consultation_id)
        return _room_page(consultation, side, form), 422
    for recording in recordings.store(pending):  # after the commit: it waits for a worker
        realtime.recording(consultation_id, recording)
    realtime.status(consultation)
    flash(_("The consultation is closed and the conclusion sent to the patient."), "info")
    return redirect(url_for("consult.desk"))


@bp.get("/<int:consultation_id>/patient-history")
@allow("doctor")
def patient_history(consultation_id: int) -> str:
    """The patient's earlier consultations and conclusions, for the doctor holding this
    one; every view is written to the audit log."""
    try:
        consultation = services.doctors_consultation(current_user, consultation_id)
    except ConsultRefused:
        abort(404)
    earlier = services.earlier_consultations(consultation)
    audit.append_now("consultation.history_viewed", actor=current_user,
                     subject=f"insured:{consultation.insured_id}",
                     details={"consultation": consultation.id, "shown": len(earlier)})
    return render_template("consult/patient_history.html", c=consultation, earlier=earlier,
                           channel_labels=CHANNEL_LABELS)


@bp.get("/<int:consultation_id>/calls/<int:call_id>/recording")
@allow("patient", "doctor")
def recording(consultation_id: int, call_id: int) -> Response:
    """A call's audio recording (Ogg Opus), for the consultation's patient and doctor;
    byte ranges are served (phones' players ask for them). Every playback is written
    to the audit log: a request for the start of the file starts one. Never cached."""
    ranges = request.range.ranges if request.range is not None else []
    from_start = not ranges or ranges[0][0] == 0
    try:
        audio = recordings.play(current_user, consultation_id, call_id, audit_it=from_start)
    except ConsultRefused as exc:
        abort(exc.status)
    response = Response(audio, mimetype="audio/ogg")
    response.make_conditional(request, accept_ranges=True, complete_length=len(audio))
    response.headers["Content-Disposition"] = f'inline; filename="call-{call_id}.ogg"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- operators -------------------------------------------------------------------------

@bp.get("/operator")
@allow("operator", "admin")
def operator() -> str:
    """The live view of the service: the page refreshes its figures every few seconds."""
    return render_template("consult/operator.html", stats=services.stats(),
                           duration=duration_label)


def duration_label(seconds: int | None) -> str:
    """A wait in words ("0 min 28 s", "1 h 5 min"); operator.js says the same with the
    page's translated patterns."""
    if seconds is None:
        return "—"
    minutes = int(seconds) // 60
    if minutes >= 60:
        return _("{h} h {min} min").replace("{h}", str(minutes // 60)).replace(
            "{min}", str(minutes % 60))
    return _("{min} min {sec} s").replace("{min}", str(minutes)).replace(
        "{sec}", str(int(seconds) % 60))


def coverage_label(decision: services.CoverageDecision) -> str:
    """How the consultation would be paid, in words."""
    if decision.kind == "covered":
        return _("Covered by policy № %(number)s, active until %(date)s",
                 number=decision.policy_number, date=_date(decision.until))
    return _("Self-pay: waiting period until %(date)s; %(price)s ₸ per consultation",
             date=_date(decision.until), price=payments.money(decision.price))


def status_label(status: str) -> str:
    """A consultation's status in words."""
    return {
        "waiting": _("Waiting for a doctor"), "scheduled": _("Booked"),
        "active": _("In progress"),
        "closed": _("Closed"), "cancelled": _("Cancelled"),
    }.get(status, status)


def call_event_text(event: dict[str, Any]) -> str:
    """A call event of the chat timeline in words (the page's call.js says the same)."""
    if event.get("event") == "started":
        return _("Video call started") if event.get("kind") == "video" else _(
            "Audio call started")
    if event.get("event") == "ended":
        seconds = int(event.get("duration") or 0)
        return _("Call ended · {duration}").replace("{duration}",
                                                    f"{seconds // 60}:{seconds % 60:02d}")
    if event.get("event") == "declined":
        return _("Call declined")
    return _("Missed call")


def payment_label(status: str) -> str:
    """A payment's status in words."""
    return {
        "paid": _("paid"), "refunded": _("refunded"), "declined": _("declined"),
        "not_required": _("not required"),
        "pending": _("charged when the appointment is confirmed"),
        "refund_failed": _("paid; being returned by the contact centre"),
    }.get(status, status)


def _date(value: Any) -> str:
    from flask_babel import format_date

    return format_date(value, "long")

