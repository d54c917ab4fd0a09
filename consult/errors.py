"""Why a consultation action is refused: an HTTP status and a message for the person."""

from __future__ import annotations


class ConsultRefused(Exception):
    """``status`` (HTTP), ``detail`` (translated) and optional field ``errors``."""

    def __init__(self, detail: str, status: int = 422,
                 errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.errors = errors or {}


class SelfPayNeedsConfirmation(ConsultRefused):
    """The person is in the waiting period: the patient must agree to pay first."""

    def __init__(self, detail: str, price: int, currency: str, waiting_until: str) -> None:
        super().__init__(detail, 402, {"confirm_self_pay": [detail]})
        self.price = price
        self.currency = currency
        self.waiting_until = waiting_until


class RedFlagsNeedChoice(ConsultRefused):
    """A red-flag sign was answered "yes": the patient is advised to call emergency
    services and must choose to continue to a doctor anyway. ``signs`` are the "yes"
    answers, ``numbers`` the emergency numbers."""

    def __init__(self, detail: str, signs: list[str], numbers: list[str]) -> None:
        super().__init__(detail, 422, {"continue_anyway": [detail]})
        self.signs = signs
        self.numbers = numbers


class OpenConsultationExists(ConsultRefused):
    """The person already has a consultation waiting or in progress: ``consultation_id``."""

    def __init__(self, detail: str, consultation_id: int) -> None:
        super().__init__(detail, 409)
        self.consultation_id = consultation_id
