"""Accounts: sign-in, set-password links, the personal account page."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("accounts", __name__)


def init_app(app: Flask) -> None:
    """Register the pages and the session loader."""
    from flask_babel import lazy_gettext as _l

    from accounts import routes  # noqa: F401  (routes register on bp)
    from accounts.models import User
    from core.extensions import db, login_manager

    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load(session_id: str) -> User | None:
        user_id, _sep, version = session_id.partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or user.session_version != int(version):
            return None
        return user

    from accounts.services import render_set_password
    from core import outbox

    outbox.register_template("set_password", render_set_password)
    app.register_blueprint(bp)
