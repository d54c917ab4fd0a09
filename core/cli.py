"""The kernel's commands: ``flask keys`` (fresh keys for the configuration) and
``flask outbox`` (deliver the mail outbox from its own process, and its status)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from core.crypto import new_key as new_data_key
from core.extensions import db
from core.outbox import OutboxMessage, OutboxSender
from core.sealed import new_key as new_document_key


def init_app(app: Flask) -> None:
    """Register the kernel's command groups."""
    app.cli.add_command(outbox_group)
    app.cli.add_command(keys_group)


@click.group("keys")
def keys_group() -> None:
    """Keys for the configuration."""


@keys_group.command("new")
def keys_new() -> None:
    """Print a fresh key for DATA_KEYS (put it first to rotate; keep the old ones after)."""
    click.echo(new_data_key())


@keys_group.command("new-document-key")
@click.argument("key_id", default="k1")
def keys_new_document_key(key_id: str) -> None:
    """Print a fresh ``id:key`` for DOCUMENT_KEYS (put it first to rotate; keep the old
    ones after it until `flask documents rekey` has moved every file)."""
    click.echo(new_document_key(key_id))


@click.group("outbox")
def outbox_group() -> None:
    """The mail outbox: deliver it from its own process when the web runs under gunicorn."""


@outbox_group.command("run")
@with_appcontext
def outbox_run() -> None:
    """Deliver due mail until interrupted (polls every OUTBOX_POLL_SECONDS)."""
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
    rows = db.session.execute(
        select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
        .group_by(OutboxMessage.status)
    ).all()
    if not rows:
        click.echo("The outbox is empty.")
    for status, count, oldest in rows:
        click.echo(f"{status:<8} {count:>7}  oldest {oldest:%Y-%m-%d %H:%M} UTC")
