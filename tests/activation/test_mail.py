"""Mail through the outbox to a real SMTP server; Appendix 1 parsed back."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core import clock
from core.extensions import db
from core.outbox import OutboxMessage, deliver_due
from tests.fixtures.activation import activation_body


@pytest.fixture
def app_config(request):
    return {}


def _use_smtp(app, smtp):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_SUPPRESS_SEND=False)
    from core.extensions import mail

    mail.init_app(app)


def _parts(msg):
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    pdfs = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    return text, html, pdfs


def test_activation_mail_reaches_smtp_with_appendix_pdf_and_set_password_link(
        app, client, smtp, frozen_clock, make_policy):
    _use_smtp(app, smtp)
    policy = make_policy()
    r = client.post("/api/v1/activations", json=activation_body(
        policy, full_name="Сейткали Айгерім Нұрланқызы"), headers={"Accept-Language": "kk"})
    assert r.status_code == 201
    assert deliver_due(app) == 2
    assert len(smtp.messages) == 2
    activation_mail, password_mail = smtp.messages
    assert activation_mail["To"] == "ivanov@mail.kz"
    text, html, pdfs = _parts(activation_mail)
    assert policy.number in text and policy.number in html
    assert len(pdfs) == 1
    pdf = PdfReader(io.BytesIO(pdfs[0].get_content()))
    content = "\n".join(page.extract_text() for page in pdf.pages)
    assert policy.number in content
    assert "Сейткали Айгерім Нұрланқызы" in content  # Kazakh letters survive the font
    assert "2026" in content
    ptext, phtml, _ = _parts(password_mail)
    link = re.search(r"http://localhost/password/set/\S+", ptext).group(0)
    assert link in phtml
    sent = db.session.scalars(select(OutboxMessage)).all()
    assert {m.status for m in sent} == {"sent"}
    assert all(m.text_body == "" and m.context == {} for m in sent)  # no link left at rest


def test_set_password_link_from_the_mail_works_once(app, client, smtp, make_policy):
    _use_smtp(app, smtp)
    client.post("/api/v1/activations", json=activation_body(make_policy()))
    deliver_due(app)
    link = re.search(r"http://localhost(/password/set/\S+)",
                     _parts(smtp.messages[1])[0]).group(1)
    app.config["WTF_CSRF_ENABLED"] = False
    r = client.post(link, data={"password": "correct horse battery", "confirm":
                                "correct horse battery"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/account")
    assert client.get("/account").status_code == 200
    again = client.post(link, data={"password": "another fine phrase", "confirm":
                                    "another fine phrase"})
    assert again.status_code == 410


def test_smtp_down_keeps_the_message_and_retries_later(app, client, smtp, make_policy):
    from tests.fixtures.servers import free_port

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(),  # nobody listens
                      MAIL_SUPPRESS_SEND=False)
    from core.extensions import mail

    mail.init_app(app)
    r = client.post("/api/v1/activations", json=activation_body(make_policy()))
    assert r.status_code == 201  # the activation does not depend on SMTP
    assert deliver_due(app) == 0
    pending = db.session.scalars(select(OutboxMessage)).all()
    assert all(m.status == "pending" and m.attempts == 1 and m.last_error for m in pending)
    _use_smtp(app, smtp)
    assert deliver_due(app) == 0  # not due yet: backoff
    clock.shift(timedelta(minutes=1))
    assert deliver_due(app) == 2
    assert len(smtp.messages) == 2


def test_emails_are_in_the_language_of_the_activation(app, client, smtp, make_policy):
    _use_smtp(app, smtp)
    client.post("/api/v1/activations", json=activation_body(make_policy()),
                headers={"Accept-Language": "kk"})
    client.post("/api/v1/activations", json=activation_body(
        make_policy(), email="en@mail.kz", iin="760212350620"),
        headers={"Accept-Language": "en"})
    deliver_due(app)
    kk_subject = smtp.messages[0]["Subject"]
    en_subject = smtp.messages[2]["Subject"]
    assert "activated" in en_subject
    assert "activated" not in kk_subject


def test_outbox_status_and_run_commands(app, client, make_policy):
    client.post("/api/v1/activations", json=activation_body(make_policy()))
    result = app.test_cli_runner().invoke(args=["outbox", "status"])
    assert "pending" in result.output and "2" in result.output
    result = app.test_cli_runner().invoke(args=["outbox", "run"])
    assert result.exit_code != 0 and "MAIL_SERVER" in result.output
