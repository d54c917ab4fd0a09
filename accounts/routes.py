"""Sign-in, sign-out, set-password links, and the account page."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from accounts import bp, passwords, services
from accounts.forms import LoginForm, RequestLinkForm, SetPasswordForm
from core.extensions import db, limiter
from core.i18n import safe_next


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


@bp.get("/")
def home() -> str | Response:
    """The landing page: activate a policy or sign in."""
    if current_user.is_authenticated:
        return redirect(url_for("activation.account"))
    return render_template("home.html")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> str | Response | tuple[str, int]:
    """Sign in by email and password; one generic error for any mismatch."""
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url_for("activation.account")))
        form.password.errors = [_("Wrong email or password.")]
        return render_template("accounts/login.html", form=form), 422
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Sign out of this browser."""
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/password/link", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def request_link() -> str | Response:
    """Ask for a new set-password link; the answer never says if the email is known."""
    form = RequestLinkForm()
    if form.validate_on_submit():
        services.request_password_link((form.email.data or "").strip().lower())
        db.session.commit()
        flash(_("If an account uses this email, we have sent it a link to set a password. "
                "It is valid for 72 hours."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/request_link.html", form=form)


@bp.route("/password/set/<token>", methods=["GET", "POST"])
def set_password(token: str) -> str | Response | tuple[str, int]:
    """Set a password with a single-use link, then sign in."""
    try:
        user = services.link_user(token)
    except services.LinkInvalid:
        return render_template("accounts/link_invalid.html"), 410
    form = SetPasswordForm()
    if form.validate_on_submit():
        if form.password.data != form.confirm.data:
            form.confirm.errors = [_("The passwords do not match.")]
        else:
            try:
                user = services.set_password_with_link(token, form.password.data or "")
            except passwords.PasswordRuleError as exc:
                db.session.rollback()
                form.password.errors = [str(exc)]
            except services.LinkInvalid:
                db.session.rollback()
                return render_template("accounts/link_invalid.html"), 410
            else:
                db.session.commit()
                login_user(user)
                flash(_("Your password is set."), "success")
                return redirect(url_for("activation.account"))
        return render_template("accounts/set_password.html", form=form, user=user), 422
    return render_template("accounts/set_password.html", form=form, user=user)
