"""A patient in the waiting period, on a phone (360 × 780), answers a specialist
appointment the on-duty doctor booked: the card shows the price and why before
anything is charged, the button says "Confirm and pay 5 000 ₸"; confirming says what
was paid; cancelling says the money will be returned, and the history keeps the
receipt, refunded. CSRF on, as in production."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from consult.models import Consultation
from consult.schedule import booking
from core.extensions import db
from tests.e2e.browser import screenshots_on_failure, sign_in
from tests.fixtures.schedule import _request

PHONE = {"width": 360, "height": 780}
PRICE = re.compile(r"5\s000 ₸")  # money() groups with a no-break space


def test_a_waiting_period_patient_sees_the_price_before_paying_and_the_refund_after(
        browser: Any, demo_server: Any, client: Any, self_pay_referral: Any) -> None:
    setting = self_pay_referral(client)  # Monday 30 March 2026, 11:00 in Almaty
    appointment = booking.book(setting["doctor"], setting["consultation"].id,
                               _request(setting, 11))
    db.session.commit()
    held_id = appointment.consultation_id
    base = demo_server.url
    errors: list[str] = []
    ctx = browser.new_context(locale="en-US", viewport=PHONE, has_touch=True, is_mobile=True)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with screenshots_on_failure({"patient": page}, "self-pay-appointment"):
        sign_in(page, base, setting["patient"], with_code=False)
        page.wait_for_url("**/account")
        page.goto(f"{base}/consult/appointments")
        card = page.locator("main li.appointment")
        expect(card).to_have_count(1)
        # Before anything is charged: the amount, what for, and why.
        price = card.locator(".price")
        expect(price).to_be_visible()
        expect(price).to_have_text(re.compile(
            r"Self-pay: 5\s000 ₸ — your policy's waiting period lasts until April 3, 2026\. "
            r"Charged when you confirm\."))
        pay = card.get_by_role("button", name=re.compile(r"^Confirm and pay 5\s000 ₸$"))
        expect(pay).to_be_visible()
        expect(pay).to_have_accessible_description(re.compile(r"^Self-pay: 5\s000 ₸"))
        db.session.commit()
        assert db.session.get(Consultation, held_id).payment_status == "pending"

        pay.click()
        page.wait_for_url("**/consult/appointments")
        db.session.commit()
        held = db.session.get(Consultation, held_id)
        assert (held.payment_status, held.status) == ("paid", "scheduled")
        expect(page.get_by_text(re.compile(
            r"Thank you: the appointment is confirmed and 5\s000 ₸ is paid \(payment "
            rf"reference {held.payment_reference}\)\."))).to_be_visible()
        expect(card.locator(".badge")).to_have_text("Confirmed")
        expect(card.locator(".price")).to_contain_text(PRICE)
        expect(card.get_by_role("button")).to_have_text(["Ask for another time", "Cancel"])

        card.get_by_role("button", name="Cancel").click()
        page.wait_for_url("**/consult/appointments")
        expect(page.get_by_text(re.compile(
            r"The appointment is cancelled; 5\s000 ₸ will be returned\."))).to_be_visible()
        expect(card.locator(".price")).to_have_text(re.compile(
            rf"5\s000 ₸ refunded \(payment reference {held.payment_reference}\)\."))

        page.goto(f"{base}/consult/history")
        receipt = page.locator(f"li.consultation a[href='/consult/{held_id}']").locator(
            "xpath=ancestor::li[1]").locator("section.receipt")
        expect(receipt).to_be_visible()
        expect(receipt.get_by_role("heading")).to_have_text("Payment receipt")
        expect(receipt.locator("dd").nth(0)).to_contain_text(PRICE)
        expect(receipt.locator(".payment-status")).to_have_text(
            re.compile(r"^refunded on Mar 30, 2026"))
        expect(receipt.locator("code")).to_have_text(held.payment_reference)
        # Nothing on the phone's page is wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    ctx.close()
    assert not [e for e in errors if "favicon" not in e], errors
