"""The patient's pages: the request (with the red-flag check and the self-pay
agreement) and the history. Routes are thin: the rules are in the duty services, the
live updates in :mod:`consult.duty.announce` (sent after the commit); the other
features add to the history through :mod:`consult.hooks`. The room is
:mod:`consult.duty.room`, the doctor's desk :mod:`consult.duty.desk`."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response

from consult import hooks, payments
from consult.blueprint import bp
from consult.coverage import CoverageDecision, decide_coverage, people_of
from consult.duty import announce, redflags, requests
from consult.duty import history as past
from consult.duty.forms import CHANNEL_LABELS, RequestForm
from consult.errors import (
    ConsultRefused,
    OpenConsultationExists,
    RedFlagsNeedChoice,
    SelfPayNeedsConfirmation,
    status_page,
)
from consult.text import as_cursor
from core import clock
from core.access import allow
from core.unit import on_refusal

HISTORY_PAGE = 20


def _request_form() -> tuple[RequestForm, dict[int, CoverageDecision]]:
    """The request form over the account's people who can consult now, with how each
    would be paid."""
    form = RequestForm()
    today = clock.today()
    choices, decisions = [], {}
    for person in people_of(current_user):
        try:
            decision = decide_coverage(current_user, person.id, today)
        except ConsultRefused:
            continue
        decisions[person.id] = decision
        choices.append((str(person.id), person.full_name))
    form.insured_id.choices = choices
    return form, decisions


def _infants(decisions: dict[int, CoverageDecision]) -> dict[str, str]:
    """The people under 3 months old today (id as the form's value: name): the
    checklist asks about a fever only for them."""
    today = clock.today()
    return {str(pid): d.insured.full_name for pid, d in decisions.items()
            if redflags.is_infant(d.insured.birth_date, today)}


def _request_refused(exc: ConsultRefused) -> str | tuple[str, int]:
    """The request refused: the emergency advice with the offer to go on (nothing was
    written), else the form again with the reason and the fields' errors."""
    form, decisions = _request_form()
    if isinstance(exc, RedFlagsNeedChoice):
        # Continuing may charge: the amount and why are on this screen and its button.
        chosen = str(form.insured_id.data or "")
        decision = decisions.get(int(chosen)) if chosen.isdigit() else None
        charge = decision if decision is not None and decision.kind == "self_pay" and \
            form.confirm_self_pay.data else None
        return render_template("consult/emergency.html", form=form, signs=exc.signs,
                               sign_labels=redflags.LABELS, charge=charge)
    if not isinstance(exc, OpenConsultationExists):  # that one is said once, on top
        for name, messages in exc.errors.items():
            field = name.replace("red_flags.", "flag_")
            if hasattr(form, field):
                getattr(form, field).errors = list(messages)
    status = 422 if isinstance(exc, SelfPayNeedsConfirmation) else exc.status
    return render_template("consult/new.html", form=form, decisions=decisions,
                           infants=_infants(decisions), refusal=exc), status


@bp.route("/new", methods=["GET", "POST"])
@allow("patient")
@on_refusal(_request_refused)
def new() -> str | Response:
    """Ask for an on-duty doctor: who, what is wrong, which channel; self-pay needs an
    explicit agreement to the price."""
    form, decisions = _request_form()
    if request.method == "GET" and len(decisions) == 1:
        form.insured_id.data = str(next(iter(decisions)))
    if not decisions:
        return render_template("consult/new.html", form=form, decisions=decisions,
                               no_coverage=True)
    # Said before the form is filled in: who already has a consultation open, with a link.
    busy = {pid: cid for pid, cid in requests.open_by_person(current_user).items()
            if pid in decisions}
    if not form.validate_on_submit():
        return render_template("consult/new.html", form=form, decisions=decisions,
                               infants=_infants(decisions), busy=busy)
    req = requests.ConsultationRequest(form.insured_id.data, form.complaint.data,
                                       form.channel.data, bool(form.confirm_self_pay.data),
                                       form.red_flags(), form.wants_to_continue())
    consultation = requests.request_consultation(current_user, req, str(g.locale))
    announce.joined(consultation)
    return redirect(url_for("consult.room", consultation_id=consultation.id))


def _no_such_page(exc: ConsultRefused) -> ResponseReturnValue:
    """A ``before`` that is not a consultation id: there is no such page (404)."""
    return status_page(404)


@bp.get("/history")
@allow("patient")
@on_refusal(_no_such_page)
def history() -> str:
    """Every consultation of the account, newest first, a page at a time."""
    before = as_cursor(request.args.get("before"), "before", minimum=1)
    rows = past.history(current_user, before, HISTORY_PAGE + 1)
    more = len(rows) > HISTORY_PAGE
    rows = rows[:HISTORY_PAGE]
    context = hooks.history_context(rows)
    # A specialist consultation is paid when the patient confirms; others on joining.
    paid_at = context.get("paid_at", {})
    receipts = {c.id: payments.receipt(c, paid_at.get(c.id, c.requested_at)) for c in rows}
    return render_template("consult/history.html", **{
        "booked": {}, "referrals": {}, **context,
        "rows": rows, "next_before": rows[-1].id if more and rows else None,
        "channel_labels": CHANNEL_LABELS, "receipts": receipts})
