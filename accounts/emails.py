"""Email addresses: what a person may type as their login, and how one is shown to
someone who should only recognise it."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from core.rules import RuleError


def parse_email(raw: object) -> str:
    """A deliverable-looking email address, lower-cased (logins are case-insensitive)."""
    if not isinstance(raw, str) or not raw.strip():
        raise RuleError(_("Enter an email address."))
    value = raw.strip()
    if len(value) > 254 or any(ch in value for ch in "\r\n\0"):
        raise RuleError(_("Enter a valid email address."))
    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=False,
                                allow_display_name=False, allow_quoted_local=False)
    except EmailNotValidError:
        raise RuleError(_("Enter a valid email address.")) from None
    normalised = result.normalized.lower()
    if len(normalised) > 254:
        raise RuleError(_("Enter a valid email address."))
    return normalised


def mask_email(email: str) -> str:
    """``a***@mail.kz``: enough to recognise one's own address, not to learn someone's."""
    local, _sep, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
