"""The profile page: name, language, password, email, second factor, sessions."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import Field

from accounts import audit, passwords, services, sessions, totp
from accounts.blueprint import bp
from accounts.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    ProfileForm,
    SecondFactorForm,
    SimpleForm,
)
from core.access import ROLES, allow
from core.unit import Refusal, on_refusal

SETUP_SECRET = "totp_setup_secret"  # noqa: S105  (a session key name)


def _page(status: int = 200, **forms: object) -> tuple[str, int]:
    defaults = {
        "profile_form": ProfileForm(prefix="p", obj=current_user),
        "password_form": ChangePasswordForm(prefix="pw"),
        "email_form": ChangeEmailForm(prefix="em"),
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


def _form_again(name: str, form_class: type[FlaskForm], prefix: str,
                field: str) -> Callable[[Refusal], tuple[str, int]]:
    """A refusal's page: the profile with the form ``name`` as it was sent, the reason
    under its ``field``."""

    def page(exc: Refusal) -> tuple[str, int]:
        form = form_class(prefix=prefix)
        getattr(form, field).errors = [exc.detail]
        return _page(422, **{name: form})

    return page


def _proves_password(field: Field, wrong: str) -> bool:
    """Whether ``field`` holds the signed-in person's password; if not, ``wrong`` is
    shown under it."""
    if passwords.verify(current_user.password_hash, field.data or ""):
        return True
    field.errors = [wrong]
    return False


@bp.post("/account/password")
@allow(*ROLES)
@on_refusal(_form_again("password_form", ChangePasswordForm, "pw", "new"))
def change_password() -> Response | tuple[str, int]:
    """A new password needs the current one; other sessions end."""
    form = ChangePasswordForm(prefix="pw")
    if not (form.validate_on_submit()
            and _proves_password(form.current, _("The current password is wrong."))):
        return _page(422, password_form=form)
    if form.new.data != form.confirm.data:
        form.confirm.errors = [_("The passwords do not match.")]
        return _page(422, password_form=form)
    services.change_password(current_user, form.new.data or "")
    sessions.end_all(current_user, keep=sessions.current())
    audit.append("auth.password_changed", actor=current_user, subject=f"user:{current_user.id}")
    flash(_("Your password is changed. Other devices are signed out."), "success")
    return redirect(url_for("accounts.profile"))


@bp.post("/account/email")
@allow(*ROLES)
@on_refusal(_form_again("email_form", ChangeEmailForm, "em", "email"))
def change_email() -> Response | tuple[str, int]:
    """A new login email needs the password again; the old address is told."""
    form = ChangeEmailForm(prefix="em")
    if not (form.validate_on_submit()
            and _proves_password(form.password, _("The password is wrong."))):
        return _page(422, email_form=form)
    old = services.change_email(current_user, form.email.data or "")
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
def totp_disable() -> Response | tuple[str, int]:
    """Patients may turn the second factor off again (staff may not)."""
    form = SimpleForm()
    if form.validate_on_submit() and current_user.totp_enabled:
        totp.disable(current_user)
        audit.append("auth.totp_disabled", actor=current_user, subject=f"user:{current_user.id}")
        flash(_("Two-step sign-in is off."), "info")
    return redirect(url_for("accounts.profile"))
