"""``flask serve``: the single-machine server (web app, the mail outbox sender, media
workers as child processes); ``flask media run``: one media worker on its own."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

if TYPE_CHECKING:
    from consult.media.children import Child


def init_app(app: Flask) -> None:
    app.cli.add_command(serve)
    app.cli.add_command(outbox_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(media_group)


@click.group("keys")
def keys_group() -> None:
    """Keys for the configuration."""


@keys_group.command("new")
def keys_new() -> None:
    """Print a fresh key for DATA_KEYS (put it first to rotate; keep the old ones after)."""
    from core.crypto import new_key

    click.echo(new_key())


@keys_group.command("new-document-key")
@click.argument("key_id", default="k1")
def keys_new_document_key(key_id: str) -> None:
    """Print a fresh ``id:key`` for DOCUMENT_KEYS (put it first to rotate; keep the old
    ones after it until `flask documents rekey` has moved every file)."""
    from core.sealed import new_key

    click.echo(new_key(key_id))


@click.group("outbox")
def outbox_group() -> None:
    """The mail outbox: deliver it from its own process when the web runs under gunicorn."""


@outbox_group.command("run")
@with_appcontext
def outbox_run() -> None:
    """Deliver due mail until interrupted (polls every OUTBOX_POLL_SECONDS)."""
    from core.outbox import OutboxSender

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("MAIL_SERVER"):
        raise click.UsageError("MAIL_SERVER is not set: there is nowhere to deliver to")
    sender = OutboxSender(app)
    sender.start()
    click.echo(f"Delivering mail through {app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']}")
    try:
        while sender.is_alive():
            sender.join(1.0)
    except KeyboardInterrupt:
        sender.stop()


@outbox_group.command("status")
@with_appcontext
def outbox_status() -> None:
    """Count messages by status, and show the oldest pending one (for the on-call)."""
    from sqlalchemy import func, select

    from core.extensions import db
    from core.outbox import OutboxMessage

    rows = db.session.execute(
        select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
        .group_by(OutboxMessage.status)
    ).all()
    if not rows:
        click.echo("The outbox is empty.")
    for status, count, oldest in rows:
        click.echo(f"{status:<8} {count:>7}  oldest {oldest:%Y-%m-%d %H:%M} UTC")


@click.group("media")
def media_group() -> None:
    """Media workers (aiortc): the connection test, later call recording."""


@media_group.command("run")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address of the worker's API (loopback or an internal network only).")
@click.option("--port", default=8101, show_default=True, type=int, help="Port of the API.")
@click.option("--url", default="", help="URL web processes reach it at (registered in "
              "Redis); default http://HOST:PORT.")
@with_appcontext
def media_run(host: str, port: int, url: str) -> None:
    """Run one media worker until interrupted, with this app's configuration."""
    from consult.media.children import process_environment
    from consult.media.common import worker_environment

    env = {**process_environment(), **worker_environment(current_app.config)}
    args = [sys.executable, "-m", "consult.media.worker", "--host", host, "--port", str(port)]
    if url:
        args += ["--url", url]
    # The worker needs none of the web app: replace this process by a lean one.
    os.execve(sys.executable, args, env)  # noqa: S606


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
        from consult.media.children import stop_workers

        stop_workers(workers)


def demo_requested(argv: list[str]) -> bool:
    """True when the command line is ``flask ... serve ... --demo``."""
    return "serve" in argv and "--demo" in argv


def _prepare(app: Flask) -> None:
    from flask_migrate import upgrade

    os.makedirs(app.instance_path, exist_ok=True)
    upgrade()
    url = app.config["BASE_URL"]
    click.echo(f"Personal Doctor is running at {url}")
    if app.config["DEMO"]:
        from core.db import writing
        from core.demo import (
            DEMO_PEOPLE,
            DEMO_STAFF_PASSWORD,
            ensure_demo_policies,
            ensure_demo_staff,
        )
        from core.extensions import db

        with writing():
            policies = ensure_demo_policies()
            staff = ensure_demo_staff()
            db.session.commit()
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
    from consult.media.children import start_workers

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
    from werkzeug.serving import run_simple

    from core.outbox import OutboxSender

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
