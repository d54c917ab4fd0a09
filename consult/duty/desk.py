"""The on-duty doctor's desk: the shift on and off, the queue (live), taking a patient,
their open chats, and a patient's earlier consultations. The other features add to
the desk through :mod:`consult.hooks` (appointments that need a new time, documents
to review)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts import audit
from consult import hooks
from consult.access import doctors_consultation
from consult.blueprint import bp
from consult.duty import announce, queue, shifts
from consult.duty.forms import CHANNEL_LABELS
from consult.duty.history import earlier_consultations, open_for_doctor
from consult.errors import error_page, said_on
from core import clock
from core.access import allow
from core.unit import on_refusal


@bp.get("/desk")
@allow("doctor")
def desk() -> str:
    """The on-duty doctor's desk: shift on/off, the queue (live), their open chats."""
    on_shift = shifts.is_on_shift(current_user)
    own = {"on_shift": on_shift,
           "waiting": queue.queue(current_user) if on_shift else [],
           "mine": open_for_doctor(current_user), "today": clock.today(), "now": clock.now(),
           "limit": queue.max_chats(), "age_of": queue.age_of,
           "channel_labels": CHANNEL_LABELS,
           "channel_names": {key: str(label) for key, label in CHANNEL_LABELS.items()}}
    return render_template("consult/desk.html", **{**hooks.desk_context(current_user),
                                                    **own})


@bp.post("/shift")
@allow("doctor")
@on_refusal(error_page)
def shift() -> Response:
    """Start or end the doctor's shift (``action`` = start / end)."""
    if request.form.get("action") == "start":
        shifts.start_shift(current_user)
        message = _("Your shift has started. New patients will be announced.")
    else:
        shifts.end_shift(current_user)
        message = _("Your shift has ended. Your open chats stay with you.")
    announce.shift_changed(current_user)  # waiting patients: "doctors on duty"
    flash(message, "info")
    return redirect(url_for("consult.desk"))


@bp.post("/<int:consultation_id>/take")
@allow("doctor")
@on_refusal(said_on("consult.desk"))
def take(consultation_id: int) -> Response:
    """Take the patient; if another doctor was quicker, say so and stay at the desk."""
    consultation = queue.take(current_user, consultation_id)
    announce.left(consultation)
    return redirect(url_for("consult.room", consultation_id=consultation.id))


@bp.get("/<int:consultation_id>/patient-history")
@allow("doctor")
def patient_history(consultation_id: int) -> str:
    """The patient's earlier consultations and conclusions, for the doctor holding this
    one (404 for any other); every view is written to the audit log."""
    consultation = doctors_consultation(current_user, consultation_id)
    earlier = earlier_consultations(consultation)
    audit.append_now("consultation.history_viewed", actor=current_user,
                     subject=f"insured:{consultation.insured_id}",
                     details={"consultation": consultation.id, "shown": len(earlier)})
    return render_template("consult/patient_history.html", c=consultation, earlier=earlier,
                           channel_labels=CHANNEL_LABELS)
