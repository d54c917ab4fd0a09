"""``flask appointments remind``: queue the reminders that are due; ``flask serve`` runs
the same every minute (``start_reminders``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import click
from flask import Flask
from flask.cli import with_appcontext

from consult.schedule import announce, notify, rooms
from core.extensions import db
from core.unit import transaction

REMIND_EVERY = 60.0


@click.group("appointments")
def appointments_group() -> None:
    """Specialist appointments."""


@appointments_group.command("remind")
@click.option("--loop", is_flag=True, help="Keep reminding every minute until interrupted.")
@with_appcontext
def remind_command(loop: bool) -> None:
    """Queue the reminders due now (24 hours and 15 minutes before), open the rooms
    whose time has come and mark no-shows."""
    while True:
        queued = upkeep()
        db.session.remove()  # nothing stays open while it sleeps
        click.echo(f"{queued} reminders queued")
        if not loop:
            return
        time.sleep(REMIND_EVERY)


def upkeep() -> int:
    """One pass (committed): due reminders queued, due rooms opened, no-shows marked and
    the on-duty doctors told. Returns the reminders queued."""
    with transaction():
        queued = notify.send_due_reminders()
        rooms.open_due()
        announce.missed(rooms.mark_no_shows())  # the desks hear it after the commit
    return queued


def start_reminders(app: Flask) -> Callable[[], None]:
    """A thread of ``flask serve`` queueing due reminders every minute; returns the
    function that stops it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(REMIND_EVERY):
            try:
                with app.app_context():
                    upkeep()
            except Exception:  # noqa: BLE001 - keep trying; the on-call sees the log
                logging.getLogger(__name__).exception("queueing reminders failed")

    threading.Thread(target=loop, name="appointment-reminders", daemon=True).start()
    return stop.set
