"""``flask documents``: the virus-scan backlog and key rotation, for the on-call."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from consult.documents import upkeep, vault
from consult.documents.models import Document
from core.extensions import db
from core.unit import transaction


@click.group("documents")
def documents_group() -> None:
    """Medical documents: scanning and keys."""


@documents_group.command("scan")
@click.option("--loop", is_flag=True, help="Keep scanning every 30 s until interrupted.")
@with_appcontext
def scan_command(loop: bool) -> None:
    """Scan documents kept pending while clamd (CLAMD_SOCKET) was down."""
    while True:
        with transaction():
            counts = upkeep.scan_pending()
        click.echo(f"ready {counts['ready']}, rejected {counts['rejected']}, "
                   f"still pending {counts['pending']}")
        if not loop:
            return
        time.sleep(30)


@documents_group.command("rekey")
@with_appcontext
def rekey_command() -> None:
    """Seal files again with the first key of DOCUMENT_KEYS (after a rotation)."""
    total, damaged = 0, set[int]()
    while batch := upkeep.sealed_with_old_keys(skip=frozenset(damaged)):
        for document in batch:
            document_id = document.id
            try:
                with transaction():
                    old = upkeep.rekey(document)
            except vault.Damaged as exc:  # left as it is, named for the on-call
                damaged.add(document_id)
                click.echo(f"document {document_id} is damaged, not moved: {exc}", err=True)
                continue
            vault.delete(*old)  # the row points at the new blobs: the old ones can go
            total += 1
    click.echo(f"{total} documents sealed again with the current key")
    if damaged:
        raise click.ClickException(f"{len(damaged)} damaged documents were not moved")


@documents_group.command("status")
@with_appcontext
def status_command() -> None:
    """Count documents by status and by the key that sealed them."""
    for status, count in db.session.execute(
            select(Document.status, func.count()).group_by(Document.status)):
        click.echo(f"{status:<9} {count:>7}")
    for key_id, count in db.session.execute(
            select(Document.key_id, func.count()).group_by(Document.key_id)):
        click.echo(f"key {key_id:<12} {count:>7}")
