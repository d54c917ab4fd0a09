"""Why a consultation action is refused: an HTTP status and a message for the person.

Every refusal is a :class:`core.unit.Refusal`: under ``/api/`` it becomes the problem
document (titled "Consultation refused", with the members :meth:`problem_extra` adds),
on pages the view's refusal page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import default_exceptions

from core.problems import render_error_page
from core.unit import Refusal


class ConsultRefused(Refusal):
    """``status`` (HTTP), ``detail`` (translated) and optional field ``errors``."""

    def __init__(self, detail: str, status: int = 422,
                 errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail, status, errors)

    @property
    def title(self) -> str:
        return _("Consultation refused")


class SelfPayNeedsConfirmation(ConsultRefused):
    """The person is in the waiting period: the patient must agree to pay first."""

    def __init__(self, detail: str, price: int, currency: str, waiting_until: str) -> None:
        super().__init__(detail, 402, {"confirm_self_pay": [detail]})
        self.price = price
        self.currency = currency
        self.waiting_until = waiting_until

    def problem_extra(self) -> dict[str, Any]:
        return {"price": self.price, "currency": self.currency,
                "waiting_until": self.waiting_until}


class RedFlagsNeedChoice(ConsultRefused):
    """A red-flag sign was answered "yes": the patient is advised to call emergency
    services and must choose to continue to a doctor anyway. ``signs`` are the "yes"
    answers, ``numbers`` the emergency numbers."""

    def __init__(self, detail: str, signs: list[str], numbers: list[str]) -> None:
        super().__init__(detail, 422, {"continue_anyway": [detail]})
        self.signs = signs
        self.numbers = numbers

    def problem_extra(self) -> dict[str, Any]:
        return {"emergency_numbers": self.numbers, "red_flags": self.signs}


class OpenConsultationExists(ConsultRefused):
    """The person already has a consultation waiting or in progress: ``consultation_id``."""

    def __init__(self, detail: str, consultation_id: int) -> None:
        super().__init__(detail, 409)
        self.consultation_id = consultation_id

    def problem_extra(self) -> dict[str, Any]:
        return {"consultation": self.consultation_id,
                "consultation_url": url_for("consult_api.get_consultation",
                                            consultation_id=self.consultation_id)}


def status_page(status: int) -> ResponseReturnValue:
    """The HTTP error page of ``status``, as ``abort(status)`` would show it: for
    refusal pages, which may not abort."""
    return render_error_page(default_exceptions[status]())


def error_page(exc: Refusal, **_view_args: Any) -> ResponseReturnValue:
    """A refusal page for :func:`core.unit.on_refusal`: the HTTP error page of the
    refusal's status."""
    return status_page(exc.status)


def said_on(endpoint: str, *keep: str) -> Callable[..., ResponseReturnValue]:
    """A refusal page for :func:`core.unit.on_refusal`: the refusal's message flashed
    on ``endpoint`` (built with the view's arguments named in ``keep``); a 404 stays
    "not found"."""

    def page(exc: Refusal, **view_args: Any) -> ResponseReturnValue:
        if exc.status == 404:
            return error_page(exc)
        flash(exc.detail, "error")
        return redirect(url_for(endpoint, **{name: view_args[name] for name in keep}))

    return page
