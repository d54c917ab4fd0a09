"""The pages fit the screens people use: on a phone (360 × 780) the header and the demo
banner leave the screen to the page (the account links fold into a menu that works by
keyboard), and in the room the message box stays on screen while the transcript
scrolls; on a desktop the doctor's room shows the chat beside the conclusion form."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from consult.duty import queue as duty_queue
from consult.duty.chat import send_message
from consult.duty.requests import ConsultationRequest, request_consultation
from core.db import writing
from core.extensions import db
from tests.e2e.browser import ARTIFACTS, screenshots_on_failure, sign_in
from tests.fixtures.accounts import sign_in as client_sign_in
from tests.fixtures.consult import NO_RED_FLAGS_FORM
from tests.fixtures.documents import jpeg_bytes, upload

PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 720}
LAPTOP = {"width": 1280, "height": 800}
IN_VIEW = """(el) => { const r = el.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"""


@pytest.fixture
def chatty(taken_room: Any) -> dict[str, Any]:
    """An active chat consultation with 36 messages, both sides writing."""
    c = taken_room("Әлия Сәрсенова", "Sore throat and a cough", "chat")
    with writing():
        for i in range(36):
            sender = c["patient"] if i % 2 == 0 else c["doctor"]
            send_message(sender.id, c["id"], f"client-{i:04d}",
                                  f"Message number {i + 1}: how the throat feels today")
        db.session.commit()
    return c


@pytest.fixture
def red_flag_room(client: Any, activated_patient: Any, on_shift_doctor: Any) -> dict[str, Any]:
    """An active chat consultation whose patient answered "yes" to chest pain and went on
    anyway, with a long complaint: the doctor's room has a tall header."""
    from datetime import UTC, datetime

    from core import clock

    clock.freeze(datetime(2026, 3, 1, 6, 0, tzinfo=UTC))
    patient, insured = activated_patient(client)
    clock.freeze(datetime(2026, 3, 30, 6, 0, tzinfo=UTC))
    doctor = on_shift_doctor(full_name="Әлия Сәрсенова")
    answers = {name.removeprefix("flag_"): name == "flag_chest_pain" for name in NO_RED_FLAGS_FORM}
    complaint = ("Pressure in the chest for two hours, spreading to the left arm and the jaw; "
                 "short of breath when climbing stairs, sweating, nausea since the morning. ") * 2
    with writing():
        c = request_consultation(patient, ConsultationRequest(
            insured.id, complaint, "chat", red_flags=answers, continue_anyway=True), "en")
        duty_queue.take(doctor, c.id)
        for i in range(6):
            send_message(patient.id if i % 2 else doctor.id, c.id, f"redflag-{i:04d}",
                                  f"Message {i + 1} about the chest pain")
        db.session.commit()
    return {"id": c.id, "patient": patient, "doctor": doctor}


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
        # Measured in one go: the panel redraws its list once the room's socket joins.
        boxes = page.evaluate("""() => {
            const panel = document.querySelector("#documents-panel").getBoundingClientRect();
            const parts = document.querySelectorAll(
                "#documents-list li.document, #documents-list li.document .badge");
            return [...parts].map(e => {
                const r = e.getBoundingClientRect();
                return {x: r.x, right: r.x + r.width, width: r.width,
                        left: panel.x, end: panel.x + panel.width};
            });
        }""")
        assert len(boxes) == 4  # two cards, each with its badge
        for box in boxes:
            assert box["width"] > 0
            assert box["x"] >= box["left"] and box["right"] <= box["end"] + 0.5
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.locator("#documents-panel").screenshot(
            path=str(ARTIFACTS / "layout-documents-phone.png"))
    page.context.close()


OVERLAP = """([a, b]) => { const r = a.getBoundingClientRect(), s = b.getBoundingClientRect();
  return r.left < s.right && s.left < r.right && r.top < s.bottom && s.top < r.bottom; }"""


def test_on_a_phone_alert_banners_do_not_hide_what_they_announce(browser, demo_server, chatty):
    page = open_page(browser, PHONE)
    with screenshots_on_failure({"patient": page}, "layout-banners"):
        sign_in(page, demo_server.url, chatty["patient"], with_code=False)
        page.goto(f"{demo_server.url}/consult/{chatty['id']}")
        expect(page.locator("#connection")).to_have_text("Connected.")
        # As when the doctor takes the patient: the banner pushes the page down, the
        # status line and the coverage line stay in sight below it.
        page.evaluate("window.pdAlerts.notify('started', window.pdAlerts.t.started, "
                      "{urgent: true})")
        started = page.get_by_role("alert").filter(has_text="The doctor is here")
        expect(started).to_be_visible()
        assert started.evaluate(IN_VIEW)
        for line in ("#status-label", ".room-head > p:nth-of-type(2)"):
            target = page.locator(line)
            assert target.evaluate(IN_VIEW), line
            assert not page.evaluate(OVERLAP, [started.element_handle(),
                                               target.element_handle()]), line
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "layout-banner-started-phone.png"))
        started.get_by_role("button", name="Dismiss").click()
        expect(started).to_have_count(0)

        # Scrolled down to the chat, a ringing call's banner is in sight and leaves the
        # message box free; "Show the call" brings the call card out from under it.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.evaluate("window.pdAlerts.ring('layout', 'The doctor is calling you', {action: "
                      "{label: 'Show the call', run: () => document.getElementById('calls')"
                      ".scrollIntoView({block: 'center'})}})")
        ring = page.get_by_role("alert").filter(has_text="The doctor is calling you")
        expect(ring).to_be_visible()
        assert ring.evaluate(IN_VIEW)
        box = page.get_by_label("Message")
        assert box.evaluate(IN_VIEW)
        assert not page.evaluate(OVERLAP, [ring.element_handle(), box.element_handle()])
        ring.get_by_role("button", name="Show the call").click()
        calls = page.locator("#calls h2")
        page.wait_for_function("""() => { const r = document.querySelector('#calls h2')
            .getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }""")
        assert not page.evaluate(OVERLAP, [ring.element_handle(), calls.element_handle()])
        page.screenshot(path=str(ARTIFACTS / "layout-banner-ring-phone.png"))
        ring.get_by_role("button", name="Dismiss").click()
        expect(ring).to_have_count(0)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
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


