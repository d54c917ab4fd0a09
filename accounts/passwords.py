"""Password rules and hashing (scrypt through Werkzeug, a slow KDF)."""

from __future__ import annotations

from functools import lru_cache

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from core.unit import Refusal

MIN_LENGTH = 8
MAX_LENGTH = 128  # long passphrases welcome; bounded so hashing cost stays bounded
METHOD = "scrypt:32768:8:1"


class PasswordRuleError(Refusal):
    """The password is refused; ``detail`` (and ``str(exc)``) says why, in the current
    language."""


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_rules(password: str, email: str | None = None) -> None:
    """Refuse short, overlong, common or email-derived passwords."""
    if len(password) < MIN_LENGTH:
        raise PasswordRuleError(_("Use at least 8 characters."))
    if len(password) > MAX_LENGTH:
        raise PasswordRuleError(_("Use at most 128 characters."))
    lowered = password.lower()
    if lowered in _common() or len(set(lowered)) < 3:
        raise PasswordRuleError(_("This password is too common. Choose another one."))
    if email and lowered in {email.lower(), email.lower().partition("@")[0]}:
        raise PasswordRuleError(_("The password may not be your email address."))


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=METHOD)


_DUMMY: list[str] = []


def verify(stored: str | None, password: str) -> bool:
    """Check ``password``; with no stored hash, do the same work and return False."""
    if stored is None:
        if not _DUMMY:
            _DUMMY.append(hash_password("dummy password for timing"))
        check_password_hash(_DUMMY[0], password)
        return False
    return check_password_hash(stored, password)
