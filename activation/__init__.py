"""Activation: the policy registry, online activation, coverage dates, Appendix 1."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask

bp = Blueprint("activation", __name__)


def init_app(app: Flask) -> None:
    """Register the pages, the API, the CLI group and the Appendix 1 renderer."""
    from activation import api, cli, mails, routes  # noqa: F401  (routes register on bp)
    from activation.appendix import product_name, render_attachment
    from core import outbox

    app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.policies)
    outbox.register_attachment("appendix1", render_attachment)
    mails.register()
    app.jinja_env.globals.update(product_name=product_name, one_day=timedelta(days=1))
