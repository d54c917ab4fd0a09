"""Consultation forms: the patient's request and the doctor's conclusion. The rules
live in :mod:`consult.services`; the forms carry CSRF, labels and choices."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, TextAreaField

CHANNEL_LABELS = {"chat": _l("Chat"), "audio": _l("Audio call"), "video": _l("Video call")}


class RequestForm(FlaskForm):
    insured_id = RadioField(_l("Who needs the doctor?"), choices=[], validate_choice=False)
    complaint = TextAreaField(_l("What is bothering you?"),
                              description=_l("Symptoms, since when, temperature, medicines "
                                             "taken. The doctor reads this first."))
    channel = RadioField(_l("How would you like to talk?"),
                         choices=list(CHANNEL_LABELS.items()), default="chat",
                         validate_choice=False,
                         description=_l("The consultation starts in the chat; the doctor "
                                        "can call you from it."))
    confirm_self_pay = BooleanField(_l("I agree to pay for this consultation"))


class ConclusionForm(FlaskForm):
    complaint = TextAreaField(_l("Complaint"))
    assessment = TextAreaField(_l("Assessment"))
    recommendations = TextAreaField(_l("Recommendations"))
    notes = TextAreaField(_l("Notes (optional)"))
