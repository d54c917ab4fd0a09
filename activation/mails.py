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


def render_activation(ref: dict[str, Any]) -> outbox.RenderedMail:
    ctx = _context(ref)
    return outbox.RenderedMail(
        _("Policy %(number)s is activated", number=ctx["a"].policy.number),
        render_template("email/activation.txt", **ctx),
        render_template("email/activation.html", **ctx),
    )


def render_policy_added(ref: dict[str, Any]) -> outbox.RenderedMail:
    ctx = _context(ref)
    return outbox.RenderedMail(
        _("Policy %(number)s added to your account", number=ctx["a"].policy.number),
        render_template("email/policy_added.txt", **ctx),
        render_template("email/policy_added.html", **ctx),
    )


def register() -> None:
    outbox.register_template("activation", render_activation)
    outbox.register_template("policy_added", render_policy_added)
