"""Video calls between two real browsers through the app, on loopback: two separate
headless Chromium instances with fake cameras and microphones, the doctor at a
desktop and the patient on a phone. Asserted from getStats: video frames decoded and
audio packets received on both sides, rising. Also: a reload rejoins the same call,
mute and the switch to audio reach the other side, and hanging up ends it for both
with the call's events in the chat."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from consult.models import Call
from core.extensions import db
from tests.e2e.browser import ARTIFACTS, screenshots_on_failure, sign_in

PHONE = {"width": 390, "height": 844}

# What the page's connection has received so far (window.pdCall exposes it).
INBOUND = """async () => {
  const pc = window.pdCall && window.pdCall.pc;
  if (!pc) { return {state: "none", frames: 0, audio: 0}; }
  const report = await pc.getStats();
  let frames = 0, audio = 0;
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") { frames += s.framesDecoded || 0; }
    if (s.type === "inbound-rtp" && s.kind === "audio") { audio += s.packetsReceived || 0; }
  });
  return {state: pc.connectionState, frames: frames, audio: audio};
}"""


@pytest.fixture
def consultation(taken_room: Any) -> dict[str, Any]:
    """A consultation the on-duty doctor has taken: both can open its room."""
    return taken_room("Әлия Сәрсенова", "Rash on the arm", "video")


@pytest.fixture
def call_pages(media_browsers, demo_server, consultation) -> Iterator[dict[str, Any]]:
    """The doctor's and the patient's room pages, each in its own Chromium."""
    base = demo_server.url
    doctor_ctx = media_browsers[0].new_context(locale="en-US")
    patient_ctx = media_browsers[1].new_context(locale="en-US", viewport=PHONE,
                                                has_touch=True, is_mobile=True)
    pages = {"doctor": doctor_ctx.new_page(), "patient": patient_ctx.new_page()}
    errors: list[str] = []
    for name, page in pages.items():
        page.set_default_timeout(15_000)
        page.on("console", lambda m, n=name: errors.append(f"{n}: {m.text}")
                if m.type == "error" else None)
    sign_in(pages["doctor"], base, consultation["doctor"], with_code=True)
    pages["doctor"].wait_for_url("**/consult/desk")
    sign_in(pages["patient"], base, consultation["patient"], with_code=False)
    pages["patient"].wait_for_url("**/account")
    room = f"{base}/consult/{consultation['id']}"
    for page in pages.values():
        page.goto(room)
        expect(page.locator("#connection")).to_have_text("Connected.")
    with screenshots_on_failure(pages, "call"):
        yield {**pages, "errors": errors, "room": room}
    doctor_ctx.close()
    patient_ctx.close()


def media_flows(page: Any, timeout: float = 20.0) -> dict[str, Any]:
    """Wait until the page's call is connected and both video frames and audio packets
    keep arriving (two readings, the second higher); return the last reading."""
    deadline = time.monotonic() + timeout
    first = None
    while time.monotonic() < deadline:
        now = page.evaluate(INBOUND)
        if now["state"] == "connected" and now["frames"] > 0 and now["audio"] > 0:
            if first is None:
                first = now
            elif now["frames"] > first["frames"] and now["audio"] > first["audio"]:
                return now
        page.wait_for_timeout(250)
    raise AssertionError(f"media does not flow: {page.evaluate(INBOUND)}")


def start_video_call(doctor: Any, patient: Any, double_tap: bool = False) -> None:
    press = "dblclick" if double_tap else "click"  # an impatient double tap: one call
    getattr(doctor.get_by_role("button", name="Video call"), press)()
    expect(doctor.locator("#call-status")).to_have_text("Calling…")
    expect(patient.locator("#call-status")).to_have_text(
        "The doctor is calling you: video call")
    expect(patient.locator("#call-status")).to_have_attribute("aria-live", "assertive")
    expect(patient).to_have_title(re.compile("^\u260e "))  # seen from another tab too
    getattr(patient.get_by_role("button", name="Accept"), press)()
    expect(patient).not_to_have_title(re.compile("^\u260e "))


def test_doctor_and_patient_hold_a_video_call_and_hang_up(call_pages, consultation):
    doctor, patient = call_pages["doctor"], call_pages["patient"]
    start_video_call(doctor, patient, double_tap=True)
    for page in (doctor, patient):
        got = media_flows(page)
        assert got["frames"] > 0 and got["audio"] > 0
        expect(page.locator("#call-status")).to_have_text("In the call")
        expect(page.locator("#messages li.event").first).to_contain_text("Video call started")
    for page in (doctor, patient):  # only the call's own controls show now
        for name in ("Video call", "Audio call", "Accept", "Decline", "Join the call here",
                     "Turn on sound"):
            expect(page.get_by_role("button", name=name)).to_be_hidden()
        expect(page.locator("#call-timer")).to_have_text(re.compile(r"^0:0\d$"))
    # The phone layout shows the remote video across the screen, controls reachable.
    box = patient.locator("#remote-video").bounding_box()
    assert box is not None and box["width"] >= 300
    patient.get_by_role("button", name="Hang up").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)  # for a look at the phone layout
    patient.locator("#calls").screenshot(path=str(ARTIFACTS / "call-phone.png"))

    # Mute reaches the other side; "switch to audio" turns both cameras off.
    patient.get_by_role("button", name="Mute").click()
    expect(doctor.locator("#call-peer")).to_contain_text("muted their microphone")
    doctor.get_by_role("button", name="Switch to audio").click()
    for page in (doctor, patient):
        page.wait_for_function("() => window.pdCall.pc && window.pdCall.pc.getSenders()"
                               ".every((s) => !s.track || s.track.kind !== 'video')")
    expect(doctor.get_by_role("button", name="Switch to video")).to_be_visible()

    # Hanging up (by keyboard) ends it on both sides; the chat says how long it was.
    hang_up = patient.get_by_role("button", name="Hang up")
    hang_up.focus()
    patient.keyboard.press("Enter")
    for page in (doctor, patient):
        expect(page.locator("#call-status")).to_have_text("The call has ended.")
        expect(page.locator("#messages li.event").last).to_contain_text("Call ended")
        expect(page.get_by_role("button", name="Video call")).to_be_visible()
        assert page.evaluate("window.pdCall.pc") is None
    db.session.commit()
    call = db.session.query(Call).one()
    assert call.status == "ended" and call.ended_by == "patient"
    assert not [e for e in call_pages["errors"] if "favicon" not in e], call_pages["errors"]


def test_a_reload_rejoins_the_same_call(call_pages, consultation):
    doctor, patient = call_pages["doctor"], call_pages["patient"]
    start_video_call(doctor, patient)
    media_flows(doctor)
    media_flows(patient)
    db.session.commit()
    call_id = db.session.query(Call).one().id

    # The patient's page reloads (the phone's browser was refreshed): it rejoins.
    patient.reload()
    expect(patient.locator("#connection")).to_have_text("Connected.")
    got = media_flows(patient)
    assert got["frames"] > 0
    media_flows(doctor)
    # The caller's page reloads too: it offers again and the call goes on.
    doctor.reload()
    media_flows(doctor)
    media_flows(patient)
    db.session.commit()
    calls = db.session.query(Call).all()
    assert [(c.id, c.status) for c in calls] == [(call_id, "active")]  # one call, never ended
    for page in (doctor, patient):
        assert page.locator("#messages li.event").count() == 1  # only "started"

    # The patient's signaling connection drops (a network change) and comes back: the
    # call's media never stopped, and the page takes part in the call again.
    frames = patient.evaluate(INBOUND)["frames"]
    patient.evaluate("""() => {
        window.__reconnected = 0;
        window.pdRoom.socket.on("connect", () => { window.__reconnected += 1; });
        window.pdRoom.socket.io.engine.close();
    }""")
    patient.wait_for_function("() => window.__reconnected >= 1")
    expect(patient.locator("#connection")).to_have_text("Connected.")
    patient.wait_for_function("() => window.pdCall.inCall")
    assert media_flows(patient)["frames"] > frames
    doctor.get_by_role("button", name="Hang up").click()
    expect(patient.locator("#call-status")).to_have_text("The call has ended.")


# Makes the page's getStats report heavy packet loss from now on (500 more packets lost
# at every reading), as on a congested mobile network.
LOSSY = """() => {
  const pc = window.pdCall.pc;
  const original = pc.getStats.bind(pc);
  let lost = 0;
  pc.getStats = async () => {
    const report = await original();
    lost += 500;
    const changed = new Map();
    report.forEach((s, key) => {
      const inbound = s.type === "inbound-rtp";
      changed.set(key, inbound ? {...s, packetsLost: (s.packetsLost || 0) + lost} : s);
    });
    return changed;
  };
}"""


def test_a_poor_network_switches_the_call_to_audio_and_says_so(call_pages, consultation):
    doctor, patient = call_pages["doctor"], call_pages["patient"]
    start_video_call(doctor, patient)
    media_flows(doctor)
    media_flows(patient)
    patient.evaluate(LOSSY)
    poor = "The connection is poor: the call switched to audio."
    for page in (patient, doctor):  # about three readings (6 s) of heavy loss
        expect(page.locator("#call-notice")).to_contain_text(poor, timeout=20_000)
        page.wait_for_function("() => window.pdCall.pc.getSenders()"
                               ".every((s) => !s.track || s.track.kind !== 'video')")
    # Audio goes on; the chat stays.
    before = doctor.evaluate(INBOUND)["audio"]
    doctor.wait_for_timeout(1500)
    assert doctor.evaluate(INBOUND)["audio"] > before
    expect(patient.locator("#body")).to_be_editable()


# The camera is busy (another app holds it): asking for video fails, audio works.
CAMERA_BUSY = """() => {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) => constraints && constraints.video
    ? Promise.reject(new DOMException("Could not start video source", "NotReadableError"))
    : original(constraints);
}"""


def test_without_a_camera_the_video_call_goes_on_with_audio_and_says_so(
        call_pages, consultation):
    doctor, patient = call_pages["doctor"], call_pages["patient"]
    patient.evaluate(CAMERA_BUSY)
    start_video_call(doctor, patient)
    expect(patient.locator("#call-notice")).to_have_text(
        "The camera is not available: the call goes on with audio only.")
    assert media_flows(patient)["frames"] > 0  # the doctor's video still arrives
    before = doctor.evaluate(INBOUND)  # the doctor hears the patient, sees no video
    doctor.wait_for_timeout(1500)
    after = doctor.evaluate(INBOUND)
    assert after["audio"] > before["audio"] > 0 and after["frames"] == 0
    assert patient.evaluate("window.pdCall.pc.getSenders()"
                            ".every((s) => !s.track || s.track.kind !== 'video')")


def test_with_both_consents_the_call_is_recorded_and_played_from_the_transcript(
        recording_worker, call_pages, consultation):
    doctor, patient = call_pages["doctor"], call_pages["patient"]
    start_video_call(doctor, patient)
    media_flows(patient)
    doctor.get_by_role("button", name="Record the audio").click()
    expect(doctor.locator("#record-status")).to_have_text(
        "Waiting for the other side to agree to the recording…")
    expect(patient.locator("#record-status")).to_contain_text(
        "The doctor asks to record the audio of this call")
    patient.get_by_role("button", name="Agree to record").click()
    for page in (doctor, patient):
        expect(page.locator("#record-status")).to_have_text(
            "● The audio of this call is being recorded.")
        page.wait_for_function("() => window.pdCall.inCall")
    patient.wait_for_timeout(3000)
    doctor.get_by_role("button", name="Hang up").click()
    for page in (doctor, patient):
        expect(page.locator("#call-status")).to_have_text(
            "The call has ended. The recording is saved with the consultation.")

    # The transcript offers the recording; the browser plays it.
    patient.reload()
    player = patient.locator("#messages li.event audio")
    expect(player).to_have_count(1)
    duration = patient.evaluate("""() => new Promise((resolve, reject) => {
        const a = document.querySelector("#messages li.event audio");
        a.addEventListener("loadedmetadata", () => resolve(a.duration));
        a.addEventListener("error", () => reject(new Error("cannot play")));
        a.preload = "metadata"; a.load();
    })""")
    assert duration == float("inf") or 2 <= duration <= 6, duration
