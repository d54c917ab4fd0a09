"""Browser fixtures: system Chromium through Playwright, against a live demo server.

Without /usr/bin/chromium the browser tests skip, except when ``E2E_REQUIRED=1``
(set by .ci/run), where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from accounts.models import User
from consult.models import Consultation
from core import clock
from tests.e2e.chromium import BASE_ARGS, CHROMIUM, MEDIA_ARGS


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Any]:
    """One Playwright driver for the whole run (the sync API allows only one)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(f"{CHROMIUM} is missing but E2E_REQUIRED=1")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_session: Any) -> Iterator[Any]:
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=BASE_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def media_browsers(playwright_session: Any) -> Iterator[tuple[Any, Any]]:
    """Two separate Chromium instances with fake camera and microphone, for calls
    between two people (or one for the connection test)."""
    pair = tuple(playwright_session.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=BASE_ARGS + MEDIA_ARGS)
        for _ in range(2))
    yield pair
    for b in pair:
        b.close()


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"DEMO": True}


@pytest.fixture
def demo_server(app: Any, live_server: Any) -> Any:
    app.config["BASE_URL"] = live_server.url
    return live_server


@pytest.fixture
def taken_room(client: FlaskClient, activated_patient: Callable[..., Any],
               on_shift_doctor: Callable[..., User],
               taken_consultation: Callable[..., Consultation]
               ) -> Callable[[str, str, str], dict[str, Any]]:
    """Factory: a consultation an on-duty doctor (``doctor_name``) has taken, on
    2026-03-30 11:00 Almaty time (the patient activated on 1 March, so the policy covers
    it by then): both sides can open its room."""

    def take(doctor_name: str, complaint: str, channel: str) -> dict[str, Any]:
        clock.freeze(datetime(2026, 3, 1, 6, 0, tzinfo=UTC))
        patient, insured = activated_patient(client)
        clock.freeze(datetime(2026, 3, 30, 6, 0, tzinfo=UTC))
        doctor = on_shift_doctor(full_name=doctor_name)
        c = taken_consultation(patient, insured, complaint, channel, doctor=doctor)
        return {"id": c.id, "patient": patient, "doctor": doctor}

    return take
