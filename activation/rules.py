"""Rules for what a person types at activation: IIN and full name (the email
address is an account's rule: :mod:`accounts.emails`).

Each ``parse_*`` function returns the normalised value or raises :class:`RuleError`
with a message in the current language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _

from core.rules import RuleError


@dataclass(frozen=True)
class Iin:
    """A valid IIN and what it encodes."""

    value: str
    birth_date: date
    sex: str  # "male" | "female"


_W1 = tuple(range(1, 12))
_W2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
_CENTURY = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}


def iin_check_digit(first11: str) -> int | None:
    """The check digit for 11 digits, or None when the number can never be issued."""
    digits = [int(c) for c in first11]
    total = sum(d * w for d, w in zip(digits, _W1, strict=True)) % 11
    if total == 10:
        total = sum(d * w for d, w in zip(digits, _W2, strict=True)) % 11
        if total == 10:
            return None
    return total


def parse_iin(raw: object, today: date) -> Iin:
    """Validate an IIN: 12 ASCII digits, a real past birth date, century 1-6, check digit."""
    if not isinstance(raw, str) or not raw.strip():
        raise RuleError(_("Enter the IIN."))
    value = raw.strip()
    if not re.fullmatch(r"[0-9]{12}", value, flags=re.ASCII):
        raise RuleError(_("The IIN is exactly 12 digits."))
    century = _CENTURY.get(value[6])
    if century is None:
        raise RuleError(_("This is not a valid IIN: check the 7th digit."))
    try:
        born = date(century + int(value[0:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        raise RuleError(_("This is not a valid IIN: the first six digits are not a date."))\
            from None
    if born > today:
        raise RuleError(_("This is not a valid IIN: the birth date is in the future."))
    if iin_check_digit(value[:11]) != int(value[11]):
        raise RuleError(_("This is not a valid IIN: check the digits."))
    sex = "male" if int(value[6]) % 2 == 1 else "female"
    return Iin(value=value, birth_date=born, sex=sex)


_LETTER = (
    "A-Za-z"
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u017f"  # Latin-1 and Latin Extended-A letters
    "\u0410-\u044f\u0401\u0451"  # Russian Cyrillic
    "\u04d8\u04d9\u0492\u0493\u049a\u049b\u04a2\u04a3\u04e8\u04e9"  # Ә ә Ғ ғ Қ қ Ң ң Ө ө
    "\u04b0\u04b1\u04ae\u04af\u04ba\u04bb\u0406\u0456"  # Ұ ұ Ү ү Һ һ І і
)
_APOSTROPHES = "'\u2019\u02bc"
_WORD = re.compile(f"[{_LETTER}]+(?:[-{_APOSTROPHES}][{_LETTER}]+)*")
_MAX_NAME = 150


def parse_full_name(raw: object) -> str:
    """Normalise a full name (NFC, trimmed, single spaces) or refuse it."""
    if not isinstance(raw, str) or not raw.strip():
        raise RuleError(_("Enter the insured person's full name."))
    text = unicodedata.normalize("NFC", raw)
    if "<" in text or ">" in text or "&" in text:
        raise RuleError(_("The name may not contain markup."))
    for ch in text:
        cat = unicodedata.category(ch)
        if ch == "\t" or cat == "Zs":
            continue  # ordinary and no-break spaces collapse below
        if cat[0] == "C" or cat in {"Zl", "Zp"}:
            raise RuleError(_("The name contains invisible or control characters."))
    name = " ".join(text.split())
    if len(name) > _MAX_NAME:
        raise RuleError(_("The name may be at most 150 characters."))
    words = name.split(" ")
    if any(not _WORD.fullmatch(w) for w in words):
        raise RuleError(
            _("Use letters (Russian, Kazakh or Latin), spaces, hyphens and apostrophes only.")
        )
    if len(words) < 2:
        raise RuleError(_("Enter at least the surname and the given name."))
    return name
