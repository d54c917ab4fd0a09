"""The unit of work of one activation attempt, shared by the page and the API."""

from __future__ import annotations

from flask import g, request

from activation import services
from activation.errors import ActivationRefused, WrongCredentials
from core.extensions import db


def attempt(req: services.ActivationRequest) -> services.ActivationResult:
    """Run :func:`services.activate` and commit once.

    A refusal leaves the database as it was, except a wrong code, whose failure
    counter is committed before the refusal is re-raised.
    """
    try:
        result = services.activate(req, client_ip=request.remote_addr, locale=g.locale)
    except ActivationRefused as exc:
        if isinstance(exc, WrongCredentials):
            db.session.commit()
        else:
            db.session.rollback()
        raise
    db.session.commit()
    return result


def retry_headers(exc: ActivationRefused) -> dict[str, str]:
    retry = getattr(exc, "retry_after", None)
    return {"Retry-After": str(retry)} if retry else {}
