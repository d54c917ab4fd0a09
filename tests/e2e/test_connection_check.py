"""A patient checks camera, microphone and network in a real browser (Chromium's fake
camera and microphone) against a real media worker, on a phone-sized screen: the page
shows the camera working, a microphone level, a round-trip time and a verdict."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from consult.calls.media.children import Child, stop_workers
from tests.e2e.browser import ARTIFACTS
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.media import launch

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def media_worker(app: Any) -> Iterator[Child]:
    """A worker of the test app (same SECRET_KEY) on loopback, the app pointed at it."""
    child = launch(MEDIA_MAX_SESSIONS=2, MEDIA_TEST_SECONDS=30)
    app.config.update(MEDIA_WORKER_URLS=child.url, REDIS_URL=None)
    yield child
    stop_workers([child])


def test_patient_checks_camera_microphone_and_network_on_a_phone(
        app, client, no_csrf, demo_server, media_browsers, media_worker, activated_patient):
    user, _ = activated_patient(client)
    app.config["WTF_CSRF_ENABLED"] = True  # the page's script sends the token
    context = media_browsers[0].new_context(locale="en-US", viewport=PHONE)
    page = context.new_page()
    base = demo_server.url
    try:
        page.goto(base + "/lang/en?next=/login")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"^(?!.*/login).*$"))

        page.goto(base + "/consult/new")
        page.get_by_role("link", name="Check your camera, microphone and network").click()
        page.wait_for_url("**/consult/check")
        root = page.locator("#check")
        expect(root).to_have_attribute("data-state", "ready")

        start = page.get_by_role("button", name="Start the check")
        start.focus()
        page.keyboard.press("Enter")  # keyboard works
        expect(root).to_have_attribute("data-state", "running")
        expect(page.locator("#check-meter")).to_be_visible()

        expect(root).to_have_attribute("data-state", "done", timeout=30_000)
        expect(page.locator("#check-error")).to_be_hidden()
        expect(page.locator("#check-camera")).to_have_attribute("data-ok", "true")
        expect(page.locator("#check-camera")).to_contain_text("Working")
        expect(page.locator("#check-mic")).to_contain_text(re.compile(r"Working \(loudest \d+%\)"))
        assert int(page.locator("#check-mic").get_attribute("data-level")) > 0
        expect(page.locator("#check-rtt")).to_have_text(re.compile(r"^\d+ ms$"))
        expect(page.locator("#check-loss")).to_have_text(re.compile(r"^\d+\.\d%$"))
        expect(page.locator("#check-bandwidth")).to_have_text(re.compile(r"^\d+ kbit/s$"))
        verdict = page.locator("#check-verdict")
        expect(verdict).to_be_visible()
        # Loopback is as good as a network gets.
        expect(verdict).to_have_attribute("data-verdict", "good")
        expect(verdict).to_have_text("Your connection is good for a video call.")
        expect(verdict).to_be_focused()
        expect(page.get_by_role("button", name="Check again")).to_be_enabled()
        # The page stopped: the camera is off and the worker's session is over.
        assert page.evaluate("document.getElementById('check-local').srcObject") is None
        ARTIFACTS.mkdir(exist_ok=True)  # for a look at the phone layout
        page.screenshot(path=str(ARTIFACTS / "connection-check-phone.png"), full_page=True)
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "connection-check-failed.png"), full_page=True)
        raise
    finally:
        context.close()
