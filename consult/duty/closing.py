"""The doctor closes a consultation with a conclusion; the chat becomes read-only and
what the other features tie to it ends too (:func:`consult.hooks.closing`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import update

from accounts.models import User
from consult import hooks
from consult.access import doctors_consultation
from consult.errors import ConsultRefused
from consult.models import Consultation
from consult.text import clean_fields
from core import clock
from core.crypto import encrypt
from core.db import rowcount
from core.extensions import db

CONCLUSION_MAX = 4000


@dataclass(frozen=True)
class Conclusion:
    complaint: Any
    assessment: Any
    recommendations: Any
    notes: Any = ""


def close(doctor: User, consultation_id: int, conclusion: Conclusion) -> Consultation:
    """Close the doctor's consultation with a conclusion; the chat becomes read-only,
    and every feature ends what it ties to the consultation (its appointment, its
    call and recordings). Flushes; refused (404 not theirs, 409 already closed, 422
    with field errors)."""
    consultation = doctors_consultation(doctor, consultation_id)
    parts = clean_fields({"complaint": conclusion.complaint,
                          "assessment": conclusion.assessment,
                          "recommendations": conclusion.recommendations,
                          "notes": conclusion.notes}, CONCLUSION_MAX, optional=("notes",))
    done = rowcount(db.session.execute(
        update(Consultation).where(Consultation.id == consultation.id,
                                   Consultation.status == "active",
                                   Consultation.doctor_id == doctor.id)
        .values(status="closed", closed_at=clock.now(),
                conclusion_complaint=encrypt(parts["complaint"]),
                conclusion_assessment=encrypt(parts["assessment"]),
                conclusion_recommendations=encrypt(parts["recommendations"]),
                conclusion_notes=encrypt(parts["notes"]) if parts["notes"] else None)
        .execution_options(synchronize_session=False)
    ))
    if not done:
        raise ConsultRefused(_("This consultation is already closed."), 409)
    db.session.refresh(consultation)
    hooks.closing(consultation)
    return consultation
