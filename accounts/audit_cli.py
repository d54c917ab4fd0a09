"""``flask audit ...``: check the audit log's hash chain."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from accounts.audit import check


@click.group("audit")
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@with_appcontext
def verify_command() -> None:
    """Recompute the hash chain; list every edited or deleted entry (exit 1 if any)."""
    result = check()
    if result.problems:
        for problem in result.problems:
            click.echo(problem, err=True)
        click.echo(f"audit log damaged: {len(result.problems)} problem(s) in "
                   f"{result.entries} entries", err=True)
        sys.exit(1)
    click.echo(f"audit log intact: {result.entries} entries")
