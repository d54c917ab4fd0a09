"""A red-flag answer in a real browser (issue 13): on a phone the patient answers "yes"
to trouble breathing, gets the full-screen advice to call emergency services with a
tel: link, continues to a doctor anyway; the on-duty doctor's desk lists that patient
first and marked "Red flag", ahead of one who asked earlier, and the room shows the
answers and the choice."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from accounts.models import User
from accounts.passwords import hash_password
from consult.coverage import people_of
from consult.duty.requests import ConsultationRequest, request_consultation
from consult.duty.shifts import start_shift
from core import clock
from core.db import writing
from core.extensions import db
from tests.e2e.browser import ARTIFACTS, screenshots_on_failure, sign_in
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.activation import ADULT_IIN_2, activation_body
from tests.fixtures.consult import answer_red_flags

PHONE = {"width": 360, "height": 780}
ROOM_URL = re.compile(r"/consult/\d+$")


def activated(client: Any, make_policy: Any, email: str, iin: str | None = None) -> User:
    policy = make_policy()
    body = activation_body(policy, email=email, **({"iin": iin} if iin else {}))
    r = client.post("/api/v1/activations", json=body, headers={"Accept-Language": "en"})
    assert r.status_code == 201, r.json
    user = db.session.scalar(select(User).where(User.email == email))
    assert user is not None
    user.password_hash = hash_password(PASSWORD)
    db.session.commit()
    return user


@pytest.fixture
def people(client: Any, make_policy: Any, make_user: Any) -> tuple[User, User, User]:
    """The patient who will answer "yes", one already waiting with no red flag, and the
    on-duty doctor on shift."""
    clock.freeze(datetime(2026, 11, 22, 6, 0, tzinfo=UTC))  # 11:00 in Almaty
    patient = activated(client, make_policy, "ivanov@mail.kz")
    calm = activated(client, make_policy, "calm@mail.kz", iin=ADULT_IIN_2)
    doctor = make_user("doctor", email="dr.aliya@clinic.kz", full_name="Әлия Сәрсенова",
                       on_duty_doctor=True, pediatric=True)
    with writing():
        start_shift(doctor)
        insured = people_of(calm)[0]
        request_consultation(calm, ConsultationRequest(
            insured.id, "A mild cough", "chat", True), "en")
        db.session.commit()
    return patient, calm, doctor


def test_red_flag_answer_advises_calling_and_the_doctor_sees_it_first(
        browser, demo_server, people):
    patient, _calm, doctor = people
    base = demo_server.url
    errors: list[str] = []
    patient_ctx = browser.new_context(locale="en-US", viewport=PHONE)
    doctor_ctx = browser.new_context(locale="en-US")
    for ctx in (patient_ctx, doctor_ctx):
        ctx.set_default_timeout(10_000)
    phone = patient_ctx.new_page()
    desk = doctor_ctx.new_page()
    pages = {"patient": phone, "doctor": desk}
    for name, page in pages.items():
        page.on("console", lambda m, n=name: errors.append(f"{n}: {m.text}")
                if m.type == "error" else None)

    with screenshots_on_failure(pages, "red-flags"):
        sign_in(phone, base, patient, with_code=False)
        phone.goto(base + "/consult/new")
        line = phone.locator(".emergency-line")
        expect(line).to_be_visible()
        expect(line.locator('a[href="tel:103"]')).to_be_visible()
        phone.get_by_label("What is bothering you?").fill("Short of breath since the morning")
        phone.get_by_label("I agree to pay for this consultation").check()
        answer_red_flags(phone, yes=("breathing",))
        ARTIFACTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / "red-flag-checklist-phone.png"), full_page=True)
        phone.get_by_role("button", name="Join the queue").click()

        # The full-screen advice: call now (tel: links), or continue anyway.
        expect(phone.get_by_role("heading", name="Call emergency services now")).to_be_visible()
        call = phone.get_by_role("link", name="Call 103")
        expect(call).to_be_visible()
        expect(call).to_have_attribute("href", "tel:103")
        expect(phone.get_by_role("link", name="Call 112")).to_have_attribute("href", "tel:112")
        expect(phone.locator(".emergency-screen .signs")).to_contain_text("Trouble breathing")
        phone.screenshot(path=str(ARTIFACTS / "red-flag-advice-phone.png"), full_page=True)
        phone.get_by_role("button", name="Continue to a doctor anyway").click()
        phone.wait_for_url(ROOM_URL)
        room_url = phone.url
        expect(phone.locator("#waiting-title")).to_have_text("Waiting for a doctor")
        expect(phone.locator("#waiting .emergency-line")).to_be_visible()
        expect(phone.locator("#wait-position")).to_have_text("Your place in line: 1")

        # The doctor's desk: the red-flag patient first and marked in words.
        sign_in(desk, base, doctor, with_code=True)
        desk.wait_for_url("**/consult/desk")
        items = desk.locator("#queue li.card")
        expect(items).to_have_count(2)
        first = items.first
        expect(first.locator(".badge.red-flag")).to_have_text("Red flag")
        expect(first).to_contain_text("Trouble breathing")
        expect(first.locator(".text")).to_have_text("Short of breath since the morning")
        expect(items.nth(1).locator(".badge.red-flag")).to_have_count(0)

        # The doctor takes them and sees the answers and the choice near the complaint.
        first.get_by_role("button", name="Take").click()
        desk.wait_for_url(room_url)
        flags = desk.locator("#red-flags")
        expect(flags).to_contain_text("Red flag")
        expect(flags.locator(".red-flag-signs li")).to_have_text(["Trouble breathing"])
        expect(flags).to_contain_text("chose to continue to a doctor anyway")

    assert errors == []
    patient_ctx.close()
    doctor_ctx.close()
