"""Set-password mail is limited per account (3 an hour, whoever asks and from
wherever), the account keeps few link rows, only the newest link works, and the person
asking is told the same thing whether a mail went or not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts import services
from accounts.models import PasswordLink, User
from core import clock
from core.extensions import db
from core.outbox import OutboxMessage
from tests.fixtures.accounts import PASSWORD

ASKED = "If an account uses this email, we have sent it a link to set a password."


@pytest.fixture(autouse=True)
def _no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def _ask(client, email: str, n: int):
    """Ask for a link from address number ``n``; returns the answer and what it said."""
    r = client.post("/password/link", data={"email": email},
                    environ_base={"REMOTE_ADDR": f"10.7.{n // 200}.{n % 200 + 1}"},
                    headers={"Accept-Language": "en"})
    said = client.get(r.headers["Location"], headers={"Accept-Language": "en"})
    return r, said.get_data(as_text=True)


def _mails() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.template == "set_password")) or 0


def _links(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(PasswordLink)
                             .where(PasswordLink.user_id == user_id)) or 0


def _variants(email: str) -> list[str]:
    local, domain = email.split("@")
    return [email, email.upper(), f"  {local.capitalize()}@{domain.upper()} ",
            f"{local}@{domain.capitalize()}"]


def test_25_requests_for_one_account_send_3_mails_and_keep_3_links(client, frozen_clock,
                                                                   make_user):
    user = make_user("patient", email="p@mail.kz")
    unknown, unknown_said = _ask(client, "nobody@mail.kz", 999)
    answers = []
    for n in range(25):
        r, said = _ask(client, _variants(user.email)[n % 4], n)
        answers.append((r.status_code, r.headers["Location"], ASKED in said))
        clock.shift(timedelta(seconds=60))  # 25 minutes in all: one hour's window
    assert set(answers) == {(unknown.status_code, unknown.headers["Location"], True)}
    assert ASKED in unknown_said
    assert _mails() == 3
    assert _links(user.id) <= 3


def test_only_the_newest_link_works_and_old_rows_go(client, frozen_clock, make_user):
    user = make_user("patient", email="p@mail.kz")
    urls = []
    for hour in range(5):
        for _ in range(4):
            services.send_password_link(user)
        db.session.commit()
        urls.append([m.context["url"] for m in db.session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))][-1])
        assert _mails() == 3 * (hour + 1)
        assert _links(user.id) <= 3
        clock.shift(timedelta(hours=1, seconds=1))
    paths = [url.replace("http://localhost", "") for url in urls]
    assert [client.get(path).status_code for path in paths] == [410] * 4 + [200]
    r = client.post(paths[-1], data={"password": "a brand new phrase",
                                     "confirm": "a brand new phrase"})
    assert r.status_code == 302


def test_the_limit_is_configurable_and_counts_every_set_password_mail(app, frozen_clock,
                                                                      make_user):
    app.config["RESET_MAIL_PER_ACCOUNT_HOUR"] = 1
    user = make_user("patient")
    assert services.send_password_link(user) is True
    assert services.send_password_link(user) is False
    clock.shift(timedelta(minutes=61))
    assert services.send_password_link(user) is True
    db.session.commit()
    assert _mails() == 2 and _links(user.id) == 1


def test_signing_in_still_works_while_the_mail_allowance_is_spent(client, make_user):
    user = make_user("patient", email="p@mail.kz")
    for n in range(5):
        _ask(client, user.email, n)
    r = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 302
    assert db.session.get_one(User, user.id) is not None
