"""Sessions, the second factor, throttling, password and email changes, staff."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pyotp
import pytest
import requests
from sqlalchemy import func, select

from accounts.models import RecoveryCode, User, UserSession
from core import clock
from core.extensions import db
from core.outbox import OutboxMessage
from tests.fixtures.accounts import PASSWORD, code_for, sign_in


@pytest.fixture(autouse=True)
def _no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def test_sign_in_makes_a_new_session_id_and_sign_out_revokes_a_copied_cookie(app, client,
                                                                             make_user):
    user = make_user("patient")
    client.set_cookie("session", "attacker-chosen", domain="localhost")
    sign_in(client, user)
    cookie = client.get_cookie("session").value
    assert cookie != "attacker-chosen"
    thief = app.test_client()
    thief.set_cookie("session", cookie, domain="localhost")
    assert thief.get("/account").status_code == 200  # the copy works while signed in
    client.post("/logout")
    assert thief.get("/account").status_code == 302  # and stops working after sign-out
    assert db.session.scalar(select(UserSession)).ended_at is not None


def test_patient_session_idles_out_after_60_minutes(client, frozen_clock, make_user):
    sign_in(client, make_user("patient"))
    clock.shift(timedelta(minutes=59))
    assert client.get("/account").status_code == 200
    clock.shift(timedelta(minutes=59))  # activity above reset the idle timer
    assert client.get("/account").status_code == 200
    clock.shift(timedelta(minutes=60, seconds=1))
    assert client.get("/account").status_code == 302


def test_staff_session_idles_out_after_15_minutes(client, frozen_clock, make_user):
    sign_in(client, make_user("operator"))
    clock.shift(timedelta(minutes=14))
    assert client.get("/account/profile").status_code == 200
    clock.shift(timedelta(minutes=15, seconds=1))
    assert client.get("/account/profile").status_code == 302


def test_sessions_end_after_12_hours_however_active(client, frozen_clock, make_user):
    sign_in(client, make_user("patient"))
    for _ in range(23):
        clock.shift(timedelta(minutes=30))
        assert client.get("/account").status_code == 200
    clock.shift(timedelta(minutes=30))  # 12 hours since sign-in
    assert client.get("/account").status_code == 302


def test_totp_enrolment_then_sign_in_needs_a_code(client, frozen_clock, make_user):
    user = make_user("patient")
    sign_in(client, user)
    page = client.get("/account/security/totp").get_data(as_text=True)
    assert "data:image/svg+xml;base64," in page  # the QR code is drawn here
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    r = client.post("/account/security/totp", data={"code": pyotp.TOTP(secret).at(
        clock.now().timestamp())})
    assert r.status_code == 200
    assert page.count("<li><code>") == 0 and r.get_data(as_text=True).count("<li><code>") == 10
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_enabled
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 10
    client.post("/logout")
    clock.shift(timedelta(seconds=30))
    r = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert "/login/code" in r.headers["Location"]
    assert client.get("/account").status_code == 302  # not signed in yet
    r = client.post("/login/code", data={"code": pyotp.TOTP(secret).at(
        clock.now().timestamp())})
    assert r.status_code == 302
    assert client.get("/account").status_code == 200


def test_a_used_totp_code_is_refused_within_its_time_step(app, client, frozen_clock, make_user):
    user = make_user("doctor", on_duty_doctor=True)
    code = code_for(user)
    assert sign_in(client, user, code).status_code == 302
    client.post("/logout")
    other = app.test_client()
    r = sign_in(other, user, code)  # the same code again: a replay
    assert r.status_code == 422
    clock.shift(timedelta(seconds=30))
    assert sign_in(other, user).status_code == 302


def test_codes_from_one_step_either_side_are_accepted_but_not_two(client, frozen_clock, make_user):
    user = make_user("operator")
    assert sign_in(client, user, code_for(user, -2)).status_code == 422
    assert sign_in(client, user, code_for(user, -1)).status_code == 302


def test_a_recovery_code_works_once(app, client, frozen_clock, make_user):
    from accounts import totp

    user = make_user("admin")
    codes = totp.new_recovery_codes(user)
    db.session.commit()
    assert sign_in(client, user, codes[0].upper()).status_code == 302
    client.post("/logout")
    assert sign_in(app.test_client(), user, codes[0]).status_code == 422
    assert sign_in(app.test_client(), user, codes[1]).status_code == 302


def test_staff_without_a_second_factor_can_only_enrol(client, make_user):
    user = make_user("doctor", totp=False, specialty="cardiology")
    r = sign_in(client, user)
    assert r.status_code == 302
    r = client.get("/account/profile")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/security/totp")
    assert client.get("/account/security/totp").status_code == 200


def test_staff_may_not_turn_the_second_factor_off(client, make_user):
    sign_in(client, make_user("operator"))
    assert client.post("/account/security/totp/disable").status_code == 403


def test_concurrent_wrong_passwords_for_one_account_are_throttled_exactly(live_server, app,
                                                                          make_user):
    app.config["RATELIMIT_LOGIN_ACCOUNT_IP"] = "5 per minute"
    email = make_user("patient").email
    db.session.rollback()

    def attempt(_: int) -> int:
        return requests.post(live_server.url + "/login", timeout=30,
                             data={"email": email, "password": "wrong guess"}).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(attempt, range(12)))
    assert statuses.count(422) == 5
    assert statuses.count(429) == 7


def test_known_device_is_not_locked_out_by_attacks_from_many_addresses(app, client, make_user):
    app.config["RATELIMIT_LOGIN_ACCOUNT"] = "3 per 10 minutes"
    user = make_user("patient")
    sign_in(client, user)  # this browser becomes a known device
    client.post("/logout")
    attacker = app.test_client()
    for n in range(5):
        attacker.post("/login", data={"email": user.email, "password": "guess"},
                      environ_base={"REMOTE_ADDR": f"10.9.0.{n}"})
    blocked = attacker.post("/login", data={"email": user.email, "password": PASSWORD},
                            environ_base={"REMOTE_ADDR": "10.9.1.1"})
    assert blocked.status_code == 429
    assert sign_in(client, user).status_code == 302


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(app, client,
                                                                             make_user):
    user = make_user("patient")
    sign_in(client, user)
    other = app.test_client()
    sign_in(other, user)
    r = client.post("/account/password", data={"pw-current": "wrong", "pw-new": "a new long phrase",
                                               "pw-confirm": "a new long phrase"})
    assert r.status_code == 422
    r = client.post("/account/password", data={"pw-current": PASSWORD,
                                               "pw-new": "a new long phrase",
                                               "pw-confirm": "a new long phrase"})
    assert r.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302


def test_changing_the_email_needs_the_password_and_tells_the_old_address(client, make_user):
    user = make_user("patient", email="old@mail.kz")
    sign_in(client, user)
    r = client.post("/account/email", data={"em-email": "new@mail.kz", "em-password": "nope"})
    assert r.status_code == 422
    r = client.post("/account/email", data={"em-email": "new@mail.kz", "em-password": PASSWORD})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "new@mail.kz"
    notice = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template ==
                                                           "email_changed"))
    assert notice.to_addr == "old@mail.kz"


def test_sign_out_everywhere_else_keeps_this_device(app, client, make_user):
    user = make_user("patient")
    sign_in(client, user)
    other = app.test_client()
    sign_in(other, user)
    page = client.get("/account/profile").get_data(as_text=True)
    assert page.count("<li>") >= 2
    client.post("/account/sessions/end-all")
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302


def test_staff_add_command_creates_the_account_and_sends_a_link(app):
    from consult.models import Specialty

    db.session.add(Specialty(code="cardiology", name_ru="Кардиология", name_kk="Кардиология",
                             name_en="Cardiology"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=[
        "staff", "add", "--email", "Doc@Clinic.kz", "--role", "doctor", "--specialty",
        "cardiology", "--pediatric", "--name", "Aliya Sarsenova"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "doc@clinic.kz"))
    assert (user.role, user.specialty, user.pediatric) == ("doctor", "cardiology", True)
    mail = db.session.scalar(select(OutboxMessage))
    assert mail.template == "set_password" and mail.to_addr == "doc@clinic.kz"
    again = app.test_cli_runner().invoke(args=["staff", "add", "--email", "doc@clinic.kz",
                                               "--role", "operator"])
    assert again.exit_code == 1


def test_admin_adds_staff_on_the_page(client, make_user):
    sign_in(client, make_user("admin"))
    r = client.post("/staff/", data={"email": "op@insurer.kz", "role": "operator"})
    assert r.status_code == 302
    assert db.session.scalar(select(User).where(User.email == "op@insurer.kz")).role == "operator"
    r = client.post("/staff/", data={"email": "op@insurer.kz", "role": "operator"})
    assert r.status_code == 422


def test_staff_role_change_is_audited_and_ends_sessions(app, client, make_user):
    from accounts.audit import AuditEntry

    user = make_user("operator", email="op@insurer.kz")
    sign_in(client, user)
    result = app.test_cli_runner().invoke(args=["staff", "role", "--email", "op@insurer.kz",
                                                "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert client.get("/account/profile").status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.role_changed"))
    assert entry.details == {"from": "operator", "to": "admin", "by": "cli"}


def test_sign_ins_and_failures_are_audited_with_address(client, make_user):
    from accounts.audit import AuditEntry

    user = make_user("patient", email="p@mail.kz")
    client.post("/login", data={"email": "p@mail.kz", "password": "wrong"})
    sign_in(client, user)
    actions = [(e.action, e.ip) for e in db.session.scalars(select(AuditEntry).order_by(
        AuditEntry.id))]
    assert actions == [("auth.sign_in_failed", "127.0.0.1"), ("auth.sign_in", "127.0.0.1")]


def test_second_factor_guesses_are_limited_per_account(app, client, frozen_clock, make_user):
    user = make_user("doctor", specialty="neurology")
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    statuses = [client.post("/login/code", data={"code": "000000"}).status_code
                for _ in range(6)]
    assert statuses == [422] * 5 + [429]


def test_totp_keys_are_encrypted_at_rest(app, client, frozen_clock, make_user):
    from sqlalchemy import text

    from core import crypto

    user = make_user("patient")
    sign_in(client, user)
    page = client.get("/account/security/totp").get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    client.post("/account/security/totp",
                data={"code": pyotp.TOTP(secret).at(clock.now().timestamp())})
    stored = db.session.execute(text("SELECT totp_secret FROM user_account WHERE id = :i"),
                                {"i": user.id}).scalar_one()
    assert secret not in stored
    assert crypto.decrypt(stored) == secret


def test_over_https_the_session_cookie_is_secure_host_prefixed_httponly_lax(app, schema_url,
                                                                            make_user):
    from tests.fixtures.app import make_app

    https_app = make_app(schema_url, BASE_URL="https://pd.example.kz", WTF_CSRF_ENABLED=False)
    with https_app.app_context():  # rows are removed by the `app` fixture afterwards
        user = make_user("patient")
        client = https_app.test_client()
        r = client.post("/login", data={"email": user.email, "password": PASSWORD},
                        base_url="https://localhost")
        cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("__Host-"))
        assert cookie.startswith("__Host-session=")
        for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
            assert flag in cookie
        assert "Domain=" not in cookie
        db.session.remove()
        db.engine.dispose()


def test_a_form_sent_after_a_pause_is_not_blocked_by_the_activity_update(client, frozen_clock,
                                                                         make_user):
    # A POST holds the write lock from its first query; noting the activity must not
    # wait for a second writer (it used to time out after 30 s on SQLite).
    sign_in(client, make_user("patient"))
    clock.shift(timedelta(minutes=5))
    r = client.post("/account/sessions/end-all")
    assert r.status_code == 302
    row = db.session.scalar(select(UserSession))
    assert row.last_seen_at == clock.now()


def test_a_password_reset_link_does_not_skip_the_second_factor(app, client, frozen_clock,
                                                               make_user):
    from accounts.services import issue_password_link

    user = make_user("doctor", on_duty_doctor=True)
    url = issue_password_link(user).replace("http://localhost", "")
    db.session.commit()
    r = client.post(url, data={"password": "a fresh night phrase",
                               "confirm": "a fresh night phrase"})
    assert r.status_code == 302 and "/login/code" in r.headers["Location"]
    assert client.get("/account/profile").status_code == 302  # not signed in yet
    r = client.post("/login/code", data={"code": code_for(user)})
    assert r.status_code == 302
    assert client.get("/account/profile").status_code == 200
