"""A patient consults the on-duty doctor in a real browser, end to end: the doctor's
desk announces the new patient live, the doctor takes them, both chat live with read
marks, the doctor closes with a conclusion and the patient finds it in "My
consultations", where the chat is read-only. Two browser contexts, one per person."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from accounts.models import User
from accounts.passwords import hash_password
from consult import realtime
from consult.coverage import people_of
from consult.duty import queue as duty_queue
from consult.duty.chat import send_message
from consult.duty.requests import ConsultationRequest, request_consultation
from consult.duty.shifts import start_shift
from core import clock
from core.db import writing
from core.extensions import db
from tests.e2e.browser import ARTIFACTS, account_link, screenshots_on_failure, sign_in
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.activation import activation_body
from tests.fixtures.consult import answer_red_flags

PHONE = {"width": 390, "height": 844}
HTML_TEXT = "<b>hi</b><script>x</script>"
ROOM_URL = re.compile(r"/consult/\d+$")


@pytest.fixture
def patient(client: Any, make_policy: Any) -> User:
    """A patient who activated a policy today (so it is in its waiting period) and set
    a password."""
    clock.freeze(datetime(2026, 11, 22, 6, 0, tzinfo=UTC))  # 11:00 in Almaty
    policy = make_policy()
    r = client.post("/api/v1/activations", json=activation_body(policy),
                    headers={"Accept-Language": "en"})
    assert r.status_code == 201, r.json
    user = db.session.scalar(select(User).where(User.email == "ivanov@mail.kz"))
    assert user is not None
    user.password_hash = hash_password(PASSWORD)
    db.session.commit()
    return user


@pytest.fixture
def doctor(make_user: Any) -> User:
    return make_user("doctor", email="dr.aliya@clinic.kz", full_name="Әлия Сәрсенова",
                     on_duty_doctor=True, pediatric=True)


def test_patient_and_doctor_consult_live_from_request_to_conclusion(
        browser, demo_server, patient, doctor):
    base = demo_server.url
    errors: list[str] = []

    doctor_ctx = browser.new_context(locale="en-US")
    patient_ctx = browser.new_context(locale="en-US", viewport=PHONE)
    for ctx in (doctor_ctx, patient_ctx):
        ctx.set_default_timeout(10_000)
    desk = doctor_ctx.new_page()
    chat = patient_ctx.new_page()
    pages = {"doctor": desk, "patient": chat}
    for name, page in pages.items():
        page.on("console", lambda m, n=name: errors.append(f"{n}: {m.text}")
                if m.type == "error" else None)

    with screenshots_on_failure(pages, "consultation"):
        # The doctor signs in, lands at the desk and starts the shift; the desk's socket
        # connects and loads the queue (so it is listening before the patient asks).
        sign_in(desk, base, doctor, with_code=True)
        desk.wait_for_url("**/consult/desk")
        with desk.expect_response(lambda r: r.url.endswith("/api/v1/queue")):
            desk.get_by_role("button", name="Start shift").click()
        expect(desk.locator(".badge.on")).to_have_text("You are on shift")
        expect(desk.locator("#queue li.empty")).to_have_text("Nobody is waiting.")
        expect(desk.locator("#queue-count")).to_have_text("0")
        desk.evaluate("window.__notReloaded = true")
        # The doctor looks at another tab: the desk is not focused. (Playwright lets
        # every page think it has the focus; turn that off for the desk.)
        other_tab = doctor_ctx.new_page()
        other_tab.goto(base + "/account/profile")
        other_tab.bring_to_front()
        focus = doctor_ctx.new_cdp_session(desk)
        focus.send("Emulation.setFocusEmulationEnabled", {"enabled": False})
        assert desk.evaluate("document.hasFocus()") is False

        # The patient (in the waiting period: self-pay) asks for a doctor.
        sign_in(chat, base, patient, with_code=False)
        account_link(chat, "My consultations").click()
        chat.get_by_role("link", name="Consult a doctor").click()
        expect(chat.get_by_label("Иванов Иван Иванович")).to_be_checked()  # the only one
        expect(chat.locator(".coverage-self_pay")).to_contain_text("Self-pay")
        chat.get_by_label("What is bothering you?").fill("Fever 38.5 since yesterday")
        expect(chat.get_by_label("Chat", exact=True)).to_be_checked()
        chat.get_by_label("I agree to pay for this consultation").check()
        answer_red_flags(chat)
        chat.get_by_role("button", name="Join the queue").click()
        chat.wait_for_url(ROOM_URL)
        room_url = chat.url
        expect(chat.locator("#waiting-title")).to_have_text("Waiting for a doctor")
        expect(chat.locator("#wait-position")).to_have_text("Your place in line: 1")
        expect(chat.locator("#send")).to_have_count(0)

        # The desk shows the new patient without a reload, says so, and badges its title.
        item = desk.locator("#queue li.card")
        expect(item).to_have_count(1)
        expect(item.locator(".text")).to_have_text("Fever 38.5 since yesterday")
        expect(desk.locator("#queue-count")).to_have_text("1")
        expect(desk.get_by_role("status").filter(has_text="A new patient is waiting.")) \
            .to_be_visible()
        expect(desk).to_have_title(re.compile(r"^\(1\) Doctor's desk"))
        assert desk.evaluate("window.__notReloaded") is True
        desk.bring_to_front()  # looked at: the badge goes
        expect(desk).to_have_title(re.compile(r"^Doctor's desk"))
        focus.send("Emulation.setFocusEmulationEnabled", {"enabled": True})
        focus.detach()
        other_tab.close()

        # The doctor takes the patient: both are in the room; the patient's waiting
        # page turns into the chat by itself.
        item.get_by_role("button", name="Take").focus()  # by keyboard
        desk.keyboard.press("Enter")
        desk.wait_for_url(room_url)
        expect(desk.locator("#status-label")).to_have_text("In progress")
        expect(chat.locator("#status-label")).to_have_text("In progress")
        expect(chat.locator("#waiting")).to_have_count(0)
        # Who the doctor is, as patients see it (consult.doctors), never their email.
        expect(chat.locator("#room-doctor")).to_have_text("Dr Әлия Сәрсенова, pediatrician")
        expect(chat.locator("#room-doctor")).to_be_visible()
        assert "dr.aliya@clinic.kz" not in chat.content()
        expect(chat.locator("#connection")).to_have_text("Connected.")
        expect(desk.locator("#connection")).to_have_text("Connected.")

        # The patient types (Shift+Enter is a new line, Enter sends); the doctor sees it
        # live.
        patient_box = chat.get_by_label("Message")
        patient_box.press_sequentially("Hello doctor,")
        patient_box.press("Shift+Enter")
        expect(patient_box).to_have_value("Hello doctor,\n")
        patient_box.press_sequentially("I still have a fever")
        patient_box.press("Enter")
        expect(patient_box).to_have_value("")
        expect(patient_box).to_be_focused()
        doctor_sees = desk.locator("#messages li.from-patient .body")
        expect(doctor_sees).to_have_text(["Hello doctor, I still have a fever"])
        mine = chat.locator("#messages li.mine")
        expect(mine).to_have_count(1)
        expect(mine.first).to_have_attribute("data-mark", "read")
        expect(mine.first.locator(".mark")).to_have_text("read")

        patient_box.fill(HTML_TEXT)
        chat.get_by_role("button", name="Send").click()
        expect(doctor_sees).to_have_text(["Hello doctor, I still have a fever", HTML_TEXT])
        expect(desk.locator("#messages .body b, #messages .body script")).to_have_count(0)
        expect(mine.nth(1)).to_have_attribute("data-mark", "read")

        # The doctor answers: the patient sees the typing, then the message, live.
        doctor_box = desk.get_by_label("Message")
        doctor_box.fill("Please measure it again in an hour")
        expect(chat.locator("#typing")).to_have_text("The doctor is typing…")
        desk.get_by_role("button", name="Send").click()
        patient_sees = chat.locator("#messages li.from-doctor .body")
        expect(patient_sees).to_have_text(["Please measure it again in an hour"])
        expect(chat.locator("#typing")).to_have_text("")
        doctor_mine = desk.locator("#messages li.mine")
        expect(doctor_mine).to_have_attribute("data-mark", "read")
        expect(doctor_mine.locator(".who")).to_contain_text("You")
        assert desk.locator("#messages li.mine .body").inner_text() == \
            "Please measure it again in an hour"

        ARTIFACTS.mkdir(exist_ok=True)
        chat.screenshot(path=str(ARTIFACTS / "consultation-chat-phone.png"), full_page=True)

        # The doctor writes the conclusion and closes the consultation.
        expect(desk.get_by_label("Complaint")).to_have_value("Fever 38.5 since yesterday")
        desk.get_by_label("Assessment").fill("Acute respiratory viral infection")
        desk.get_by_label("Recommendations").fill("Fluids, paracetamol 500 mg if above 38.5")
        with desk.expect_request(lambda r: r.url.endswith("/close")):
            desk.get_by_role("button", name="Close the consultation").click()

        # The patient's open room turns read-only by itself, with the conclusion.
        expect(chat.locator("#status-label")).to_have_text("Closed")
        expect(chat.locator("#send")).to_have_count(0)
        expect(chat.get_by_text("The consultation is closed; the chat is read-only.")) \
            .to_be_visible()

        # "My consultations" has the conclusion; the room stays read-only, and the
        # HTML-looking message is still shown as typed (escaped by the server too).
        account_link(chat, "My consultations").click()
        card = chat.locator("li.consultation.status-closed")
        expect(card).to_have_count(1)
        expect(card).to_contain_text("Dr Әлия Сәрсенова, pediatrician")
        card.get_by_text("Conclusion").click()
        expect(card.locator("details")).to_contain_text("Acute respiratory viral infection")
        expect(card.locator("details")).to_contain_text(
            "Fluids, paracetamol 500 mg if above 38.5")
        card.get_by_role("link").click()
        chat.wait_for_url(room_url)
        expect(chat.locator("#send")).to_have_count(0)
        conclusion = chat.locator("section.conclusion")
        expect(conclusion).to_contain_text("Fever 38.5 since yesterday")
        expect(conclusion).to_contain_text("Acute respiratory viral infection")
        expect(chat.locator("#messages .body")).to_have_text([
            "Hello doctor, I still have a fever", HTML_TEXT,
            "Please measure it again in an hour"])
        expect(chat.locator("#messages .body b, #messages .body script")).to_have_count(0)
        expect(chat.locator("#messages li.mine").first).to_have_attribute("data-mark", "read")

        # The desk no longer lists it among the doctor's open consultations. (Where
        # the close itself takes the doctor is not checked here: see the test below.)
        desk.goto(base + "/consult/desk")
        expect(desk.locator("#mine-title")).to_have_text(
            re.compile(r"^My consultations in progress \(0 of \d+\)$"))

    assert errors == []
    patient_ctx.close()
    doctor_ctx.close()


def test_closing_takes_the_doctor_back_to_the_desk_with_a_notice(
        browser, demo_server, patient, doctor):
    with writing():  # this thread writes too: as a writer, like the server's threads
        start_shift(doctor)
        insured = people_of(patient)[0]
        consultation = request_consultation(
            patient, ConsultationRequest(insured.id, "Cough", "chat", True), "en")
        duty_queue.take(doctor, consultation.id)
        db.session.commit()

    context = browser.new_context(locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, demo_server.url, doctor, with_code=True)
    page.goto(f"{demo_server.url}/consult/{consultation.id}")
    expect(page.locator("#connection")).to_have_text("Connected.")
    # The patient writes after the page loaded: the doctor gets it from the join's
    # replay or live, so once it shows the page's socket is in the room for sure.
    db.session.rollback()  # end this thread's read snapshot before writing
    with writing():
        payload = send_message(patient.id, consultation.id, "client-id-0001",
                                        "Hi")
        db.session.commit()
    realtime.message(payload)
    expect(page.locator("#messages li.from-patient .body")).to_have_text(["Hi"])

    page.get_by_label("Assessment").fill("Acute bronchitis")
    page.get_by_label("Recommendations").fill("Rest, fluids")
    page.get_by_role("button", name="Close the consultation").click()
    expect(page).to_have_url(re.compile(r"/consult/desk$"))
    expect(page.locator(".flashes")).to_contain_text(
        "The consultation is closed and the conclusion sent to the patient.")
    context.close()
