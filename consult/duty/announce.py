"""What the on-duty pages announce once their change is committed
(:func:`core.unit.after_commit`): the line's new places, the doctors' queue update, the
consultation's new status."""

from __future__ import annotations

from accounts.models import User
from consult import realtime
from consult.duty.queue import products_for
from consult.models import Consultation
from core.unit import after_commit


def joined(consultation: Consultation) -> None:
    """A patient joined the line: the doctors on shift hear of them (a ring)."""
    def announce() -> None:
        realtime.queue_changed(consultation.product, "joined", consultation.id,
                               red_flag=consultation.red_flag)
    after_commit(announce)


def left(consultation: Consultation) -> None:
    """The consultation left the line (taken or cancelled): both its pages hear the
    new status, the others in line their new places."""
    def announce() -> None:
        realtime.status(consultation)
        realtime.queue_changed(consultation.product, "left", consultation.id)
    after_commit(announce)


def shift_changed(doctor: User) -> None:
    """A doctor started or ended a shift: waiting patients hear how many are on duty."""
    def announce() -> None:
        for product in products_for(doctor):
            realtime.queue_changed(product, "shift")
    after_commit(announce)


def status(consultation: Consultation) -> None:
    """The consultation's new status, to both its pages."""
    after_commit(lambda: realtime.status(consultation))
