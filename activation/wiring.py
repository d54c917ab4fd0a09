"""How activation plugs into the app: pages, the API, the CLI group, the Appendix 1
renderer and the activation mails."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from activation import api, cli, mails, routes  # noqa: F401  (routes register on bp)
from activation.appendix import product_name, render_attachment
from activation.blueprint import bp
from core import outbox


def init_app(app: Flask) -> None:
    """Register the pages, the API, the CLI group and the Appendix 1 renderer."""
    app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.policies)
    outbox.register_attachment("appendix1", render_attachment)
    mails.register()
    app.jinja_env.globals.update(product_name=product_name, one_day=timedelta(days=1))
