"""An admin adds a doctor; the doctor sets a password, enrols TOTP, signs out and in
again with a code — all in a real browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp

from core import clock
from tests.fixtures.accounts import PASSWORD, code_for


def test_admin_adds_a_doctor_who_enrols_totp_and_signs_in_with_it(browser, demo_server, make_user):
    clock.freeze(datetime(2026, 11, 22, 6, 0, tzinfo=UTC))
    admin = make_user("admin", email="admin@insurer.kz")
    base = demo_server.url

    admin_ctx = browser.new_context(locale="en-US")
    page = admin_ctx.new_page()
    page.goto(base + "/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(code_for(admin))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/")
    page.get_by_label("Email").fill("dr.aliya@clinic.kz")
    page.get_by_label("Full name").fill("Әлия Сәрсенова")
    page.get_by_label("Role").select_option("doctor")
    page.get_by_label("On-duty doctor").check()
    page.get_by_label("Sees children").check()
    page.get_by_label("Kazakh").check()
    page.get_by_role("button", name="Add").click()
    assert "dr.aliya@clinic.kz is added" in page.locator(".flashes").inner_text()
    admin_ctx.close()

    doctor_ctx = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = doctor_ctx.new_page()
    page.goto(base + "/dev/mailbox/")
    page.get_by_role("link", name="Set your Personal Doctor password").first.click()
    page.locator("pre.mail-text a").first.click()
    page.get_by_label("New password").fill("a calm night shift phrase")
    page.get_by_label("Repeat the password").fill("a calm night shift phrase")
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url("**/account/security/totp")  # staff must enrol first
    assert page.locator("img.qr").is_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock.now().timestamp()))
    page.get_by_role("button", name="Turn on").click()
    assert page.locator("#recovery-codes li").count() == 10

    page.get_by_text("Menu", exact=True).click()  # on a phone the account links fold
    page.get_by_role("button", name="Sign out").click()
    clock.shift(timedelta(seconds=30))  # a new time step: the enrolment code is spent
    page.goto(base + "/login")
    page.get_by_label("Email").fill("dr.aliya@clinic.kz")
    page.get_by_label("Password").fill("a calm night shift phrase")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/login/code*")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock.now().timestamp()))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/consult/desk")  # a doctor lands at their desk
    assert page.get_by_role("heading", name="Doctor's desk").is_visible()
    doctor_ctx.close()
