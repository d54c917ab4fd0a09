"""``flask staff ...``: staff accounts from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from accounts import audit, services, sessions
from accounts.models import User
from accounts.services import StaffRefused
from core.access import STAFF_ROLES
from core.unit import transaction


@click.group("staff")
def staff_cli() -> None:
    """Staff accounts (doctors, operators, admins)."""


@staff_cli.command("add")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--specialty", default=None,
              help="A specialist doctor's specialty: a code from the specialties list.")
@click.option("--on-duty", is_flag=True, help="An on-duty doctor (takes the queue).")
@click.option("--pediatric", is_flag=True, help="The doctor sees children.")
@click.option("--name", "full_name", default=None,
              help="Full name (required for doctors: patients see it).")
@click.option("--speaks", default="",
              help="Languages a doctor speaks, comma-separated codes: ru,kk,en.")
@click.option("--profile", "profile_line", default=None,
              help="A doctor's short profile line (optional).")
@click.option("--language", default="ru", type=click.Choice(["ru", "kk", "en"]),
              help="The account's own language (its emails).")
@with_appcontext
def add(email: str, role: str, specialty: str | None, on_duty: bool, pediatric: bool,
        full_name: str | None, speaks: str, profile_line: str | None, language: str) -> None:
    """Create a staff account; it receives a link to set its password."""
    languages = [code.strip() for code in speaks.split(",") if code.strip()]
    with force_locale("en"), transaction():
        try:
            user = services.create_staff(email, role, full_name=full_name, specialty=specialty,
                                         pediatric=pediatric, on_duty=on_duty,
                                         language=language, languages=languages,
                                         profile_line=profile_line)
        except StaffRefused as exc:
            click.echo(f"Not added: {exc}", err=True)
            sys.exit(1)  # the transaction rolls back
        audit.append("staff.created", subject=f"user:{user.id}",
                     details={"role": role, "email": user.email, "by": "cli"})
    click.echo(f"Added {role} {user.email}; a set-password link is in the outbox.")


@staff_cli.command("role")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@with_appcontext
def change_role(email: str, role: str) -> None:
    """Give a staff member another role; their sessions end so it applies at once."""
    with transaction():
        user = services.find_by_email(email.strip().lower())
        if user is None or not isinstance(user, User) or not user.is_staff:
            click.echo(f"Not changed: no staff account {email}", err=True)
            sys.exit(1)
        old = user.role
        user.role = role
        sessions.end_all(user)
        audit.append("staff.role_changed", subject=f"user:{user.id}",
                     details={"from": old, "to": role, "by": "cli"})
    click.echo(f"{user.email}: {old} -> {role}; their sessions have ended.")
