"""Turning the second factor off, changing the login email and changing the password
need the password again and, when the second factor is on, a current code: a session
alone is not enough. A refusal changes nothing but the failure's audit entry, and wrong
guesses are limited per account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from accounts import totp
from accounts.audit import AuditEntry
from accounts.models import RecoveryCode, User, UserSession
from core import clock
from core.extensions import db
from core.outbox import OutboxMessage
from tests.fixtures.accounts import PASSWORD, code_for, sign_in

NEW_PASSWORD = "a new long phrase"  # noqa: S105  (a test password)

# action: (url, form prefix, password field, extra fields, purpose in the audit entry)
ACTIONS = {
    "totp_disable": ("/account/security/totp/disable", "off", "password", {}, "totp_disable"),
    "email": ("/account/email", "em", "password", {"email": "new@mail.kz"}, "email_change"),
    "password": ("/account/password", "pw", "current",
                 {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "password_change"),
}


@pytest.fixture(autouse=True)
def _no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def _post(client: Any, action: str, password: str | None, code: str | None) -> Any:
    url, prefix, password_field, extra, _purpose = ACTIONS[action]
    data = {f"{prefix}-{name}": value for name, value in extra.items()}
    if password is not None:
        data[f"{prefix}-{password_field}"] = password
    if code is not None:
        data[f"{prefix}-code"] = code
    return client.post(url, data=data)


def _state(user_id: int) -> tuple[Any, ...]:
    """What any of the three actions would change."""
    db.session.expire_all()
    user = db.session.get_one(User, user_id)
    return (user.email, user.password_hash, user.totp_enabled, user.totp_secret,
            user.totp_last_step, password_changed(user_id),
            db.session.scalar(select(func.count()).select_from(RecoveryCode)
                              .where(RecoveryCode.used_at.is_(None))),
            db.session.scalar(select(func.count()).select_from(OutboxMessage)),
            db.session.scalar(select(func.count()).select_from(UserSession)
                              .where(UserSession.ended_at.is_(None))))


def password_changed(user_id: int) -> Any:
    return db.session.get_one(User, user_id).password_changed_at


def _failures() -> list[dict[str, Any]]:
    return [entry.details for entry in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "auth.sign_in_failed")
        .order_by(AuditEntry.id))]


def _enrolled_patient(client: Any, make_user: Any) -> User:
    user = make_user("patient", email="p@mail.kz", totp=True)
    totp.new_recovery_codes(user)
    db.session.commit()
    assert sign_in(client, user).status_code == 302
    clock.shift(timedelta(seconds=30))  # the sign-in's code is spent
    return user


@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_action_is_refused_without_both_proofs_and_done_with_them(client, frozen_clock,
                                                                       make_user, action):
    user = _enrolled_patient(client, make_user)
    before = _state(user.id)
    prefix, password_field = ACTIONS[action][1], ACTIONS[action][2]
    refusals = [
        (None, code_for(user), f"{prefix}-{password_field}", "Enter your"),
        ("wrong guess", code_for(user), f"{prefix}-{password_field}", "password is wrong"),
        (PASSWORD, None, f"{prefix}-code", "Enter the code."),
        (PASSWORD, code_for(user, -5), f"{prefix}-code", "This code is not valid."),
        (PASSWORD, "abcd-efgh-ijkl-mnop", f"{prefix}-code", "This code is not valid."),
    ]
    for password, code, field, words in refusals:
        r = _post(client, action, password, code)
        assert r.status_code == 422, (password, code)
        page = r.get_data(as_text=True)
        error = page.split(f'id="{field}-error">')[1].split("</p>")[0]
        assert words in error, (password, code, error)
        assert _state(user.id) == before, (password, code)
    purpose = ACTIONS[action][4]
    assert _failures() == [{"step": "password", "for": purpose},
                           {"step": "second_factor", "for": purpose},
                           {"step": "second_factor", "for": purpose}]

    r = _post(client, action, PASSWORD, code_for(user))
    assert r.status_code == 302
    db.session.expire_all()
    user = db.session.get_one(User, user.id)
    if action == "totp_disable":
        assert not user.totp_enabled and user.totp_secret is None
    elif action == "email":
        assert user.email == "new@mail.kz"
    else:
        assert user.password_changed_at is not None and before[5] is None


def test_the_code_of_a_proof_works_once(client, frozen_clock, make_user):
    user = _enrolled_patient(client, make_user)
    code = code_for(user)
    assert _post(client, "email", PASSWORD, code).status_code == 302
    r = client.post("/account/security/totp/disable",
                    data={"off-password": PASSWORD, "off-code": code})
    assert r.status_code == 422  # a replay within the step
    db.session.expire_all()
    assert db.session.get_one(User, user.id).totp_enabled


def test_a_recovery_code_turns_the_second_factor_off_when_the_phone_is_lost(client,
                                                                           frozen_clock,
                                                                           make_user):
    user = make_user("patient", totp=True)
    codes = totp.new_recovery_codes(user)
    db.session.commit()
    assert sign_in(client, user, codes[0]).status_code == 302
    assert _post(client, "totp_disable", PASSWORD, codes[0]).status_code == 422  # spent
    r = _post(client, "totp_disable", PASSWORD, codes[1].upper())
    assert r.status_code == 302
    db.session.expire_all()
    assert not db.session.get_one(User, user.id).totp_enabled
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0


def test_a_refused_email_change_does_not_spend_the_code(client, frozen_clock, make_user):
    make_user("patient", email="taken@mail.kz")
    user = _enrolled_patient(client, make_user)
    code = code_for(user)
    r = client.post("/account/email", data={"em-email": "taken@mail.kz",
                                            "em-password": PASSWORD, "em-code": code})
    assert r.status_code == 422 and "Another account uses this email" in r.get_data(as_text=True)
    assert _post(client, "email", PASSWORD, code).status_code == 302  # the same code still works


def test_an_unknown_address_is_not_told_apart_without_the_password(client, make_user):
    make_user("patient", email="taken@mail.kz")
    user = make_user("patient")
    sign_in(client, user)
    r = client.post("/account/email", data={"em-email": "taken@mail.kz", "em-password": "x"})
    assert r.status_code == 422
    assert "Another account" not in r.get_data(as_text=True)


@pytest.mark.parametrize("action", ["email", "password"])
def test_without_a_second_factor_the_password_alone_is_asked(client, make_user, action):
    user = make_user("patient", email="p@mail.kz")
    sign_in(client, user)
    page = client.get("/account/profile").get_data(as_text=True)
    assert 'id="pw-code"' not in page and 'id="em-code"' not in page
    before = _state(user.id)
    assert _post(client, action, None, None).status_code == 422
    assert _post(client, action, "wrong guess", None).status_code == 422
    assert _state(user.id) == before
    assert _post(client, action, PASSWORD, None).status_code == 302


def test_turning_off_when_it_is_off_changes_nothing(client, make_user):
    user = make_user("patient")
    sign_in(client, user)
    r = _post(client, "totp_disable", None, None)
    assert r.status_code == 302
    assert _failures() == []


def test_wrong_guesses_are_limited_per_account_and_right_ones_are_not(app, client,
                                                                      frozen_clock, make_user):
    user = _enrolled_patient(client, make_user)
    # Missing fields and a missing code are not guesses: they do not count.
    for _ in range(6):
        assert _post(client, "email", PASSWORD, None).status_code == 422
    statuses = [_post(client, action, "wrong guess", code_for(user)).status_code
                for action in ["email", "password", "totp_disable", "email", "password"]]
    assert statuses == [422] * 5
    # The three pages share one allowance: the sixth attempt waits, even a right one.
    assert _post(client, "totp_disable", PASSWORD, code_for(user)).status_code == 429
    db.session.expire_all()
    assert db.session.get_one(User, user.id).totp_enabled
    assert len(_failures()) == 5


def test_the_profile_asks_for_the_password_and_code_with_labels(client, make_user):
    user = make_user("patient", totp=True)
    sign_in(client, user)
    page = client.get("/account/profile").get_data(as_text=True)
    for field in ("off-password", "off-code", "em-code", "pw-code"):
        assert f'<label for="{field}">' in page, field
    code = page.split('id="off-code"')[0].rsplit("<input", 1)[1] + page.split(
        'id="off-code"')[1].split(">")[0]
    assert 'autocomplete="one-time-code"' in code and "inputmode=" in code
    password = page.split('id="off-password"')[0].rsplit("<input", 1)[1] + page.split(
        'id="off-password"')[1].split(">")[0]
    assert 'autocomplete="current-password"' in password and 'type="password"' in password
