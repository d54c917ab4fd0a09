"""``flask policies ...``: the insurer's registry."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from activation.registry import import_csv
from core.unit import transaction


@click.group()
def policies() -> None:
    """Issued policies: import the insurer's registry."""


@policies.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(csv_file: Path) -> None:
    """Import CSV_FILE (policy_number, activation_code, product[, activate_by, iin]).

    Nothing is imported if any row is bad; every bad row is listed with its line.
    """
    try:
        text = csv_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        click.echo(f"{csv_file}: not UTF-8 text; nothing imported", err=True)
        sys.exit(1)
    with force_locale("en"), transaction():
        report = import_csv(text)
        if not report.ok:
            for line, reason in report.errors:
                click.echo(f"{csv_file}:{line}: {reason}", err=True)
            click.echo(f"{len(report.errors)} problem(s); nothing imported.", err=True)
            sys.exit(1)  # the transaction rolls back
    click.echo(f"Imported {report.added} new policies; {report.unchanged} already present "
               f"and unchanged.")
