"""How accounts plug into the app: pages, the session loader, the second-factor rule
for staff, CLI groups and mail templates."""

from __future__ import annotations

from flask import Flask, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts import profile, routes, sessions, staff  # noqa: F401  (views register)
from accounts.audit_cli import audit as audit_cli
from accounts.audit_routes import bp as audit_bp
from accounts.blueprint import bp
from accounts.cli import staff_cli
from accounts.models import User
from accounts.services import render_email_changed, render_set_password
from core import outbox
from core.extensions import db, login_manager

# Staff without a second factor may only reach these until they enrol.
ENROLMENT_ENDPOINTS = frozenset({
    "accounts.totp_setup", "accounts.logout", "i18n.switch", "static",
})


def init_app(app: Flask) -> None:
    """Register pages, the session loader, access rules, CLI groups and mail templates."""
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.session_protection = None  # the server-side session decides

    @login_manager.user_loader
    def _load(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        # Whether the user is still signed in is the server-side session's decision.
        return user if user is not None and sessions.validate(user) else None

    @app.before_request
    def _staff_must_enrol() -> Response | None:
        if (current_user.is_authenticated and current_user.is_staff
                and not current_user.totp_enabled
                and request.endpoint not in ENROLMENT_ENDPOINTS):
            return redirect(url_for("accounts.totp_setup"))
        return None

    outbox.register_template("set_password", render_set_password)
    outbox.register_template("email_changed", render_email_changed)
    app.register_blueprint(bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(audit_bp)
    app.cli.add_command(staff_cli)
    app.cli.add_command(audit_cli)
