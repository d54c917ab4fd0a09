"""Being reached while the page is open, in real browsers: the patient on a phone
(360 × 780) hears a chime and sees a banner when the doctor takes them and, looking at
another tab, when the doctor writes (the title counts it); an incoming call rings until
it is declined or answered; "Silence alerts" is remembered after a reload. Sounds are
<audio> elements of the page: seen by a "playing" event, or ``paused`` false while a
ring goes on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from consult.duty.requests import ConsultationRequest, request_consultation
from core import clock
from core.extensions import db
from tests.e2e.browser import screenshots_on_failure, sign_in

PHONE = {"width": 360, "height": 780}
# Every page of the context notes which <audio> elements started playing (media events
# do not bubble: caught on the way down).
RECORD_PLAYING = """
window.__played = [];
document.addEventListener("playing", (e) => { window.__played.push(e.target.id); }, true);
"""
RING_PLAYING = "() => !document.getElementById('alert-ring').paused"
RING_SILENT = "() => document.getElementById('alert-ring').paused"


@pytest.fixture
def waiting(client: Any, activated_patient: Any, on_shift_doctor: Any) -> dict[str, Any]:
    """A patient waiting in the on-duty queue (audio channel) and an on-shift doctor."""
    clock.freeze(datetime(2026, 3, 1, 6, 0, tzinfo=UTC))
    patient, insured = activated_patient(client)
    clock.freeze(datetime(2026, 3, 30, 6, 0, tzinfo=UTC))  # covered by now
    doctor = on_shift_doctor(full_name="Әлия Сәрсенова")
    c = request_consultation(
        patient, ConsultationRequest(insured.id, "Headache since the morning", "audio"),
        "en")
    db.session.commit()
    return {"id": c.id, "patient": patient, "doctor": doctor}


@pytest.fixture
def pages(media_browsers, demo_server, waiting) -> Iterator[dict[str, Any]]:
    """The doctor at the desk (desktop) and the patient in the waiting room (phone),
    each in its own Chromium with a fake microphone."""
    base = demo_server.url
    doctor_ctx = media_browsers[0].new_context(locale="en-US")
    patient_ctx = media_browsers[1].new_context(locale="en-US", viewport=PHONE,
                                                has_touch=True, is_mobile=True)
    patient_ctx.add_init_script(RECORD_PLAYING)
    desk, chat = doctor_ctx.new_page(), patient_ctx.new_page()
    errors: list[str] = []
    for name, page in (("doctor", desk), ("patient", chat)):
        page.set_default_timeout(15_000)
        page.on("console", lambda m, n=name: errors.append(f"{n}: {m.text}")
                if m.type == "error" else None)
    sign_in(desk, base, waiting["doctor"], with_code=True)
    desk.wait_for_url("**/consult/desk")
    sign_in(chat, base, waiting["patient"], with_code=False)
    chat.wait_for_url("**/account")
    chat.goto(f"{base}/consult/{waiting['id']}")
    expect(chat.locator("#waiting-title")).to_have_text("Waiting for a doctor")
    expect(chat.locator("#connection")).to_have_text("Connected.")
    with screenshots_on_failure({"doctor": desk, "patient": chat}, "reached"):
        yield {"doctor": desk, "patient": chat, "context": patient_ctx, "errors": errors}
    doctor_ctx.close()
    patient_ctx.close()


def ring_banner(page: Any) -> Any:
    return page.get_by_role("alert").filter(has_text="The doctor is calling you: audio call")


def test_patient_is_alerted_when_taken_and_when_a_call_rings_until_answered(pages):
    desk, chat = pages["doctor"], pages["patient"]

    # The doctor takes the patient: the waiting room turns into the room, chimes and
    # shows a banner.
    desk.locator("#queue li.card").get_by_role("button", name="Take").click()
    expect(chat.locator("#status-label")).to_have_text("In progress")
    chat.wait_for_function("() => window.__played.includes('alert-chime')")
    started = chat.get_by_role("alert").filter(has_text="The doctor is here")
    expect(started).to_be_visible()
    started.get_by_role("button", name="Dismiss").click()
    expect(started).to_have_count(0)

    # The patient looks at another tab: a message of the doctor chimes, shows a banner
    # and is counted in the title until the room is looked at again.
    other_tab = pages["context"].new_page()
    other_tab.goto("about:blank")
    other_tab.bring_to_front()
    focus = pages["context"].new_cdp_session(chat)
    focus.send("Emulation.setFocusEmulationEnabled", {"enabled": False})
    assert chat.evaluate("document.hasFocus()") is False
    chat.evaluate("window.__played = []")
    desk.get_by_label("Message").fill("How are you feeling now?")
    desk.get_by_role("button", name="Send").click()
    chat.wait_for_function("() => window.__played.includes('alert-chime')")
    expect(chat.get_by_role("status").filter(has_text="New message from the doctor")) \
        .to_be_visible()
    expect(chat).to_have_title(re.compile(r"^\(1\) "))
    focus.send("Emulation.setFocusEmulationEnabled", {"enabled": True})
    focus.detach()
    chat.bring_to_front()
    other_tab.close()
    expect(chat).not_to_have_title(re.compile(r"^\(1\) "))

    # A call rings: the ringtone repeats (it loops) with a banner until declined.
    expect(desk.locator("#connection")).to_have_text("Connected.")
    desk.get_by_role("button", name="Audio call").click()
    expect(ring_banner(chat)).to_be_visible()
    chat.wait_for_function(RING_PLAYING)
    expect(chat).to_have_title(re.compile("^\u260e "))
    chat.wait_for_timeout(2_600)  # longer than one ring of the file: it rings on
    assert chat.evaluate(RING_PLAYING) is True
    chat.get_by_role("button", name="Decline").click()
    chat.wait_for_function(RING_SILENT)
    expect(ring_banner(chat)).to_have_count(0)
    expect(chat).not_to_have_title(re.compile("^\u260e "))
    expect(desk.locator("#call-status")).to_have_text("The call was declined.")

    # It rings again; answered, it stops.
    desk.get_by_role("button", name="Audio call").click()
    chat.wait_for_function(RING_PLAYING)
    chat.get_by_role("button", name="Accept").click()
    chat.wait_for_function(RING_SILENT)
    expect(ring_banner(chat)).to_have_count(0)
    expect(chat.locator("#call-status")).to_have_text("In the call")
    desk.get_by_role("button", name="Hang up").click()
    expect(chat.locator("#call-status")).to_have_text("The call has ended.")
    assert pages["errors"] == []


def test_silenced_alerts_stay_silent_after_a_reload_and_still_show_the_banner(pages):
    desk, chat = pages["doctor"], pages["patient"]
    silence = chat.get_by_role("button", name="Silence alerts")
    expect(silence).to_have_attribute("aria-pressed", "false")
    silence.focus()
    chat.keyboard.press("Enter")  # a real button: the keyboard works
    expect(silence).to_have_attribute("aria-pressed", "true")
    chat.reload()
    expect(chat.get_by_role("button", name="Silence alerts")).to_have_attribute(
        "aria-pressed", "true")
    assert chat.evaluate("localStorage.getItem('pd-alerts-silent')") == "1"

    desk.locator("#queue li.card").get_by_role("button", name="Take").click()
    expect(chat.locator("#status-label")).to_have_text("In progress")
    expect(chat.get_by_role("alert").filter(has_text="The doctor is here")).to_be_visible()
    expect(desk.locator("#connection")).to_have_text("Connected.")
    desk.get_by_role("button", name="Audio call").click()
    expect(ring_banner(chat)).to_be_visible()  # seen, not heard
    assert chat.evaluate(RING_SILENT) is True
    assert chat.evaluate("window.__played") == []
    # Sound back on while it rings: the ringtone starts.
    chat.get_by_role("button", name="Silence alerts").click()
    chat.wait_for_function(RING_PLAYING)
    chat.get_by_role("button", name="Decline").click()
    chat.wait_for_function(RING_SILENT)
    assert pages["errors"] == []


def test_a_patients_call_rings_on_the_doctors_desk_with_a_link_to_the_room(pages, waiting):
    """The doctor went back to the desk: the patient's call rings there too, and the
    banner leads to the room, where the call is answered."""
    desk, chat = pages["doctor"], pages["patient"]
    desk.locator("#queue li.card").get_by_role("button", name="Take").click()
    expect(chat.locator("#status-label")).to_have_text("In progress")
    room_url = desk.url
    with desk.expect_response(lambda r: r.url.endswith("/api/v1/queue")):
        desk.goto(room_url.split("/consult/")[0] + "/consult/desk")  # its socket is up
    expect(chat.locator("#connection")).to_have_text("Connected.")
    chat.get_by_role("button", name="Audio call").click()
    banner = desk.get_by_role("alert").filter(has_text="A patient is calling you (audio call).")
    expect(banner).to_be_visible()
    desk.wait_for_function(RING_PLAYING)
    banner.get_by_role("button", name="Open the consultation").click()
    desk.wait_for_url(f"**/consult/{waiting['id']}")
    desk.get_by_role("button", name="Accept").click()
    expect(desk.locator("#call-status")).to_have_text("In the call")
    expect(chat.locator("#call-status")).to_have_text("In the call")
    assert pages["errors"] == []
