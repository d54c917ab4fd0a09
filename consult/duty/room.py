"""The consultation room: the waiting room while in line (where the patient may leave
the queue), then the chat, where the doctor closes with a conclusion; read-only with
the conclusion once closed. The other features add to it through :mod:`consult.hooks`
(the appointment panel, documents, recordings)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from consult import hooks, payments
from consult.access import participant_consultation
from consult.blueprint import bp
from consult.duty import announce, chat, closing, requests
from consult.duty.forms import CHANNEL_LABELS, ConclusionForm
from consult.duty.queue import age_of
from consult.errors import ConsultRefused, said_on
from consult.line import wait_info
from consult.models import Consultation
from core import clock
from core.access import allow
from core.unit import on_refusal


@bp.get("/<int:consultation_id>")
@allow("patient", "doctor")
def room(consultation_id: int) -> str:
    """The consultation room: the waiting room while in line, then the chat; read-only
    with the conclusion once closed. Only its patient and doctor may open it."""
    consultation, side = participant_consultation(current_user.id, consultation_id)
    hooks.arrived(consultation, side)
    form = ConclusionForm(formdata=None) if side == "doctor" else None
    if form is not None and consultation.status == "active":
        form.complaint.data = consultation.complaint
    return room_page(consultation, side, form)


def room_page(consultation: Consultation, side: str, form: ConclusionForm | None) -> str:
    """The room with its whole transcript, as ``side`` sees it, and what the other
    features show in it."""
    today = clock.today()
    own = {"c": consultation, "side": side, "form": form,
           "messages": chat.messages_after(consultation, 0, limit=100_000),
           "wait": wait_info(consultation) if consultation.status == "waiting" else None,
           "channel_labels": CHANNEL_LABELS, "marks": chat.marks(consultation),
           "today": today, "age": age_of(consultation, today)}
    return render_template("consult/room.html", **{
        **hooks.room_context(consultation, side, current_user), **own})


# A refusal of an action in the room is said on top of it.
back_to_room = said_on("consult.room", "consultation_id")


@bp.post("/<int:consultation_id>/cancel")
@allow("patient")
@on_refusal(back_to_room)
def cancel(consultation_id: int) -> Response:
    """Leave the queue (a self-pay payment is refunded)."""
    consultation = requests.cancel(current_user, consultation_id)
    announce.left(consultation)
    amount = payments.money(consultation.price_amount)
    if consultation.payment_status == payments.REFUNDED:
        flash(_("You left the queue; %(price)s ₸ will be returned.", price=amount), "info")
    elif consultation.payment_status == payments.REFUND_FAILED:
        flash(_("You left the queue.") + " " + payments.refund_failed_words(amount), "info")
    else:
        flash(_("You left the queue."), "info")
    return redirect(url_for("consult.history"))


def _conclusion_refused(exc: ConsultRefused, consultation_id: int) -> ResponseReturnValue:
    """The conclusion refused: its fields' errors in the room's form, else said on top."""
    if exc.status == 404 or not exc.errors:
        return back_to_room(exc, consultation_id=consultation_id)
    form = ConclusionForm()
    for name, messages in exc.errors.items():
        getattr(form, name).errors = list(messages)
    consultation, side = participant_consultation(current_user.id, consultation_id)
    return room_page(consultation, side, form), 422


@bp.post("/<int:consultation_id>/close")
@allow("doctor")
@on_refusal(_conclusion_refused)
def close(consultation_id: int) -> Response:
    """Close with a conclusion; the patient sees it in their history."""
    form = ConclusionForm()
    if not form.validate_on_submit():
        abort(400)
    conclusion = closing.Conclusion(form.complaint.data, form.assessment.data,
                                    form.recommendations.data, form.notes.data)
    consultation = closing.close(current_user, consultation_id, conclusion)
    announce.status(consultation)
    flash(_("The consultation is closed and the conclusion sent to the patient."), "info")
    return redirect(url_for("consult.desk"))
