"""Consultation forms: the patient's request and the doctor's conclusion. The rules
live in :mod:`consult.duty.requests` and :mod:`consult.duty.closing`; the forms carry
CSRF, labels and choices."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, TextAreaField

from consult.duty.redflags import LABELS, SIGNS

CHANNEL_LABELS = {"chat": _l("Chat"), "audio": _l("Audio call"), "video": _l("Video call")}
YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


def _yes_no(sign: str) -> RadioField:
    # Answered by the service (consult.duty.redflags.check): a missing answer is its error.
    return RadioField(LABELS[sign], choices=YES_NO, validate_choice=False)


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
    # Set by the emergency advice page's "Continue to a doctor anyway".
    continue_anyway = HiddenField()
    flag_chest_pain = _yes_no("chest_pain")
    flag_breathing = _yes_no("breathing")
    flag_stroke = _yes_no("stroke")
    flag_bleeding = _yes_no("bleeding")
    flag_unconscious = _yes_no("unconscious")
    flag_seizures = _yes_no("seizures")
    flag_infant_fever = _yes_no("infant_fever")
    flag_self_harm = _yes_no("self_harm")

    def flag_fields(self) -> list[Any]:
        """The checklist's fields, in the order asked."""
        return [self[f"flag_{sign}"] for sign in SIGNS]

    def red_flags(self) -> dict[str, bool | None]:
        """The answers as the service takes them: True, False, or None when unanswered."""
        return {sign: {"yes": True, "no": False}.get(self[f"flag_{sign}"].data or "")
                for sign in SIGNS}

    def wants_to_continue(self) -> bool:
        """True when the patient saw the emergency advice for every sign now answered
        "yes" and chose to continue (the advice page sends the signs it named); answering
        yes to another sign afterwards shows the advice again."""
        advised = {s for s in (self.continue_anyway.data or "").split(",") if s}
        yes = {sign for sign, answer in self.red_flags().items() if answer}
        return bool(advised) and yes <= advised


class ConclusionForm(FlaskForm):
    complaint = TextAreaField(_l("Complaint"))
    assessment = TextAreaField(_l("Assessment"))
    recommendations = TextAreaField(_l("Recommendations"))
    notes = TextAreaField(_l("Notes (optional)"))
