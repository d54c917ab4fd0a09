"""Who may use which route: every view declares it, and a request to a view without a
declaration is refused (and fails the route x role test).

``@allow("patient", "doctor")`` lets those roles in; ``@public`` lets everyone in,
signed in or not. Staff roles must also have finished their second factor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

ROLES = ("patient", "doctor", "operator", "admin")
STAFF_ROLES = ("doctor", "operator", "admin")
PUBLIC = "public"

F = TypeVar("F", bound=Callable[..., Any])


def allow(*roles: str) -> Callable[[F], F]:
    """Let signed-in users with one of ``roles`` use the view."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def mark(view: F) -> F:
        view.access = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    """Let anyone use the view."""
    view.access = PUBLIC  # type: ignore[attr-defined]
    return view


def declared_access(app: Flask, endpoint: str) -> frozenset[str] | str | None:
    """The declaration of ``endpoint``: a set of roles, ``PUBLIC``, or None if missing."""
    view = app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def init_app(app: Flask) -> None:
    """Enforce the declarations before every request."""

    @app.before_request
    def _enforce() -> ResponseReturnValue | None:
        endpoint = request.endpoint
        if endpoint is None:
            return None  # 404/405: the router answers
        if endpoint == "static":
            return None
        access = declared_access(current_app, endpoint)
        if access is None:
            current_app.logger.error("route %s declares no access rule", endpoint)
            abort(403)
        if access == PUBLIC:
            return None
        if not current_user.is_authenticated:
            if request.path.startswith("/api/"):
                abort(401)
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        if current_user.role not in access:
            abort(403)
        return None
