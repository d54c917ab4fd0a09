"""Activation pages: the form and its confirmation."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts import emails
from activation import coverage, services
from activation.appendix import filename, render
from activation.blueprint import bp
from activation.errors import ActivationRefused
from activation.forms import ActivationForm
from activation.models import Activation
from core import clock
from core.access import allow, public
from core.extensions import configured_limit, db, limiter
from core.unit import on_refusal


def _refused(exc: ActivationRefused) -> tuple[str, int, dict[str, str]]:
    """The form again, as sent, with the refusal and its field errors."""
    form = ActivationForm()
    for field, messages in exc.errors.items():
        getattr(form, field).errors = list(messages)
    page = render_template("activation/activate.html", form=form, refusal=exc,
                           consent_version=current_app.config["CONSENT_VERSION"])
    return page, exc.status, exc.headers()


@bp.route("/activate", methods=["GET", "POST"])
@public
@limiter.limit(configured_limit("RATELIMIT_ACTIVATION"), methods=["POST"])
@on_refusal(_refused)
def activate() -> str | Response:
    """Show the activation form; on a valid submission activate and confirm (a refusal
    shows the form again: :func:`_refused`)."""
    form = ActivationForm()
    if not form.validate_on_submit():
        return render_template("activation/activate.html", form=form,
                               consent_version=current_app.config["CONSENT_VERSION"])
    req = services.ActivationRequest(
        policy_number=form.policy_number.data, activation_code=form.activation_code.data,
        iin=form.iin.data, full_name=form.full_name.data, email=form.email.data,
        consent=bool(form.consent.data),
    )
    result = services.activate(req, client_ip=request.remote_addr, locale=g.locale)
    session["activated"] = result.activation_id
    session["account_created"] = result.account_created
    return redirect(url_for("activation.done"))


@bp.get("/activate/done")
@public
def done() -> str | Response:
    """The confirmation of the activation just made in this browser session."""
    activation_id = session.get("activated")
    activation = db.session.get(Activation, activation_id) if activation_id else None
    if activation is None:
        return redirect(url_for("activation.activate"))
    return render_template("activation/done.html", a=activation,
                           current_email=activation.account.email,
                           masked_email=emails.mask_email(activation.account.email),
                           created=session.get("account_created", False))


@bp.get("/account")
@allow("patient")
def account() -> str:
    """The patient's policies with their status, days left and Appendix 1."""
    today = clock.today()
    rows = []
    for a in services.policies_of(current_user):
        status = coverage.status_on(a.coverage_starts_on, a.coverage_ends_on, today)
        days_left = (a.coverage_ends_on - today).days + 1 if status != "expired" else 0
        rows.append({"a": a, "status": status, "days_left": days_left})
    return render_template("activation/account.html", rows=rows)


@bp.get("/account/policies/<number>/appendix-1.pdf")
@allow("patient")
def appendix(number: str) -> Response:
    """Download Appendix 1 of one of the account's own policies."""
    a = services.activation_of(current_user, number)
    if a is None:
        abort(404)
    return Response(render(a, g.locale), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename(a)}"'})
