"""The composition root: the one place that knows every domain. It builds the app from
the kernel (:mod:`core`) and the domains' wiring, and holds the ``serve`` command and the
demo data. Only :mod:`wsgi` and the tests call :func:`create_app`."""

from __future__ import annotations

from typing import Any

from flask import Flask

from accounts import wiring as accounts
from activation import wiring as activation
from consult import wiring as consult
from core.app import finish, make_app
from service import serve


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: the kernel, then each domain, then what follows them."""
    app = make_app(overrides)
    for domain in (activation, accounts, consult):
        domain.init_app(app)
    app.cli.add_command(serve.serve)
    return finish(app)
