"""The mail outbox: messages are written in the request's transaction and delivered
later, with retries, by :func:`deliver_due` (a thread of ``flask serve``, or
``flask outbox run``).

SMTP being down never fails the request that wrote the message and never loses it.
The request stores only a *template* name and a small JSON context; the subject, the
text and HTML parts and the attachments (PDFs) are rendered at delivery, outside the
request, in the recipient's language, by renderers the domains register.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask_babel import force_locale
from flask_mail import Message
from sqlalchemy import JSON, Integer, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.db import UTCDateTime, rowcount
from core.extensions import Model, db, mail
from core.unit import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None


AttachmentRenderer = Callable[[str, str], RenderedAttachment]
MailRenderer = Callable[[dict[str, Any]], RenderedMail]
_renderers: dict[str, AttachmentRenderer] = {}
_templates: dict[str, MailRenderer] = {}


def register_template(name: str, renderer: MailRenderer) -> None:
    """Let a domain render messages of template ``name``: ``renderer(context)``, called
    inside ``force_locale`` of the message's language."""
    _templates[name] = renderer


def register_attachment(kind: str, renderer: AttachmentRenderer) -> None:
    """Let a domain build attachments of ``kind``: ``renderer(ref, locale)``."""
    _renderers[kind] = renderer


def render_attachment(kind: str, ref: str, locale: str) -> RenderedAttachment:
    """Build one attachment; raises ``KeyError`` for an unknown kind."""
    return _renderers[kind](ref, locale)


class OutboxMessage(Model):
    """One email waiting for, or past, delivery."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(64))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Filled in when the message is first rendered (at delivery, or in the dev mailbox).
    subject: Mapped[str | None] = mapped_column(String(300))
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    locale: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def enqueue(
    to: str,
    template: str,
    context: dict[str, Any],
    locale: str,
    attachments: list[dict[str, str]] | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the current transaction (never commits).

    ``template`` names a registered renderer and ``context`` its JSON-able input;
    ``attachments`` is a list of ``{"kind", "ref"}``; all are rendered at delivery.
    """
    if template not in _templates:
        raise KeyError(f"no mail template {template!r} is registered")
    now = clock.now()
    msg = OutboxMessage(
        to_addr=to, template=template, context=context, locale=locale,
        attachments=attachments or [], created_at=now, next_attempt_at=now,
        status="pending", attempts=0,
    )
    db.session.add(msg)
    wake_sender()
    return msg


def materialise(msg: OutboxMessage) -> OutboxMessage:
    """Render ``msg`` once (subject, text, HTML) in its language; flushes nothing."""
    if msg.subject is None:
        with force_locale(msg.locale):
            rendered = _templates[msg.template](msg.context or {})
        msg.subject, msg.text_body, msg.html_body = (
            rendered.subject, rendered.text, rendered.html)
    return msg


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2 ** min(attempts, 12)))


def _claim(msg_id: int, now: datetime) -> bool:
    """Take a message for delivery; False if another sender holds it."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == msg_id, OutboxMessage.status == "pending")
        .where(or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
        .values(claimed_until=now + timedelta(minutes=5))
    )
    db.session.commit()
    return rowcount(result) == 1


def build_message(msg: OutboxMessage) -> Message:
    """The Flask-Mail message for ``msg``, attachments rendered now."""
    materialise(msg)
    assert msg.subject is not None  # materialise filled it in
    message = Message(
        subject=msg.subject, recipients=[msg.to_addr], body=msg.text_body, html=msg.html_body
    )
    for spec in msg.attachments or []:
        att = render_attachment(spec["kind"], spec["ref"], msg.locale)
        message.attach(att.filename, att.content_type, att.data)
    return message


def deliver_due(app: Flask, limit: int = 50) -> int:
    """Send messages that are due over SMTP; returns how many were sent.

    Does nothing without ``MAIL_SERVER`` (demo mode keeps mail in the dev mailbox).
    Failures are retried with exponential backoff up to ``OUTBOX_MAX_ATTEMPTS``.
    """
    if not app.config.get("MAIL_SERVER"):
        return 0
    sent = 0
    now = clock.now()
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()
    for msg_id in ids:
        if not _claim(msg_id, now):
            continue
        msg = db.session.get(OutboxMessage, msg_id)
        assert msg is not None
        try:
            mail.send(build_message(msg))
        except Exception as exc:  # any SMTP, network or rendering failure is retried
            msg.attempts += 1
            msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            msg.claimed_until = None
            if msg.attempts >= app.config["OUTBOX_MAX_ATTEMPTS"]:
                msg.status = "failed"
                log.error("outbox message %s failed for good: %s", msg.id, msg.last_error)
            else:
                msg.next_attempt_at = clock.now() + _backoff(msg.attempts)
                log.warning("outbox message %s attempt %s failed: %s",
                            msg.id, msg.attempts, msg.last_error)
            db.session.commit()
            continue
        msg.status = "sent"
        msg.sent_at = clock.now()
        msg.attempts += 1
        msg.claimed_until = None
        # Bodies may hold single-use links; once delivered they need not stay here.
        msg.text_body = ""
        msg.html_body = None
        msg.context = {}
        db.session.commit()
        sent += 1
    return sent


_wake = threading.Event()


def wake_sender() -> None:
    """Ask the sender thread to look at the outbox now rather than at its next poll."""
    _wake.set()


class OutboxSender(threading.Thread):
    """Background thread that delivers the outbox until :meth:`stop` is called."""

    def __init__(self, app: Flask):
        super().__init__(name="outbox-sender", daemon=True)
        self.app = app
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()
        _wake.set()

    def run(self) -> None:
        poll: float = self.app.config["OUTBOX_POLL_SECONDS"]
        while not self._stopped.is_set():
            _wake.wait(poll)
            _wake.clear()
            try:
                with self.app.app_context(), transaction():
                    deliver_due(self.app)
            except Exception:
                log.exception("outbox sender loop failed; retrying")
