"""Who sees what: a consultation is shown to its patient and its doctor only; to anyone
else it does not exist (404, no hint)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from accounts.models import User
from consult.errors import ConsultRefused
from consult.models import Consultation
from consult.text import as_id
from core.extensions import db


def _not_found() -> ConsultRefused:
    return ConsultRefused(_("Consultation not found."), 404)


def own_consultation(patient: User, consultation_id: int) -> Consultation:
    """The patient's own consultation; anything else is 404 (no hint it exists)."""
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or consultation.patient_id != patient.id:
        raise _not_found()
    return consultation


def doctors_consultation(doctor: User, consultation_id: int) -> Consultation:
    """A consultation the doctor holds (or held); anything else is 404."""
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or consultation.doctor_id != doctor.id:
        raise _not_found()
    return consultation


def participant_consultation(user_id: int, consultation_id: Any) -> tuple[Consultation, str]:
    """The consultation and the user's side in it; 404 for anyone else."""
    cid = as_id(consultation_id)
    consultation = db.session.get(Consultation, cid) if cid else None
    side = consultation.side_of(user_id) if consultation is not None else None
    if consultation is None or side is None:
        raise _not_found()
    return consultation, side
