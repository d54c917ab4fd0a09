"""Who a doctor is, as patients see it: "Dr Full Name, specialty", never an email.

Every page, payload and mail that names a doctor to a patient goes through
:func:`doctor_label` (a Jinja global too), so a staff email cannot leak by a fallback.
"""

from __future__ import annotations

from flask import g, has_request_context
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.models import User
from consult.models import Specialty
from core.extensions import db

# The languages a doctor may speak: the service's own (codes of core.i18n.LANGUAGES).
LANGUAGE_CODES = ("ru", "kk", "en")
LANGUAGE_LABELS = {"ru": _l("Russian"), "kk": _l("Kazakh"), "en": _l("English")}


def _locale(locale: str | None) -> str:
    return locale or str(get_locale() or "ru")


def specialty_name(code: str | None, locale: str | None = None) -> str | None:
    """The specialty's name in ``locale`` (the current one by default); None when the
    code is empty or unknown (then nothing about a specialty is shown)."""
    if not code:
        return None
    cache: dict[str, Specialty | None] = (g.setdefault("specialties_by_code", {})
                                          if has_request_context() else {})
    if code not in cache:
        cache[code] = db.session.scalar(select(Specialty).where(Specialty.code == code))
    specialty = cache[code]
    return specialty.name(_locale(locale)) if specialty is not None else None


def specialties(locale: str) -> list[tuple[str, str, bool]]:
    """Every specialty as ``(code, name in locale, active)``, by code: the staff pages'
    picker and check (registered for accounts as ``app.extensions["specialties"]``)."""
    return [(s.code, s.name(locale), s.active)
            for s in db.session.scalars(select(Specialty).order_by(Specialty.code))]


def doctor_role(user: User, locale: str | None = None) -> str:
    """What the doctor does, in words: their specialty, else "pediatrician" or
    "on-duty doctor"; empty for staff who are not doctors."""
    if user.role != "doctor":
        return ""
    name = specialty_name(user.specialty, locale)
    if name:
        return name
    if user.pediatric:
        return _("pediatrician")
    return _("on-duty doctor")


def doctor_label(user: User | None, locale: str | None = None) -> str:
    """"Dr Full Name, specialty" in the current language, or in ``locale`` when given
    (a payload or mail written for a reader other than the request's); never the email.

    A doctor without a name yet is "Your doctor, <role>"; None gives an empty string.
    """
    if user is None:
        return ""
    if locale is not None:
        with force_locale(locale):
            return _label(user, locale)
    return _label(user, None)


def _label(user: User, locale: str | None) -> str:
    role = doctor_role(user, locale)
    name = " ".join((user.full_name or "").split())
    if name:
        if role:
            return _("Dr %(name)s, %(specialty)s", name=name, specialty=role)
        return _("Dr %(name)s", name=name)
    return _("Your doctor, %(specialty)s", specialty=role) if role else _("Your doctor")


def languages_of(user: User) -> list[str]:
    """The codes of the languages the doctor speaks, in the service's order."""
    spoken = {code.strip() for code in (user.languages or "").split(",")}
    return [code for code in LANGUAGE_CODES if code in spoken]


def language_names(codes: list[str]) -> str:
    """"Russian, Kazakh": the languages' names in the reader's language."""
    return ", ".join(str(LANGUAGE_LABELS[c]) for c in codes if c in LANGUAGE_LABELS)
