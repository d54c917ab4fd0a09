"""Two headless Chromium instances (the doctor's and the patient's, the flags of the
browser tests: fake devices, loopback ICE), signed in through the real pages and on
the consultation room page, and a third page for the baseline; the calls in turn."""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import pyotp

from bench.harness import log
from bench.scenarios.calls.pagejs import INIT_JS, SOCKET_HOOK_JS
from bench.scenarios.calls.samples import Sample, one_baseline, one_call
from bench.scenarios.calls.seed import PASSWORD, People
from tests.e2e.chromium import BASE_ARGS, CHROMIUM, MEDIA_ARGS  # as the browser tests

PHONE = {"width": 390, "height": 844}


def sign_in(page: Any, base: str, email: str, totp_key: str | None) -> None:
    """Through the real pages, in English (as tests/e2e/test_consultation_flow.sign_in)."""
    page.goto(base + "/lang/en?next=/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if totp_key:
        page.wait_for_url("**/login/code*")
        page.get_by_label("Code").fill(pyotp.TOTP(totp_key).now())
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/consult/desk")
    else:
        page.wait_for_url("**/account")


@dataclass
class Pages:
    browsers: list[Any]
    doctor: Any = None
    patient: Any = None
    baseline: Any = None

    def close(self) -> None:
        for b in self.browsers:
            with contextlib.suppress(Exception):
                b.close()


def _contexts(browsers: list[Any], states: list[Any] | None) -> list[Any]:
    """The doctor's (desktop), the patient's (a phone) and the baseline's contexts."""
    doctor_ctx = browsers[0].new_context(locale="en-US",
                                         storage_state=states[0] if states else None)
    patient_ctx = browsers[1].new_context(locale="en-US", viewport=PHONE, has_touch=True,
                                          is_mobile=True,
                                          storage_state=states[1] if states else None)
    base_ctx = browsers[1].new_context(locale="en-US")
    for ctx in (doctor_ctx, patient_ctx, base_ctx):
        ctx.add_init_script(INIT_JS)
        ctx.set_default_timeout(15_000)
    return [doctor_ctx, patient_ctx, base_ctx]


def in_room(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#connection")).to_have_text("Connected.")
    page.wait_for_function(SOCKET_HOOK_JS)


def open_pages(pw: Any, base: str, people: People, errors: list[str],
               states: list[Any] | None) -> tuple[Pages, list[Any]]:
    """Two new Chromium processes, the doctor's and the patient's room pages (signed in
    through the login pages, or with ``states``, the cookies of an earlier sign-in)
    and the baseline's page; return them and the two signed-in storage states."""
    pages = Pages([pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=BASE_ARGS + MEDIA_ARGS) for _ in range(2)])
    try:
        contexts = _contexts(pages.browsers, states)
        pages.doctor, pages.patient, pages.baseline = (c.new_page() for c in contexts)
        for name, page in (("doctor", pages.doctor), ("patient", pages.patient),
                           ("baseline", pages.baseline)):
            page.on("console", lambda m, n=name: errors.append(f"{n}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e, n=name: errors.append(f"{n}: {e}"))
        if not states:
            sign_in(pages.doctor, base, people.doctor_email, people.totp_key)
            sign_in(pages.patient, base, people.patient_email, None)
            states = [contexts[0].storage_state(), contexts[1].storage_state()]
        for page in (pages.doctor, pages.patient):
            page.goto(f"{base}/consult/{people.consultation}")
            in_room(page)
        # The baseline page: an empty document on the server's origin (a secure
        # context for getUserMedia), served by Playwright, not by the app.
        blank = f"{base}/__bench-baseline"
        pages.baseline.route(blank, lambda route: route.fulfill(
            status=200, content_type="text/html",
            body="<!doctype html><title>baseline</title><body></body>"))
        pages.baseline.goto(blank)
    except BaseException:
        pages.close()
        raise
    return pages, states


@dataclass
class Calls:
    """What the calls gave: counted calls and baselines, warm-ups, page errors."""

    calls: list[Sample]
    baseline: list[Sample]
    warm: list[tuple[Sample, Sample]]
    errors: list[str]


def run_calls(base: str, people: People, args: argparse.Namespace) -> Calls:
    from playwright.sync_api import sync_playwright

    out = Calls([], [], [], [])
    with sync_playwright() as pw:
        pages, states = open_pages(pw, base, people, out.errors, None)
        log(f"both signed in and in the room {base}/consult/{people.consultation}")
        try:
            for i in range(args.warmup + args.calls):
                if args.fresh and i > 0:  # every call in newly started browsers
                    pages.close()
                    pages, _ = open_pages(pw, base, people, out.errors, states)
                elif args.reload and i > 0:  # every call the first of freshly loaded pages
                    for page in (pages.doctor, pages.patient):
                        page.reload()
                        in_room(page)
                    pages.baseline.reload()
                _call_and_baseline(pages, i, args, out)
                time.sleep(args.pause)
        finally:
            pages.close()
    return out


def _call_and_baseline(pages: Pages, i: int, args: argparse.Namespace, out: Calls) -> None:
    c = one_call(pages.doctor, pages.patient, i, args.raw)
    b = one_baseline(pages.baseline)
    counted = i >= args.warmup
    tag = f"call {i + 1 - args.warmup}/{args.calls}" if counted \
        else f"warm-up {i + 1}/{args.warmup}"
    log(f"{tag}: accept → first decoded frame: callee "
        f"{c.values['callee_decoded']:.0f} ms, caller "
        f"{c.values['caller_decoded']:.0f} ms (callee ICE "
        f"{c.values['callee_ice']:.0f}, DTLS {c.values['callee_dtls']:.0f}); "
        f"baseline callee {b.values['callee_decoded']:.0f}, caller "
        f"{b.values['caller_decoded']:.0f} ms" + (f"; {c.note}" if c.note else ""))
    if counted:
        out.calls.append(c)
        out.baseline.append(b)
    else:
        out.warm.append((c, b))
