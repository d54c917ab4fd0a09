"""What open pages hear of appointments, once the change is committed
(:func:`core.unit.after_commit`): the referring room's panel, the specialist's room,
and the on-duty desks' list of appointments that need a new time."""

from __future__ import annotations

from functools import partial

from consult import realtime
from consult.models import Consultation
from consult.schedule.models import Appointment
from core.extensions import db
from core.unit import after_commit


def booked(consultation_id: int, appointment_id: int) -> None:
    """An appointment was booked from the consultation: both pages reload the panel."""
    after_commit(lambda: realtime.appointment_booked(consultation_id, appointment_id))


def answered(appointment: Appointment, action: str) -> None:
    """The patient confirmed, asked for another time or cancelled: the referring room's
    panel, the desks (another time is to be booked) and the specialist's room hear it."""
    referring = db.session.get(Consultation, appointment.referring_consultation_id)
    held = db.session.get(Consultation, appointment.consultation_id)
    appointment_id, status = appointment.id, appointment.status

    def tell() -> None:
        if referring is not None:
            realtime.appointment_booked(referring.id, appointment_id)  # the room's panel
            if action == "reschedule":  # the on-duty desks list it to book a new time
                realtime.queue_changed(referring.product, "new_time", referring.id)
        if held is not None:  # the specialist's room shows the answer
            realtime.status(held, appointment_status=status)

    after_commit(tell)


def missed(appointments: list[Appointment]) -> None:
    """Appointments a side missed: once that is committed, the on-duty desks list them
    to book a new time."""
    for appointment in appointments:
        referring = db.session.get(Consultation, appointment.referring_consultation_id)
        if referring is not None:
            after_commit(partial(realtime.queue_changed, referring.product, "no_show",
                                 referring.id))
