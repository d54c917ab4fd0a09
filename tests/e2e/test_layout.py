"""The pages fit the screens people use: on a phone (360 × 780) the header and the demo
banner leave the screen to the page (the account links fold into a menu that works by
keyboard), and in the room the message box stays on screen while the transcript
scrolls; on a desktop the doctor's room shows the chat beside the conclusion form."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from consult import services
from core.db import writing
from core.extensions import db
from tests.e2e.conftest import ARTIFACTS, screenshots_on_failure, taken_consultation
from tests.e2e.test_consultation_flow import sign_in

PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 720}
IN_VIEW = """(el) => { const r = el.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"""


@pytest.fixture
def chatty(client: Any) -> dict[str, Any]:
    """An active chat consultation with 36 messages, both sides writing."""
    c = taken_consultation(client, "Әлия Сәрсенова", "Sore throat and a cough", "chat")
    with writing():
        for i in range(36):
            sender = c["patient"] if i % 2 == 0 else c["doctor"]
            services.send_message(sender.id, c["id"], f"client-{i:04d}",
                                  f"Message number {i + 1}: how the throat feels today")
        db.session.commit()
    return c


def open_page(browser: Any, viewport: dict[str, int], locale: str = "en-US") -> Any:
    context = browser.new_context(locale=locale, viewport=viewport)
    context.set_default_timeout(10_000)
    return context.new_page()


def test_on_a_phone_the_message_box_stays_on_screen_and_the_transcript_scrolls(
        browser, demo_server, chatty):
    page = open_page(browser, PHONE)
    with screenshots_on_failure({"patient": page}, "layout-room"):
        sign_in(page, demo_server.url, chatty["patient"], with_code=False)
        page.goto(f"{demo_server.url}/consult/{chatty['id']}")
        expect(page.locator("#connection")).to_have_text("Connected.")
        box = page.get_by_label("Message")
        transcript = page.locator("#messages")
        expect(transcript.locator("li")).to_have_count(36)

        # Wherever the page is scrolled, the message box is on screen.
        for where in ("0", "document.body.scrollHeight / 2", "document.body.scrollHeight"):
            page.evaluate(f"window.scrollTo(0, {where})")
            assert box.evaluate(IN_VIEW), where
            assert page.get_by_role("button", name="Send").evaluate(IN_VIEW), where
        # The transcript scrolls by itself, newest at the bottom, first ones reachable.
        sizes = transcript.evaluate("l => [l.scrollHeight, l.clientHeight, l.scrollTop]")
        assert sizes[0] > sizes[1] and sizes[2] > 0  # scrolled down to the newest
        transcript.evaluate("l => { l.scrollTop = 0; }")
        assert transcript.evaluate("l => l.scrollTop") == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        # Typing and sending from there works; the new message shows in the transcript.
        box.fill("Still sore")
        box.press("Enter")
        expect(transcript.locator("li.mine").last).to_have_attribute("data-mark", "sent")
        assert box.evaluate(IN_VIEW)
        ARTIFACTS.mkdir(exist_ok=True)  # for a look at the phone layout
        page.screenshot(path=str(ARTIFACTS / "layout-room-phone.png"))
    page.context.close()


def test_on_a_phone_document_cards_and_review_badges_fit_the_panel(
        app, browser, demo_server, chatty, no_csrf):
    from tests.accounts_helpers import sign_in as client_sign_in
    from tests.document_helpers import jpeg_bytes, upload

    patient_client, doctor_client = app.test_client(), app.test_client()
    for c, user in ((patient_client, chatty["patient"]), (doctor_client, chatty["doctor"])):
        c.set_cookie("lang", "en")
        assert client_sign_in(c, user).status_code == 302
    long_title = "Ultrasound_of_the_abdominal_cavity_and_kidneys_full_report_2026_final"
    ids = [upload(patient_client, jpeg_bytes(), title=title, consultation_id=chatty["id"]
                  ).json["id"] for title in (long_title, "Blood test")]
    r = doctor_client.post(f"/documents/{ids[0]}/review", data={"comment": "Normal"})
    assert r.status_code in (200, 302)

    page = open_page(browser, PHONE)
    with screenshots_on_failure({"patient": page}, "layout-documents"):
        sign_in(page, demo_server.url, chatty["patient"], with_code=False)
        page.goto(f"{demo_server.url}/consult/{chatty['id']}")
        cards = page.locator("#documents-list li.document")
        expect(cards).to_have_count(2)
        expect(page.locator("#documents-list .badge.reviewed")).to_have_count(1)
        panel = page.locator("#documents-panel").bounding_box()
        assert panel is not None
        for i in range(2):
            for part in (cards.nth(i), cards.nth(i).locator(".badge")):
                box = part.bounding_box()
                assert box is not None
                assert box["x"] >= panel["x"] and \
                    box["x"] + box["width"] <= panel["x"] + panel["width"] + 0.5
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.locator("#documents-panel").screenshot(
            path=str(ARTIFACTS / "layout-documents-phone.png"))
    page.context.close()


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
def test_on_a_phone_the_header_is_short_and_its_menu_works_by_keyboard(
        browser, demo_server, chatty, lang):
    page = open_page(browser, PHONE)
    with screenshots_on_failure({"patient": page}, f"layout-header-{lang}"):
        sign_in(page, demo_server.url, chatty["patient"], with_code=False)
        page.wait_for_url("**/account")
        page.goto(f"{demo_server.url}/lang/{lang}?next=/account")
        bottom = page.evaluate("""() => Math.max(
            document.querySelector('header.top').getBoundingClientRect().bottom,
            document.querySelector('.demo-banner').getBoundingClientRect().bottom)""")
        assert bottom <= 120
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        menu = page.locator("#menu > summary")
        links = page.locator("#menu nav a")
        expect(links.first).to_be_hidden()
        menu.focus()
        page.keyboard.press("Enter")
        expect(links.first).to_be_visible()
        page.keyboard.press("Tab")
        expect(links.first).to_be_focused()
        assert links.first.evaluate(IN_VIEW)
        page.keyboard.press("Escape")
        expect(links.first).to_be_hidden()
        expect(menu).to_be_focused()
        page.keyboard.press("Space")  # a <summary> opens with Space too
        expect(links.first).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"layout-menu-phone-{lang}.png"))
    page.context.close()


def test_on_a_desktop_the_doctor_sees_the_chat_beside_the_conclusion_form(
        browser, demo_server, chatty):
    page = open_page(browser, DESKTOP)
    with screenshots_on_failure({"doctor": page}, "layout-doctor-room"):
        sign_in(page, demo_server.url, chatty["doctor"], with_code=True)
        page.wait_for_url("**/consult/desk")
        expect(page.get_by_role("navigation", name="Account")
               .get_by_role("link", name="Doctor's desk")).to_be_visible()  # no menu here
        page.goto(f"{demo_server.url}/consult/{chatty['id']}")
        expect(page.locator("#connection")).to_have_text("Connected.")
        conclusion = page.get_by_role("region", name="Close with a conclusion")
        conclusion.get_by_role("button", name="Close the consultation").scroll_into_view_if_needed()
        chat_box = page.get_by_label("Message")
        assert chat_box.evaluate(IN_VIEW)
        assert page.get_by_label("Assessment").evaluate(IN_VIEW)
        chat = page.locator("section.chat").bounding_box()
        form = conclusion.bounding_box()
        assert chat is not None and form is not None
        assert chat["x"] + chat["width"] <= form["x"]  # side by side, chat on the left
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "layout-doctor-room-desktop.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    page.context.close()


def test_the_audit_log_uses_the_width_of_a_desktop(browser, demo_server):
    from tests.accounts_helpers import make_user

    with writing():
        admin = make_user("admin", email="admin@clinic.kz", full_name="Админ Админов")
        db.session.commit()
    page = open_page(browser, DESKTOP)
    sign_in(page, demo_server.url, admin, with_code=True)
    page.goto(f"{demo_server.url}/staff/audit/")
    table = page.locator("table.audit")
    expect(table).to_be_visible()
    box = table.bounding_box()
    assert box is not None and box["width"] >= 1000
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "layout-audit-desktop.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    page.context.close()
