"""A referral to a specialist in real browsers, end to end: in the consultation's room
the on-duty doctor refers the patient to a cardiologist (specialty, a free time, a
summary) and books; the patient's room (on a phone) shows the booking live; the patient
confirms it on "Appointments". On the appointed day (a moved clock) the room waits
until five minutes before the start, then opens by itself: the specialist reads the
referral summary, and specialist and patient chat. Three browser contexts, one per
person; CSRF on, as in production."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import time, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from consult.models import Consultation
from consult.schedule.models import Appointment, WorkingHours
from core import clock
from core.extensions import db
from tests.e2e.browser import account_link, screenshots_on_failure, sign_in
from tests.fixtures.schedule import MONDAY, _at

PHONE = {"width": 390, "height": 844}
DOCTOR = "Aigerim Sadykova"
SPECIALIST_NAME = "Timur Kim"
SPECIALIST = f"Dr {SPECIALIST_NAME}, Cardiology"  # as patients see him
SUMMARY = ("Chest pain on exertion for two weeks, ECG at rest normal. "
           "Please assess for angina.")
WHEN = "Monday 30 March, 15:00"  # the booked time as the pages write it (Almaty)


@pytest.fixture
def setting(taken_room: Any, make_specialty: Any, make_user: Any) -> dict[str, Any]:
    """A consultation the on-duty doctor has taken (Monday 30 March 2026, 11:00 in
    Almaty) and a cardiologist who works on Mondays 14:00–17:00 (30-minute slots)."""
    consultation = taken_room(DOCTOR, "Chest pain when climbing stairs", "chat")
    specialty = make_specialty("cardiology", minutes=30)
    specialist = make_user("doctor", email="dr.cardio@clinic.kz", full_name=SPECIALIST_NAME,
                           specialty="cardiology")
    db.session.add(WorkingHours(doctor_id=specialist.id, weekday=0, starts=time(14),
                                ends=time(17)))
    db.session.commit()
    return {**consultation, "specialty": specialty, "specialist": specialist}


@pytest.fixture
def people(browser: Any, demo_server: Any) -> Iterator[dict[str, Any]]:
    """A browser context each: the on-duty doctor and the specialist at desktops, the
    patient on a phone; console errors collected."""
    errors: list[str] = []
    contexts: dict[str, Any] = {}
    pages: dict[str, Any] = {}
    for name in ("doctor", "patient", "specialist"):
        options: dict[str, Any] = {"locale": "en-US"}
        if name == "patient":
            options.update(viewport=PHONE, has_touch=True, is_mobile=True)
        ctx = browser.new_context(**options)
        ctx.set_default_timeout(15_000)
        ctx.on("page", lambda p, n=name: p.on(
            "console", lambda m: errors.append(f"{n}: {m.text}") if m.type == "error" else None))
        contexts[name] = ctx
        pages[name] = ctx.new_page()
    yield {"pages": pages, "contexts": contexts, "errors": errors, "base": demo_server.url}
    for ctx in contexts.values():
        ctx.close()


def test_on_duty_doctor_refers_patient_confirms_and_they_meet_the_specialist(
        setting, people):
    base, pages = people["base"], people["pages"]
    doctor, patient, specialist = pages["doctor"], pages["patient"], pages["specialist"]
    room = f"{base}/consult/{setting['id']}"
    with screenshots_on_failure(pages, "referral"):
        # Monday 11:00: the on-duty doctor and the patient are in the consultation's room.
        sign_in(doctor, base, setting["doctor"], with_code=True)
        doctor.wait_for_url("**/consult/desk")
        sign_in(patient, base, setting["patient"], with_code=False)
        patient.wait_for_url("**/account")
        for page in (doctor, patient):
            page.goto(room)
            expect(page.locator("#connection")).to_have_text("Connected.")
        patient.evaluate("window.__notReloaded = true")
        expect(patient.locator("#appointments-panel")).to_be_hidden()  # nothing booked yet
        expect(doctor.locator("#appointments-list")).to_have_text(
            "No specialist appointments from this consultation.")

        # The doctor refers: a specialty, its free times (today's open first), one time,
        # a summary; then books.
        doctor.get_by_role("link", name="Refer to a specialist").click()
        doctor.wait_for_url(f"**/consult/{setting['id']}/referral")
        expect(doctor.get_by_role("heading", level=1)).to_have_text("Refer to a specialist")
        doctor.get_by_label("Specialty").select_option(label="Cardiology")
        doctor.get_by_role("button", name="Show free times").click()
        doctor.wait_for_url(re.compile(rf"/referral\?specialty_id={setting['specialty'].id}$"))
        today = doctor.locator("form.referral details").first
        expect(today).to_have_attribute("open", "")
        expect(today.locator("summary")).to_have_text("Monday 30 March (6)")
        expect(today.locator("label")).to_have_text(
            [f"{hh} · {SPECIALIST}" for hh in ("14:00", "14:30", "15:00", "15:30", "16:00",
                                              "16:30")])
        # Next Monday is there too, folded (14 days ahead: 13 April is beyond).
        expect(doctor.locator("form.referral details summary")).to_have_text(
            ["Monday 30 March (6)", "Monday 6 April (6)"])
        expect(doctor.locator("form.referral details").nth(1)).not_to_have_attribute(
            "open", "")
        today.get_by_label(f"15:00 · {SPECIALIST}").check()
        doctor.get_by_label("Referral summary for the specialist").fill(SUMMARY)
        doctor.get_by_role("button", name="Book").click()
        doctor.wait_for_url(room)
        expect(doctor.get_by_text("The appointment is booked; the patient has been told.")
               ).to_be_visible()
        booked_card = doctor.locator("#appointments-list li.appointment")
        expect(booked_card).to_have_count(1)
        expect(booked_card).to_contain_text(f"Cardiology · {WHEN} · {SPECIALIST}")
        expect(booked_card.locator(".badge")).to_have_text(
            "Booked, not yet confirmed by the patient")

        # The patient's room shows it live, without a reload, with the way to answer.
        mine = patient.locator("#appointments-list li.appointment")
        expect(mine).to_have_count(1)
        expect(mine).to_contain_text(f"Cardiology · {WHEN} · {SPECIALIST}")
        expect(mine.locator(".badge")).to_have_text("Booked: please confirm")
        expect(mine.get_by_role("link", name="Confirm, ask for another time or cancel")
               ).to_be_visible()
        assert patient.evaluate("window.__notReloaded") is True

        # The patient confirms on "Appointments".
        account_link(patient, "Appointments").click()
        patient.wait_for_url("**/consult/appointments")
        expect(patient.locator(".appointment-banner")).to_contain_text(
            f"A specialist appointment was booked for you: {WHEN}.")
        card = patient.locator("main li.appointment")
        expect(card).to_have_count(1)
        expect(card.get_by_role("heading")).to_have_text(f"Cardiology · {WHEN}")
        expect(card).to_contain_text(SPECIALIST)
        expect(card.locator(".badge")).to_have_text("Booked: please confirm")
        card.get_by_role("button", name="Confirm").click()
        patient.wait_for_url("**/consult/appointments")
        expect(patient.get_by_text("Thank you: the appointment is confirmed.")).to_be_visible()
        expect(card.locator(".badge")).to_have_text("Confirmed")
        expect(card.get_by_role("button")).to_have_text(["Ask for another time", "Cancel"])
        expect(patient.locator(".appointment-banner")).to_contain_text(
            f"Your specialist appointment: {WHEN}.")

        db.session.commit()  # a fresh read of what the server wrote
        appointment = db.session.scalar(select(Appointment))
        assert appointment is not None
        assert (appointment.status, appointment.specialist_id, appointment.patient_id,
                appointment.referring_consultation_id) == (
            "confirmed", setting["specialist"].id, setting["patient"].id, setting["id"])
        assert clock.local(appointment.starts_at).replace(tzinfo=None).isoformat() == \
            "2026-03-30T15:00:00"
        held = db.session.get(Consultation, appointment.consultation_id)
        assert (held.status, held.doctor_id) == ("scheduled", setting["specialist"].id)
        specialist_room = f"{base}/consult/{held.id}"
        people["contexts"]["doctor"].close()  # the on-duty doctor's part is done

        # 14:50, ten minutes before: both sign in again (the sessions idled out); the
        # room waits, without a chat.
        clock.freeze(_at(MONDAY, 14, 50))
        sign_in(specialist, base, setting["specialist"], with_code=True)
        specialist.wait_for_url("**/consult/desk")
        account_link(specialist, "My day").click()
        day = specialist.locator("li.appointment")
        expect(day).to_have_count(1)
        expect(day.get_by_role("heading")).to_have_text("15:00–15:30 · Иванов Иван Иванович")
        expect(day.locator(".badge")).to_have_text("Confirmed")
        sign_in(patient, base, setting["patient"], with_code=False)
        patient.wait_for_url("**/account")
        banner = patient.locator(".appointment-banner")
        expect(banner).to_contain_text(f"Your specialist appointment: {WHEN}.")
        banner.get_by_role("link", name="Open the consultation").click()
        patient.wait_for_url(specialist_room)
        specialist.goto(specialist_room)
        for page in (patient, specialist):
            expect(page.locator("#scheduled h2")).to_have_text(
                "The consultation opens at 14:55")
            expect(page.locator("form#send")).to_have_count(0)
        referral = specialist.locator("details").filter(has_text="Referral summary")
        expect(referral).to_have_attribute("open", "")
        expect(referral.locator("p.text")).to_have_text(SUMMARY)
        expect(specialist.get_by_text(
            f"Specialist consultation, booked by Dr {DOCTOR}, on-duty doctor for {WHEN}.")
        ).to_be_visible()

        # A second before it opens both reload; the pages then reload themselves at
        # the opening time (the clock moves meanwhile) into the open room.
        clock.freeze(_at(MONDAY, 14, 54) + timedelta(seconds=59))
        for page in (patient, specialist):
            page.reload()
            expect(page.locator("#scheduled")).to_have_attribute("data-opens-in", "1")
        db.session.commit()
        assert db.session.get(Consultation, held.id).status == "scheduled"
        clock.freeze(_at(MONDAY, 14, 55))
        for page in (patient, specialist):
            expect(page.locator("form#send")).to_be_visible()
            expect(page.locator("#scheduled")).to_have_count(0)
            expect(page.locator("#connection")).to_have_text("Connected.")
        expect(specialist.locator("details").filter(has_text="Referral summary")
               .locator("p.text")).to_have_text(SUMMARY)

        # They chat, each way: Enter sends on the specialist's side, the button on the
        # phone.
        hello = "Good afternoon, I have read the referral. When does the pain start?"
        specialist.locator("textarea#body").fill(hello)
        specialist.locator("textarea#body").press("Enter")
        got = patient.locator("#messages li.message.from-doctor .body")
        expect(got).to_have_text([hello])
        answer = "After two flights of stairs, and it passes with rest."
        patient.locator("textarea#body").fill(answer)
        patient.get_by_role("button", name="Send").click()
        expect(specialist.locator("#messages li.message.from-patient .body")).to_have_text(
            [answer])
        expect(patient.locator("#messages li.message.mine .body")).to_have_text([answer])
        expect(specialist.locator("#messages li.message.mine .body")).to_have_text([hello])

    db.session.commit()
    assert db.session.get(Consultation, held.id).status == "active"
    met = db.session.get(Appointment, appointment.id)
    assert met.patient_joined_at is not None and met.specialist_joined_at is not None
    assert not [e for e in people["errors"] if "favicon" not in e], people["errors"]
