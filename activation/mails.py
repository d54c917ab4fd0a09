"""The activation emails, rendered by the outbox at delivery (outside the request)."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask_babel import gettext as _

from accounts.models import User
from activation.models import Activation
from core import outbox
from core.extensions import db


def queue(activation: Activation, user: User, created: bool) -> None:
    """Queue the activation email (Appendix 1 attached) and, for an existing account,
    the "policy added" notice. Flushes nothing."""
    ref = {"activation_id": activation.id}
    outbox.enqueue(user.email, "activation", ref, user.language,
                   attachments=[{"kind": "appendix1", "ref": str(activation.id)}])
    if not created:
        outbox.enqueue(user.email, "policy_added", ref, user.language)


def _context(ref: dict[str, Any]) -> dict[str, Any]:
    activation = db.session.get(Activation, ref["activation_id"])
    if activation is None:
        raise LookupError(f"activation {ref['activation_id']} not found")
    return {"a": activation, "user": activation.account,
            "price": current_app.config["SELF_PAY_PRICE_KZT"]}


def _mail(subject: str, template: str, ctx: dict[str, Any]) -> outbox.RenderedMail:
    """The message with its text and HTML parts from ``email/<template>.txt|.html``."""
    return outbox.RenderedMail(subject, render_template(f"email/{template}.txt", **ctx),
                               render_template(f"email/{template}.html", **ctx))


def render_activation(ref: dict[str, Any]) -> outbox.RenderedMail:
    ctx = _context(ref)
    return _mail(_("Policy %(number)s is activated", number=ctx["a"].policy.number),
                 "activation", ctx)


def render_policy_added(ref: dict[str, Any]) -> outbox.RenderedMail:
    ctx = _context(ref)
    return _mail(_("Policy %(number)s added to your account", number=ctx["a"].policy.number),
                 "policy_added", ctx)


def register() -> None:
    outbox.register_template("activation", render_activation)
    outbox.register_template("policy_added", render_policy_added)
