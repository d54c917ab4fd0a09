"""Why an activation is refused; each carries its HTTP status and a message.

They are :class:`core.unit.Refusal`s: the API answers them with a problem document, the
activation page with the form again (see :mod:`activation.routes`).
"""

from __future__ import annotations

from flask_babel import gettext as _

from core.unit import Refusal


class ActivationRefused(Refusal):
    """Base: ``status`` (HTTP), ``title``, ``detail`` and optional field ``errors``."""

    status = 422

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None):
        super().__init__(detail, errors=errors)

    @property
    def title(self) -> str:
        return _("Activation refused")


class InvalidFields(ActivationRefused):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(_("Some fields need correcting."), errors)


class WrongCredentials(ActivationRefused):
    """Unknown number or wrong code: one answer for both. The policy's failure counter
    written before it is raised is committed (it is what locks out guessing)."""

    keeps_changes = True

    def __init__(self) -> None:
        msg = _("The policy number or activation code is incorrect.")
        super().__init__(msg, {"activation_code": [msg]})


class Locked(ActivationRefused):
    """Too many wrong codes: ``retry_after`` seconds become the Retry-After header."""

    status = 429

    def __init__(self, retry_after: int):
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(_("Too many wrong codes for this policy. Try again in %(minutes)s "
                           "min.", minutes=minutes))
        self.retry_after = retry_after


class AlreadyActivated(ActivationRefused):
    status = 409

    def __init__(self) -> None:
        super().__init__(_("This policy has already been activated. Sign in to your account "
                           "to see it."))


class DeadlinePassed(ActivationRefused):
    def __init__(self, deadline: str) -> None:
        super().__init__(_("The activation deadline for this policy (%(date)s) has passed. "
                           "Please contact the insurer.", date=deadline))


class FieldRefused(ActivationRefused):
    """A rule about one field that can only be checked once the code is proven."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(message, {field: [message]})
        self.status = status


class Conflict(ActivationRefused):
    status = 409
