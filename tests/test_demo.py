"""Demo data: printed policies that activate, staff that can sign in with their keys."""

from __future__ import annotations

import pyotp

from core import clock
from core.demo import (
    DEMO_STAFF_PASSWORD,
    demo_code,
    ensure_demo_policies,
    ensure_demo_staff,
)
from core.extensions import db


def test_demo_policies_are_kept_available_and_activate_with_their_printed_codes(app, client):
    policies = ensure_demo_policies()
    db.session.commit()
    assert len(policies) == 10
    number, code, _product = policies[0]
    assert code == demo_code(number)
    r = client.post("/api/v1/activations", json={
        "policy_number": number, "activation_code": code, "iin": "871008401427",
        "full_name": "Сейткали Айгерім", "email": "demo@mail.kz", "consent": True})
    assert r.status_code == 201
    again = ensure_demo_policies()
    db.session.commit()
    assert len(again) == 10 and number not in {n for n, _, _ in again}


def test_demo_staff_sign_in_with_the_printed_password_and_key(app, client):
    staff = ensure_demo_staff()
    db.session.commit()
    assert ensure_demo_staff() == staff  # idempotent
    app.config["WTF_CSRF_ENABLED"] = False
    email, _role, key = staff[0]
    client.post("/login", data={"email": email, "password": DEMO_STAFF_PASSWORD})
    r = client.post("/login/code", data={"code": pyotp.TOTP(key).at(clock.now().timestamp())})
    assert r.status_code == 302 and r.headers["Location"].endswith("/staff/")
