"""The profile page: name, language, password, email, second factor, sessions."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from accounts import audit, reauth, services, sessions, throttle, totp
from accounts.blueprint import bp
from accounts.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    ProfileForm,
    SecondFactorForm,
    SimpleForm,
    TurnOffSecondFactorForm,
)
from core.access import ROLES, allow
from core.unit import Refusal, on_refusal

SETUP_SECRET = "totp_setup_secret"  # noqa: S105  (a session key name)


def _page(status: int = 200, **forms: object) -> tuple[str, int]:
    defaults = {
        "profile_form": ProfileForm(prefix="p", obj=current_user),
        "password_form": ChangePasswordForm(prefix="pw"),
        "email_form": ChangeEmailForm(prefix="em"),
        "totp_form": TurnOffSecondFactorForm(prefix="off"),
        "simple_form": SimpleForm(),
    }
    defaults.update(forms)
    return render_template("accounts/profile.html", sessions=sessions.active(current_user),
                           current_session=sessions.current(), **defaults), status


@bp.get("/account/profile")
@allow(*ROLES)
def profile() -> tuple[str, int]:
    """Everything about the signed-in person's own account."""
    return _page()


@bp.post("/account/profile")
@allow(*ROLES)
def update_profile() -> Response | tuple[str, int]:
    form = ProfileForm(prefix="p")
    if not form.validate_on_submit():
        return _page(422, profile_form=form)
    services.update_profile(current_user, form.full_name.data, form.language.data)
    flash(_("Saved."), "success")
    response = redirect(url_for("accounts.profile"))
    response.set_cookie("lang", current_user.language, max_age=365 * 24 * 3600,
                        samesite="Lax", httponly=True,
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def _form_again(name: str, form_class: type[FlaskForm], prefix: str, field: str,
                asked_as: str = "password") -> Callable[[Refusal], tuple[str, int]]:
    """A refusal's page: the profile with the form ``name`` as it was sent, the reason
    under its ``field`` — or, for a missing or wrong password or code, under the code
    field or the form's password field ``asked_as`` (a wrong one counts against the
    account's allowance of guesses)."""

    def page(exc: Refusal) -> tuple[str, int]:
        form = form_class(prefix=prefix)
        if "code" in form:
            form["code"].data = ""  # a code works once: never shown back
        target = field
        if isinstance(exc, reauth.Unproven):
            target = asked_as if exc.field == "password" else exc.field
            if exc.counted:
                throttle.note_failed_proof()
        getattr(form, target).errors = [exc.detail]
        return _page(422, **{name: form})

    return page


@bp.post("/account/password")
@allow(*ROLES)
@throttle.per_signed_in_account
@on_refusal(_form_again("password_form", ChangePasswordForm, "pw", "new", "current"))
def change_password() -> Response | tuple[str, int]:
    """A new password needs the current one (and a code when the second factor is on);
    other sessions end."""
    form = ChangePasswordForm(prefix="pw")
    if not form.validate_on_submit():
        return _page(422, password_form=form)
    if form.new.data != form.confirm.data:
        form.confirm.errors = [_("The passwords do not match.")]
        return _page(422, password_form=form)
    services.change_password(current_user, form.current.data, form.new.data or "",
                             form.code.data)
    sessions.end_all(current_user, keep=sessions.current())
    audit.append("auth.password_changed", actor=current_user, subject=f"user:{current_user.id}")
    flash(_("Your password is changed. Other devices are signed out."), "success")
    return redirect(url_for("accounts.profile"))


@bp.post("/account/email")
@allow(*ROLES)
@throttle.per_signed_in_account
@on_refusal(_form_again("email_form", ChangeEmailForm, "em", "email"))
def change_email() -> Response | tuple[str, int]:
    """A new login email needs the password again (and a code when the second factor
    is on); the old address is told."""
    form = ChangeEmailForm(prefix="em")
    if not form.validate_on_submit():
        return _page(422, email_form=form)
    old = services.change_email(current_user, form.email.data or "", form.password.data,
                                form.code.data)
    audit.append("auth.email_changed", actor=current_user, subject=f"user:{current_user.id}",
                 details={"old": old, "new": current_user.email})
    flash(_("Your login email is changed. We have told your old address."), "success")
    return redirect(url_for("accounts.profile"))


@bp.post("/account/sessions/end-all")
@allow(*ROLES)
def end_other_sessions() -> Response:
    """Sign out everywhere else."""
    count = sessions.end_all(current_user, keep=sessions.current())
    audit.append("auth.sessions_ended", actor=current_user, subject=f"user:{current_user.id}",
                 details={"count": count})
    flash(_("Signed out on all other devices."), "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/account/security/totp", methods=["GET", "POST"])
@allow(*ROLES)
def totp_setup() -> str | Response | tuple[str, int]:
    """Enrol an authenticator app: QR code drawn here, the key to type, one code to prove."""
    if current_user.totp_enabled:
        return redirect(url_for("accounts.profile"))
    secret = session.get(SETUP_SECRET)
    if not secret or request.method == "GET":
        secret = totp.new_secret()
        session[SETUP_SECRET] = secret
    form = SecondFactorForm()
    uri = totp.provisioning_uri(current_user, secret)
    if form.validate_on_submit():
        codes = totp.enable(current_user, secret, form.code.data or "")
        if codes is not None:
            session.pop(SETUP_SECRET, None)
            audit.append("auth.totp_enabled", actor=current_user,
                         subject=f"user:{current_user.id}")
            return render_template("accounts/recovery_codes.html", codes=codes)
        form.code.errors = [_("This code is not valid. Check the time on your phone and "
                              "type the newest code.")]
        status = 422
    else:
        status = 200
    return render_template("accounts/totp_setup.html", form=form, qr=totp.qr_data_uri(uri),
                           secret=secret, mandatory=current_user.is_staff), status


@bp.post("/account/security/totp/disable")
@allow("patient")
@throttle.per_signed_in_account
@on_refusal(_form_again("totp_form", TurnOffSecondFactorForm, "off", "code"))
def totp_disable() -> Response | tuple[str, int]:
    """Patients may turn the second factor off again (staff may not), with their
    password and a current code (or a recovery code)."""
    if not current_user.totp_enabled:
        return redirect(url_for("accounts.profile"))
    form = TurnOffSecondFactorForm(prefix="off")
    if not form.validate_on_submit():
        return _page(422, totp_form=form)
    services.turn_off_second_factor(current_user, form.password.data, form.code.data)
    audit.append("auth.totp_disabled", actor=current_user, subject=f"user:{current_user.id}")
    flash(_("Two-step sign-in is off."), "info")
    return redirect(url_for("accounts.profile"))
