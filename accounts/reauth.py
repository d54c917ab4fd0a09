"""Proving it is still you: the password, and a code when the second factor is on.

A session alone is not enough to turn the second factor off, change the login email or
change the password: whoever holds a forgotten signed-in browser would otherwise take
the account. A wrong password or code is audited like a failed sign-in (its entry is
kept, the action is not done); the pages count such failures per account
(:data:`accounts.throttle.per_signed_in_account`).
"""

from __future__ import annotations

from flask_babel import gettext as _

from accounts import audit, passwords, totp
from accounts.models import User
from core.unit import Refusal

TOTP_DISABLE = "totp_disable"
EMAIL_CHANGE = "email_change"
PASSWORD_CHANGE = "password_change"  # noqa: S105  (a purpose, not a password)


class Unproven(Refusal):
    """The password or the code is missing or wrong: the message is about ``field``
    ("password" or "code"); ``counted`` when it was a wrong guess (audited, throttled),
    not a missing code. The failure's audit entry is committed, nothing else."""

    keeps_changes = True

    def __init__(self, message: str, field: str, counted: bool = True) -> None:
        super().__init__(message)
        self.field = field
        self.counted = counted


def _failed(user: User, purpose: str, step: str) -> None:
    audit.append("auth.sign_in_failed", actor=user, subject=f"user:{user.id}",
                 details={"step": step, "for": purpose})


def confirm(user: User, password: str | None, code: str | None, purpose: str) -> None:
    """Check that ``password`` is ``user``'s and, when the second factor is on, that
    ``code`` is a current authenticator code (once) or an unused recovery code (spent);
    raises :class:`Unproven`. ``purpose`` is one of the constants above (for the audit
    entry). Flushes; the caller's unit of work undoes a spent code if the action is
    refused later."""
    if not passwords.verify(user.password_hash, password or ""):
        _failed(user, purpose, "password")
        raise Unproven(_("The current password is wrong.") if purpose == PASSWORD_CHANGE
                       else _("The password is wrong."), "password")
    if not user.totp_enabled:
        return
    code = (code or "").strip()
    if not code:
        raise Unproven(_("Enter the code."), "code", counted=False)
    if totp.accept_code(user, code):
        return
    if totp.use_recovery_code(user, code):
        audit.append("auth.recovery_code_used", actor=user, subject=f"user:{user.id}")
        return
    _failed(user, purpose, "second_factor")
    raise Unproven(_("This code is not valid. Codes change every 30 seconds and work once."),
                   "code")
