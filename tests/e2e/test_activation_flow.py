"""A person activates a policy in a real browser, reads the mail in the dev mailbox,
sets a password and sees the waiting period on the account page."""

from __future__ import annotations

from datetime import UTC, datetime

from core import clock
from tests.e2e.browser import ARTIFACTS


def test_demo_policy_to_account_page_in_a_phone_sized_browser(browser, demo_server, make_policy):
    clock.freeze(datetime(2026, 11, 22, 6, 0, tzinfo=UTC))  # 11:00 in Almaty
    policy = make_policy(number="DEMO-PD-0001", code="69E7-927D")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = demo_server.url

    page.goto(base + "/")
    page.get_by_role("main").get_by_role("link", name="Activate a policy").first.click()
    page.get_by_label("Policy number").fill(policy.number)
    page.get_by_label("Activation code").fill("69e7 927d")
    page.get_by_label("IIN of the insured person").fill("871008401427")
    page.get_by_label("Full name of the insured person").fill("Сейткали Айгерім Нұрланқызы")
    page.get_by_label("Email").fill("aigerim@mail.kz")
    page.get_by_label("I consent to the processing of my personal data").check()
    page.get_by_role("button", name="Activate").click()
    page.wait_for_url("**/activate/done")
    assert page.locator("#coverage-starts").inner_text() == "December 7, 2026"

    page.goto(base + "/dev/mailbox/")
    page.get_by_role("link", name="Set your Personal Doctor password").click()
    link = page.locator("pre.mail-text a").first
    assert "/password/set/" in (link.get_attribute("href") or "")
    link.click()

    page.get_by_label("New password").fill("a long and unusual phrase")
    page.get_by_label("Repeat the password").fill("a long and unusual phrase")
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url("**/account")
    status = page.locator(".policy .status").inner_text()
    assert "Waiting period until December 6, 2026" in status
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "account-phone.png"), full_page=True)

    # Keyboard only: the skip link is the first stop and leads to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert errors == []
    context.close()


def test_appendix_attachment_downloads_from_the_dev_mailbox(browser, demo_server, make_policy):
    policy = make_policy()
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    response = page.request.post(demo_server.url + "/api/v1/activations", data={
        "policy_number": policy.number, "activation_code": "CODE-1234", "iin": "760212350620",
        "full_name": "Петров Пётр", "email": "petrov@mail.kz", "consent": True})
    assert response.status == 201
    page.goto(demo_server.url + "/dev/mailbox/")
    page.locator(".mailbox a").last.click()
    with page.expect_download() as download:
        page.locator("a[href*='/attachments/0']").click()
    assert download.value.suggested_filename == f"appendix-1-{policy.number}.pdf"
    context.close()