def test_on_a_laptop_the_doctor_sees_chat_and_conclusion_at_once_despite_a_tall_header(
        browser, demo_server, red_flag_room):
    page = open_page(browser, LAPTOP)
    ARTIFACTS.mkdir(exist_ok=True)
    with screenshots_on_failure({"doctor": page}, "layout-doctor-room-red-flag"):
        sign_in(page, demo_server.url, red_flag_room["doctor"], with_code=True)
        page.wait_for_url("**/consult/desk")
        page.goto(f"{demo_server.url}/consult/{red_flag_room['id']}")
        expect(page.locator("#connection")).to_have_text("Connected.")
        expect(page.locator("#red-flags .badge.red-flag")).to_be_visible()
        # Without scrolling: the message box and the first field of the conclusion.
        assert page.evaluate("window.scrollY") == 0
        page.screenshot(path=str(ARTIFACTS / "layout-doctor-room-red-flag-opened.png"))
        assert page.get_by_label("Message").evaluate(IN_VIEW)
        assert page.get_by_role("region", name="Close with a conclusion") \
            .get_by_label("Complaint").evaluate(IN_VIEW)
        # The chat follows the call card: no gap left by the tall header beside it.
        gap = page.evaluate("""() => document.querySelector('section.chat')
            .getBoundingClientRect().top
            - document.querySelector('.calls').getBoundingClientRect().bottom""")
        assert gap <= 40
        # Scrolled to the end, the chat is still on screen beside the form.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        assert page.get_by_label("Message").evaluate(IN_VIEW)
        assert page.get_by_role("button", name="Close the consultation").evaluate(IN_VIEW)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "layout-doctor-room-red-flag.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    page.context.close()


def test_the_audit_log_uses_the_width_of_a_desktop(browser, demo_server, make_user):
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


@pytest.fixture
def admin_with_staff(make_user: Any) -> Any:
    """An admin, a few staff accounts (a doctor with languages and a profile line) and a
    specialty with long names: the tables of the staff and specialties pages are wide."""
    from consult.models import Specialty

    with writing():
        admin = make_user("admin", email="admin@clinic.kz", full_name="Админ Админов")
        make_user("doctor", email="zhanar.abdrakhmanova.cardiology@clinic.kz",
                  full_name="Жанар Абдрахманова", specialty="cardiology", languages="kk,ru",
                  profile_line="Cardiologist, 12 years of practice, adults and teenagers")
        make_user("operator", email="operator.contact.centre@clinic.kz", full_name="Operator")
        db.session.add(Specialty(code="paediatric_cardiology", name_ru="Детская кардиология",
                                 name_kk="Балалар кардиологиясы",
                                 name_en="Paediatric cardiology", slot_minutes=30))
        db.session.commit()
    return admin


@pytest.mark.parametrize("path", ["/staff/", "/consult/specialties"])
def test_staff_tables_fit_a_desktop_and_scroll_inside_their_region_on_a_phone(
        browser, demo_server, admin_with_staff, path):
    page = open_page(browser, DESKTOP)
    sign_in(page, demo_server.url, admin_with_staff, with_code=True)
    page.goto(f"{demo_server.url}{path}")
    region = page.locator(".table-wrap[role=region]")
    expect(region).to_be_visible()
    # On a desktop the whole table shows: nothing clipped inside its region.
    assert region.evaluate("r => r.scrollWidth <= r.clientWidth")
    if path == "/staff/":
        edit = page.get_by_role("link", name="Edit").last
        assert edit.evaluate(IN_VIEW.replace("r.top >= 0 && r.bottom <= window.innerHeight",
                                             "r.left >= 0 && r.right <= window.innerWidth"))
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]

    # On a phone the table scrolls inside its region (reachable by keyboard); the page
    # itself does not scroll sideways.
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert region.evaluate("r => r.scrollWidth > r.clientWidth")
    assert region.get_attribute("tabindex") == "0"
    region.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.table-wrap').scrollLeft > 0")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"layout-table-phone{path.replace('/', '-')}.png"))
    page.context.close()



def test_a_list_of_cards_has_no_markers_and_a_lone_card_takes_the_row(browser, demo_server):
    page = open_page(browser, DESKTOP)
    page.goto(demo_server.url + "/")
    widths = page.evaluate("""() => {
        const main = document.querySelector('main');
        main.insertAdjacentHTML('beforeend', '<ol class="cards" id="one"><li class="card">A</li>'
          + '</ol><ul class="cards" id="two"><li class="card">A</li><li class="card">B</li></ul>');
        const one = document.querySelector('#one'), two = document.querySelector('#two');
        return {marker: getComputedStyle(one.firstChild).listStyleType,
                pad: getComputedStyle(one).paddingLeft, list: one.clientWidth,
                lone: one.firstChild.offsetWidth, pair: two.firstChild.offsetWidth};
    }""")
    assert widths["marker"] == "none" and widths["pad"] == "0px"
    assert widths["lone"] == widths["list"]  # a single card spans the row
    assert widths["pair"] < widths["list"] / 2  # two cards share it
    page.context.close()
