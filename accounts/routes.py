"""Sign-in (password, then the second factor), sign-out, set-password links."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts import audit, services, sessions, throttle, totp
from accounts.blueprint import bp
from accounts.forms import LoginForm, RequestLinkForm, SecondFactorForm, SetPasswordForm
from accounts.models import User
from core import clock
from core.access import public
from core.extensions import configured_limit, db, limiter
from core.i18n import safe_next
from core.unit import Refusal, on_refusal

PENDING = "pending_2fa"
PENDING_SECONDS = 300



def start_page(user: User) -> str:
    """Where a signed-in person lands: patients on their policies, doctors at their desk,
    operators on the live view, admins on staff."""
    if user.role == "patient":
        return url_for("activation.account")
    if user.role == "admin":
        return url_for("staff.index")
    if user.role == "doctor":
        return url_for("consult.desk")
    return url_for("consult.operator")


@bp.get("/")
@public
def home() -> str | Response:
    """The landing page, or the signed-in user's start page."""
    if current_user.is_authenticated:
        return redirect(start_page(current_user))
    return render_template("home.html")


def _complete(user: User, how: str) -> Response:
    sessions.start(user)
    audit.append("auth.sign_in", actor=user, subject=f"user:{user.id}", details={"how": how})
    response = redirect(safe_next(request.args.get("next"), start_page(user)))
    throttle.remember_device(response, user)
    return response


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(configured_limit("RATELIMIT_LOGIN"), methods=["POST"])
@throttle.per_account
def login() -> str | Response | tuple[str, int]:
    """Sign in by email and password; one generic error for any mismatch (the failure's
    audit entry is committed with the answer)."""
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        user = services.authenticate(email, form.password.data or "")
        if user is None:
            audit.append("auth.sign_in_failed", details={"email": email[:254]})
            form.password.errors = [_("Wrong email or password.")]
            return render_template("accounts/login.html", form=form), 422
        if user.totp_enabled:
            return _ask_second_factor(user)
        return _complete(user, "password")
    return render_template("accounts/login.html", form=form)


def _ask_second_factor(user: User) -> Response:
    """The password (or a reset link) is proven: remember who, ask for the code."""
    flashes = session.get("_flashes")
    session.clear()
    if flashes:
        session["_flashes"] = flashes
    session[PENDING] = {"user": user.id, "at": clock.now().timestamp()}
    return redirect(url_for("accounts.second_factor", next=request.args.get("next")))


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not pending or clock.now().timestamp() - pending["at"] > PENDING_SECONDS:
        return None
    return db.session.get(User, pending["user"])


@bp.route("/login/code", methods=["GET", "POST"])
@public
@limiter.limit(configured_limit("RATELIMIT_LOGIN"), methods=["POST"])
@throttle.per_pending_user
def second_factor() -> str | Response | tuple[str, int]:
    """The second step of sign-in: a code from the authenticator app or a recovery code."""
    user = _pending_user()
    if user is None:
        flash(_("Please sign in again."), "info")
        return redirect(url_for("accounts.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        code = (form.code.data or "").strip()
        if totp.accept_code(user, code):
            return _complete(user, "totp")
        if totp.use_recovery_code(user, code):
            audit.append("auth.recovery_code_used", actor=user, subject=f"user:{user.id}")
            return _complete(user, "recovery_code")
        # The failed attempt's entry is committed with the answer.
        audit.append("auth.sign_in_failed", actor=user, subject=f"user:{user.id}",
                     details={"step": "second_factor"})
        form.code.errors = [_("This code is not valid. Codes change every 30 seconds and "
                              "work once.")]
        return render_template("accounts/second_factor.html", form=form), 422
    return render_template("accounts/second_factor.html", form=form)


@bp.post("/logout")
@public
def logout() -> Response:
    """Sign out of this browser; the session ends on the server too."""
    if current_user.is_authenticated:
        audit.append("auth.sign_out", actor=current_user, subject=f"user:{current_user.id}")
    sessions.end_current()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/password/link", methods=["GET", "POST"])
@public
@limiter.limit(configured_limit("RATELIMIT_LOGIN"), methods=["POST"])
def request_link() -> str | Response:
    """Forgotten password: always the same answer, whether the email is known or not."""
    form = RequestLinkForm()
    if form.validate_on_submit():
        services.request_password_link((form.email.data or "").strip().lower())
        flash(_("If an account uses this email, we have sent it a link to set a password. "
                "It is valid for 72 hours."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/request_link.html", form=form)


def _set_password_refused(exc: Refusal, token: str) -> tuple[str, int]:
    """A used or expired link: its own page (410); a refused password: the form again."""
    user = None if isinstance(exc, services.LinkInvalid) else services.link_owner(token)
    if user is None:
        return render_template("accounts/link_invalid.html"), 410
    form = SetPasswordForm()
    form.password.errors = [exc.detail]
    return render_template("accounts/set_password.html", form=form, user=user), 422


@bp.route("/password/set/<token>", methods=["GET", "POST"])
@public
@on_refusal(_set_password_refused)
def set_password(token: str) -> str | Response | tuple[str, int]:
    """Set a password with a single-use link; every other session of the account ends."""
    user = services.link_user(token)
    form = SetPasswordForm()
    if form.validate_on_submit():
        if form.password.data != form.confirm.data:
            form.confirm.errors = [_("The passwords do not match.")]
            return render_template("accounts/set_password.html", form=form, user=user), 422
        user = services.set_password_with_link(token, form.password.data or "")
        audit.append("auth.password_reset", actor=user, subject=f"user:{user.id}")
        flash(_("Your password is set."), "success")
        if user.totp_enabled:
            # A link proves the mailbox, not the phone: the second factor still stands
            # between a reset and a session.
            return _ask_second_factor(user)
        return _complete(user, "password_link")
    return render_template("accounts/set_password.html", form=form, user=user)
