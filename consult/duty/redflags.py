"""The red-flag checklist a patient answers before joining the on-duty queue: signs that
need an ambulance, not a chat. Any "yes" advises calling emergency services; the patient
may still continue to a doctor, and the choice is stored with the consultation
(encrypted). The emergency numbers come from ``EMERGENCY_NUMBERS``."""

from __future__ import annotations

import calendar
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from consult.errors import ConsultRefused
from core.crypto import encrypt

# The checklist in the order it is asked; ``infant_fever`` only for a child under 3 months.
SIGNS = ("chest_pain", "breathing", "stroke", "bleeding", "unconscious", "seizures",
         "infant_fever", "self_harm")
INFANT_ONLY = "infant_fever"
INFANT_MONTHS = 3
CONTINUE_ANYWAY = "continue_anyway"

LABELS = {
    "chest_pain": _l("Chest pain or pressure in the chest"),
    "breathing": _l("Trouble breathing"),
    "stroke": _l("Signs of a stroke: a drooping face, a weak arm or leg, slurred speech"),
    "bleeding": _l("Heavy bleeding that does not stop"),
    "unconscious": _l("Loss of consciousness or fainting"),
    "seizures": _l("Seizures (convulsions)"),
    "infant_fever": _l("A child under 3 months with a fever (38 °C or higher)"),
    "self_harm": _l("Thoughts of harming yourself or of ending your life"),
}


def emergency_numbers() -> list[str]:
    """The emergency numbers to call, from ``EMERGENCY_NUMBERS`` (comma-separated)."""
    raw = str(current_app.config.get("EMERGENCY_NUMBERS") or "")
    return [n.strip() for n in raw.split(",") if n.strip()]


def tel(number: str) -> str:
    """A ``tel:`` link for ``number`` (spaces and dashes dropped)."""
    return "tel:" + "".join(ch for ch in number if ch.isdigit() or ch == "+")


def is_infant(birth_date: date | None, on: date) -> bool:
    """True when the person born on ``birth_date`` is under 3 months old ``on`` that day."""
    if birth_date is None:
        return False
    month = birth_date.month - 1 + INFANT_MONTHS
    year, month = birth_date.year + month // 12, month % 12 + 1
    day = min(birth_date.day, calendar.monthrange(year, month)[1])
    return on < date(year, month, day)


def signs_for(birth_date: date | None, on: date) -> tuple[str, ...]:
    """The signs asked about a person born on ``birth_date``: the fever question only
    for a child under 3 months."""
    infant = is_infant(birth_date, on)
    return tuple(s for s in SIGNS if s != INFANT_ONLY or infant)


def check(value: Any, asked: tuple[str, ...]) -> dict[str, bool]:
    """The answers to the ``asked`` signs, each true or false. Refuses (422, errors keyed
    ``red_flags`` or ``red_flags.<sign>``) anything but an object, unknown signs,
    answers that are not booleans, and any asked sign left unanswered. A known sign that
    was not asked (the infant fever for an older person) is ignored."""
    if not isinstance(value, Mapping):
        msg = _("Answer each question of the checklist with yes or no.")
        raise ConsultRefused(msg, errors={"red_flags": [msg]})
    errors: dict[str, list[str]] = {}
    unknown = sorted(str(k) for k in value if k not in SIGNS)
    if unknown:
        errors["red_flags"] = [_("Unknown questions: %(names)s.", names=", ".join(unknown))]
    answers: dict[str, bool] = {}
    for sign in SIGNS:
        answer = value.get(sign)
        if answer is None:
            if sign in asked:
                errors[f"red_flags.{sign}"] = [_("Please answer yes or no.")]
        elif not isinstance(answer, bool):
            errors[f"red_flags.{sign}"] = [_("The answer must be yes (true) or no (false).")]
        elif sign in asked:
            answers[sign] = answer
    if errors:
        raise ConsultRefused(_("Please answer every question of the checklist."),
                             errors=errors)
    return answers


def yes_signs(answers: Mapping[str, bool]) -> list[str]:
    """The signs answered "yes", in checklist order."""
    return [s for s in SIGNS if answers.get(s)]


def yes_labels(consultation: Any) -> list[str]:
    """The signs a consultation's patient answered "yes", in words (empty without a flag)."""
    if not consultation.red_flag:
        return []
    answers = consultation.red_flags.get("answers", {})
    return [str(LABELS[s]) for s in yes_signs(answers) if s in LABELS]


def sealed(answers: Mapping[str, bool], continue_anyway: bool) -> str:
    """The answers and the choice as stored: encrypted JSON ``{"answers": {...},
    "choice": "continue_anyway" | None}`` (the choice only when a sign was "yes")."""
    choice = CONTINUE_ANYWAY if yes_signs(answers) and continue_anyway else None
    return encrypt(json.dumps({"answers": dict(answers), "choice": choice}))


def advice(signs: list[str]) -> str:
    """The one-sentence advice of a refusal: call the emergency numbers now."""
    return _("You answered yes to: %(signs)s. Call emergency services now: %(numbers)s. "
             "An online doctor cannot examine you or send help.",
             signs=", ".join(str(LABELS[s]) for s in signs),
             numbers=", ".join(emergency_numbers()))
