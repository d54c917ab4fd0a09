"""The HTML side: security headers, CSRF, languages, the activation form, sign-in,
the account page, and the dev mailbox existing only in demo mode."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from accounts.models import User
from accounts.passwords import hash_password
from core import clock
from core.extensions import db
from tests.fixtures.activation import activation_body
from tests.fixtures.app import make_app


def csrf_token(client, url):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def form_of(policy, **changes):
    data = activation_body(policy, **changes)
    data["consent"] = "y" if data["consent"] else ""
    return data


def test_every_page_sends_security_headers(client):
    for url in ("/", "/activate", "/login", "/api/v1/ping", "/no-such-page"):
        r = client.get(url)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"]


def test_pages_have_no_inline_scripts_or_styles(client):
    for url in ("/", "/activate", "/login", "/password/link"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # files only (CSP)
        assert "style=" not in html
        assert html.count('href="/lang/') == 2  # the switch: the two other languages


def test_activation_form_without_csrf_token_is_refused_and_changes_nothing(client, make_policy):
    policy = make_policy()
    r = client.post("/activate", data=form_of(policy))
    assert r.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_activation_form_activates_and_shows_the_confirmation(client, frozen_clock, make_policy):
    policy = make_policy()
    token = csrf_token(client, "/activate")
    r = client.post("/activate", data={**form_of(policy), "csrf_token": token},
                    headers={"Accept-Language": "en"})
    assert r.status_code == 302
    page = client.get("/activate/done", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert policy.number in page
    assert "March 25, 2026" in page and "March 24, 2027" in page
    assert "ivanov@mail.kz" in page


def test_activation_form_shows_field_errors_and_keeps_input(client, make_policy):
    policy = make_policy()
    token = csrf_token(client, "/activate")
    r = client.post("/activate", data={**form_of(policy, iin="12345", consent=False),
                                       "csrf_token": token},
                    headers={"Accept-Language": "en"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="iin-error"' in html and 'aria-invalid="true"' in html
    assert 'id="consent-error"' in html
    assert f'value="{policy.number}"' in html


def test_wrong_code_on_the_form_gets_422_and_is_counted(client, make_policy):
    from activation.models import Policy

    policy = make_policy()
    token = csrf_token(client, "/activate")
    r = client.post("/activate", data={**form_of(policy, activation_code="WRONG"),
                                       "csrf_token": token})
    assert r.status_code == 422
    assert db.session.get(Policy, policy.id).failed_attempts == 1


def test_accept_language_and_the_language_switch(client):
    en = client.get("/activate", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in en.get_data(as_text=True)
    default = client.get("/activate", headers={"Accept-Language": "de"})
    assert '<html lang="ru">' in default.get_data(as_text=True)
    r = client.get("/lang/kk?next=/activate")
    assert r.status_code == 302 and r.headers["Location"] == "/activate"
    kk = client.get("/activate", headers={"Accept-Language": "en"})
    assert '<html lang="kk">' in kk.get_data(as_text=True)


def test_language_switch_does_not_redirect_off_site(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        r = client.get("/lang/en", query_string={"next": target})
        assert r.headers["Location"] == "/"


def _patient(email="p@mail.kz", password="correct horse battery"):
    user = User(email=email, role="patient", product_line="personal_doctor", language="ru",
                created_at=clock.now(), password_hash=hash_password(password))
    db.session.add(user)
    db.session.commit()
    return user


def test_sign_in_gives_one_generic_error(client, no_csrf):
    _patient()
    wrong_pw = client.post("/login", data={"email": "p@mail.kz", "password": "nope nope"},
                           headers={"Accept-Language": "en"})
    unknown = client.post("/login", data={"email": "x@mail.kz", "password": "nope nope"},
                          headers={"Accept-Language": "en"})
    assert wrong_pw.status_code == unknown.status_code == 422
    assert "Wrong email or password." in wrong_pw.get_data(as_text=True)
    assert "Wrong email or password." in unknown.get_data(as_text=True)


def test_sign_in_is_case_insensitive_and_sign_out_works(client, no_csrf):
    _patient()
    r = client.post("/login", data={"email": "P@Mail.KZ", "password": "correct horse battery"})
    assert r.status_code == 302
    assert client.get("/account").status_code == 200
    client.post("/logout")
    assert client.get("/account").status_code == 302


def test_sign_in_does_not_redirect_off_site(client, no_csrf):
    _patient()
    r = client.post("/login?next=https://evil.example/",
                    data={"email": "p@mail.kz", "password": "correct horse battery"})
    assert r.headers["Location"] == "/account"


def test_account_page_lists_policies_with_status_days_left_and_appendix(client, no_csrf,
                                                                        frozen_clock, make_policy):
    policy = make_policy()
    client.post("/api/v1/activations", json=activation_body(policy))
    user = db.session.scalar(select(User))
    user.password_hash = hash_password("correct horse battery")
    user.language = "en"
    db.session.commit()

    def sign_in():  # days pass between the looks: each starts a new session
        client.post("/login", data={"email": "ivanov@mail.kz",
                                    "password": "correct horse battery"})

    sign_in()
    page = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Waiting period until March 24, 2026" in page
    assert "380 days left" in page
    clock.shift(timedelta(days=20))
    sign_in()
    page = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Active until March 24, 2027" in page
    pdf = client.get(f"/account/policies/{policy.number}/appendix-1.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    clock.shift(timedelta(days=400))
    sign_in()
    page = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Ended: the last covered day was March 24, 2027" in page


def test_appendix_of_someone_elses_policy_is_not_found(client, no_csrf, make_policy):
    other = make_policy()
    client.post("/api/v1/activations", json=activation_body(other))
    _patient()
    client.post("/login", data={"email": "p@mail.kz", "password": "correct horse battery"})
    assert client.get(f"/account/policies/{other.number}/appendix-1.pdf").status_code == 404


def test_set_password_refuses_short_common_and_mismatched_passwords(client, no_csrf):
    from accounts.services import issue_password_link

    user = _patient()
    url = issue_password_link(user).replace("http://localhost", "")
    db.session.commit()
    for pw, confirm, words in [("short", "short", "8 characters"),
                               ("password123", "password123", "too common"),
                               ("qwertyuiop", "qwertyuiop", "too common"),
                               ("a good long phrase", "another phrase", "do not match"),
                               ("x" * 129, "x" * 129, "128")]:
        r = client.post(url, data={"password": pw, "confirm": confirm},
                        headers={"Accept-Language": "en"})
        assert r.status_code == 422, pw
        assert words in r.get_data(as_text=True), pw
    r = client.post(url, data={"password": "z" * 64, "confirm": "z" * 64})
    assert r.status_code == 422  # one repeated letter is too weak
    long_ok = "Жаңа құпия сөз 2026 " * 3
    r = client.post(url, data={"password": long_ok, "confirm": long_ok})
    assert r.status_code == 302


def test_set_password_link_expires_after_72_hours(client, no_csrf, frozen_clock):
    from accounts.services import issue_password_link

    url = issue_password_link(_patient()).replace("http://localhost", "")
    db.session.commit()
    clock.shift(timedelta(hours=72, seconds=1))
    assert client.get(url).status_code == 410


def test_setting_a_password_ends_other_sessions(app, client, no_csrf):
    from accounts.services import issue_password_link

    user = _patient()
    client.post("/login", data={"email": "p@mail.kz", "password": "correct horse battery"})
    other = app.test_client()
    url = issue_password_link(user).replace("http://localhost", "")
    db.session.commit()
    other.post(url, data={"password": "a brand new phrase", "confirm": "a brand new phrase"})
    assert client.get("/account").status_code == 302  # the first browser is signed out
    assert other.get("/account").status_code == 200


def test_request_link_answers_the_same_for_known_and_unknown_emails(client, no_csrf):
    from core.outbox import OutboxMessage

    _patient()
    known = client.post("/password/link", data={"email": "p@mail.kz"})
    unknown = client.post("/password/link", data={"email": "nobody@mail.kz"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    mails = db.session.scalars(select(OutboxMessage)).all()
    assert [m.to_addr for m in mails] == ["p@mail.kz"]


def test_dev_mailbox_exists_only_in_demo_mode(client, schema_url):
    assert client.get("/dev/mailbox/").status_code == 404
    demo = make_app(schema_url, DEMO=True)
    with demo.app_context():
        assert demo.test_client().get("/dev/mailbox/").status_code == 200


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    import pytest

    from core.config import ConfigError
    from service import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})


def test_unknown_api_route_is_problem_json(client):
    r = client.get("/api/v1/nothing", headers={"Accept-Language": "en"})
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert r.json["status"] == 404 and r.json["title"] and r.json["detail"]
    r = client.get("/api/v1/activations")
    assert r.status_code == 405 and r.mimetype == "application/problem+json"
