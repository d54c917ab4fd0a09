"""``flask serve``: the single-machine server — the web app, the mail outbox sender, the
domains' background loops and media workers as child processes; with ``--demo``, the
demo data and how to sign in."""

from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from consult.calls.media.children import Child, start_workers, stop_workers
from core.outbox import OutboxSender
from core.unit import transaction
from service.demo import DEMO_PEOPLE, DEMO_STAFF_PASSWORD, ensure_demo_policies, ensure_demo_staff


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--demo", is_flag=True,
              help="Embedded demo: SQLite in instance/, demo policies, dev mailbox.")
@with_appcontext
def serve(host: str, port: int, demo: bool) -> None:
    """Run the web app and the outbox sender in one process."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if demo and not app.config["DEMO"]:
        raise click.UsageError("--demo needs the app built in demo mode: run it as "
                               "`flask serve --demo` from the repository root")
    if not os.environ.get("BASE_URL"):
        app.config["BASE_URL"] = f"http://{host}:{port}"
    _prepare(app)
    workers = _start_media_workers(app)
    try:
        run_server(app, host, port)
    finally:
        stop_workers(workers)


def demo_requested(argv: list[str]) -> bool:
    """True when the command line is ``flask ... serve ... --demo``."""
    return "serve" in argv and "--demo" in argv


def _prepare(app: Flask) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    upgrade()
    url = app.config["BASE_URL"]
    click.echo(f"Personal Doctor is running at {url}")
    if app.config["DEMO"]:
        with transaction():
            policies = ensure_demo_policies()
            staff = ensure_demo_staff()
        click.echo(f"Demo mode: database {app.config['SQLALCHEMY_DATABASE_URI']}")
        click.echo(f"Mail is not sent: read it at {url}/dev/mailbox/")
        click.echo(f"Activate a policy at {url}/activate with one of these:")
        click.echo(f"  {'policy number':<18} {'activation code':<16} product")
        for number, code, product in policies:
            click.echo(f"  {number:<18} {code:<16} {product}")
        click.echo("Sample insured people (IIN, name):")
        for product, (iin, name) in DEMO_PEOPLE.items():
            click.echo(f"  {product}: {iin}  {name}")
        click.echo("Demo logins: patients are created by activating a policy above (the "
                   "set-password link arrives in the dev mailbox).")
        click.echo(f"Staff (password \"{DEMO_STAFF_PASSWORD}\"; add the TOTP key to an "
                   "authenticator app, or `oathtool --totp -b KEY`):")
        for email, role, key in staff:
            click.echo(f"  {role:<9} {email:<38} TOTP key {key}")
    elif not app.config.get("MAIL_SERVER"):
        click.echo("Warning: MAIL_SERVER is not set; mail stays in the outbox.", err=True)


def _start_media_workers(app: Flask) -> list[Child]:
    """Start MEDIA_WORKERS media workers on loopback and add the ones that started to
    MEDIA_WORKER_URLS; the web app runs on without any (the test page says so)."""
    count = app.config["MEDIA_WORKERS"]
    if count <= 0:
        return []
    workers = start_workers(app.config, count)
    if workers:
        configured = [u for u in app.config["MEDIA_WORKER_URLS"].split(",") if u.strip()]
        app.config["MEDIA_WORKER_URLS"] = ",".join([w.url for w in workers] + configured)
        click.echo(f"Media workers: {app.config['MEDIA_WORKER_URLS']}")
    else:
        click.echo("Warning: no media worker started; the connection test is unavailable.",
                   err=True)
    return workers


def run_server(app: Flask, host: str, port: int) -> None:
    """Serve ``app`` with the outbox sender running beside it until interrupted."""
    sender = OutboxSender(app)
    sender.start()
    # Domains add their own background loops here (``start(app)`` returns a stopper).
    stoppers = [start(app) for start in app.extensions.get("serve_background", [])]
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        sender.stop()
        for stop in stoppers:
            stop()
