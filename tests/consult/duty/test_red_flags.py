"""Emergencies before the queue (issue 13): the always-visible emergency line, the
red-flag checklist on the request form and in the API, the emergency advice with its
"continue to a doctor anyway", the queue showing red flags first and marked, and the
doctor seeing the answers in the room. Also the pages around the queue: one clear
refusal for a second open consultation, the account page's "you are in line" line,
and the activation confirmation's next step."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from consult.duty import queue as duty_queue
from consult.duty import redflags
from consult.line import wait_info
from consult.models import Consultation
from core import clock
from core.extensions import db
from tests.fixtures.accounts import sign_in
from tests.fixtures.activation import ADULT_IIN_2, iin_for
from tests.fixtures.consult import ACTIVATED, NO_RED_FLAGS_FORM, request_body

NO_RED_FLAGS_API = {name.removeprefix("flag_"): False for name in NO_RED_FLAGS_FORM}


pytestmark = pytest.mark.usefixtures("english_and_relaxed_limits")


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Consultation))


def form(insured, **changes) -> dict[str, str]:
    data = {"insured_id": str(insured.id), "complaint": "Pressing pain behind the sternum",
            "channel": "chat", "confirm_self_pay": "y", **NO_RED_FLAGS_FORM}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def doctor_client(app, doctor):
    c = app.test_client()
    c.set_cookie("lang", "en")
    sign_in(c, doctor)
    return c


# --- the emergency line ----------------------------------------------------------------

def test_request_form_and_waiting_room_show_the_emergency_line_with_call_links(
        client, patient):
    page = client.get("/consult/new").get_data(as_text=True)
    assert 'class="emergency-line"' in page
    assert 'href="tel:103"' in page and 'href="tel:112"' in page
    client.post("/consult/new", data=form(patient[1]))
    room = client.get(f"/consult/{db.session.scalar(select(Consultation.id))}")
    html = room.get_data(as_text=True)
    assert 'id="waiting"' in html and 'class="emergency-line"' in html
    assert 'href="tel:103"' in html


def test_emergency_numbers_come_from_configuration(app, client, patient):
    app.config["EMERGENCY_NUMBERS"] = "101, 8 800 080 0103"
    page = client.get("/consult/new").get_data(as_text=True)
    assert 'href="tel:101"' in page and 'href="tel:88000800103"' in page
    assert 'href="tel:112"' not in page


# --- the checklist on the form ---------------------------------------------------------

def test_a_missing_answer_is_named_and_nothing_is_stored(client, patient):
    r = client.post("/consult/new", data=form(patient[1], flag_seizures=None))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="flag_seizures-error"' in html and "Please answer yes or no." in html
    assert html.count("Please answer yes or no.") == 1
    assert 'id="flag_chest_pain-no" value="no" checked' in html  # the answers are kept
    assert count() == 0


def test_any_yes_shows_the_emergency_advice_and_stores_nothing(client, patient):
    r = client.post("/consult/new", data=form(patient[1], flag_breathing="yes"))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Call emergency services now" in html
    assert 'href="tel:103"' in html and "Call 103" in html and "Call 112" in html
    assert "Trouble breathing" in html
    assert "Continue to a doctor anyway" in html
    assert 'name="continue_anyway" value="breathing"' in html  # the signs it advised on
    assert count() == 0


def test_a_new_yes_after_continuing_shows_the_advice_again(client, patient):
    """Continuing after advice about breathing does not cover chest pain answered later."""
    r = client.post("/consult/new", data=form(patient[1], flag_breathing="yes",
                                              flag_chest_pain="yes",
                                              continue_anyway="breathing"))
    assert r.status_code == 200 and "Call emergency services now" in r.get_data(as_text=True)
    assert count() == 0


def test_an_emergency_screen_is_not_shown_when_the_request_cannot_go_ahead(client, patient):
    """A person with a consultation already open is told that, not advised to go on."""
    assert client.post("/consult/new", data=form(patient[1])).status_code == 302
    r = client.post("/consult/new", data=form(patient[1], flag_breathing="yes"))
    assert r.status_code == 409
    assert "Continue to a doctor anyway" not in r.get_data(as_text=True)


def test_continuing_anyway_joins_the_queue_with_answers_and_choice_stored(client, patient):
    r = client.post("/consult/new", data=form(patient[1], flag_breathing="yes",
                                              flag_self_harm="yes",
                                              continue_anyway="breathing,self_harm"))
    assert r.status_code == 302
    c = db.session.scalar(select(Consultation))
    assert c.red_flag is True
    assert c.red_flags["choice"] == "continue_anyway"
    assert c.red_flags["answers"]["breathing"] is True
    assert c.red_flags["answers"]["self_harm"] is True
    assert c.red_flags["answers"]["chest_pain"] is False
    assert "infant_fever" not in c.red_flags["answers"]  # not asked of an adult
    assert "breathing" not in (c.red_flags_encrypted or "")  # encrypted at rest


def test_all_no_goes_straight_to_the_queue(client, patient):
    r = client.post("/consult/new", data=form(patient[1]))
    assert r.status_code == 302 and "/consult/" in r.headers["Location"]
    c = db.session.scalar(select(Consultation))
    assert c.red_flag is False
    assert c.red_flags == {"answers": dict.fromkeys(NO_RED_FLAGS_API, False), "choice": None}


def test_the_fever_question_is_asked_only_for_a_child_under_3_months(app, client, no_csrf,
                                                                     activated_patient):
    clock.freeze(ACTIVATED)
    baby = iin_for(date(2026, 1, 20))  # seven weeks old on 10 March 2026
    user, insured = activated_patient(client, iin=baby, product="child_doctor",
                                      name="Сейткали Айсулу")
    sign_in(client, user)
    page = client.get("/consult/new").get_data(as_text=True)
    assert 'name="flag_infant_fever"' in page
    assert "Asked only for a child under 3 months: Сейткали Айсулу" in page
    r = client.post("/consult/new", data=form(insured))
    assert r.status_code == 422
    assert 'id="flag_infant_fever-error"' in r.get_data(as_text=True)
    assert count() == 0
    r = client.post("/consult/new", data=form(insured, flag_infant_fever="yes"))
    assert "Call emergency services now" in r.get_data(as_text=True)
    assert count() == 0

    older = app.test_client()
    older.set_cookie("lang", "en")
    user2, _ = activated_patient(older, iin=iin_for(date(2025, 11, 1)),
                                 product="child_doctor", name="Сейткали Нұрлан")
    sign_in(older, user2)
    assert 'name="flag_infant_fever"' not in older.get("/consult/new").get_data(as_text=True)


def test_three_months_is_counted_in_calendar_months():
    assert redflags.is_infant(date(2026, 1, 31), date(2026, 4, 29))
    assert not redflags.is_infant(date(2026, 1, 31), date(2026, 4, 30))
    assert redflags.is_infant(date(2025, 11, 30), date(2026, 2, 27))
    assert not redflags.is_infant(date(2025, 11, 30), date(2026, 2, 28))
    assert not redflags.is_infant(None, date(2026, 1, 1))


# --- the checklist over the API --------------------------------------------------------

@pytest.mark.parametrize("red_flags", [
    {**NO_RED_FLAGS_API, "headache": False},  # an unknown sign
    {**NO_RED_FLAGS_API, "chest_pain": "no"},  # not a boolean
    {**NO_RED_FLAGS_API, "seizures": 1},  # not a boolean either
    {k: v for k, v in NO_RED_FLAGS_API.items() if k != "stroke"},  # one left out
    ["chest_pain"],  # not an object
])
def test_api_refuses_a_malformed_checklist_and_stores_nothing(client, patient, red_flags):
    r = client.post("/api/v1/consultations",
                    json=request_body(patient[1], red_flags=red_flags))
    assert r.status_code == 422
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert any(k.startswith("red_flags") for k in r.json["errors"])
    assert count() == 0


def test_api_yes_needs_continue_anyway_and_names_the_emergency_numbers(client, patient):
    body = request_body(patient[1], red_flags={**NO_RED_FLAGS_API, "chest_pain": True})
    r = client.post("/api/v1/consultations", json=body)
    assert r.status_code == 422
    assert "103" in r.json["detail"] and "112" in r.json["detail"]
    assert r.json["emergency_numbers"] == ["103", "112"]
    assert r.json["red_flags"] == ["chest_pain"]
    assert count() == 0
    r = client.post("/api/v1/consultations", json={**body, "continue_anyway": True})
    assert r.status_code == 201, r.json
    c = db.session.get(Consultation, r.json["id"])
    assert c.red_flag and c.red_flags["choice"] == "continue_anyway"


def test_api_without_a_checklist_is_refused_and_nothing_is_stored(client, patient):
    body = request_body(patient[1])
    del body["red_flags"]
    r = client.post("/api/v1/consultations", json=body)
    assert r.status_code == 422
    assert r.json["errors"]["red_flags.chest_pain"] == ["Please answer yes or no."]
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 0


# --- the queue and the room ------------------------------------------------------------

def test_the_queue_lists_red_flags_first_and_marks_them(app, client, patient, activated_patient,
                                                        on_shift_doctor):
    calm_user, calm = patient
    assert client.post("/api/v1/consultations", json=request_body(
        calm, red_flags=NO_RED_FLAGS_API)).status_code == 201
    clock.freeze(ACTIVATED + timedelta(minutes=5))
    other = app.test_client()
    other.set_cookie("lang", "en")
    user2, urgent = activated_patient(other, iin=ADULT_IIN_2)
    sign_in(other, user2)
    r = other.post("/api/v1/consultations", json=request_body(
        urgent, complaint="Cannot breathe well", continue_anyway=True,
        red_flags={**NO_RED_FLAGS_API, "breathing": True}))
    assert r.status_code == 201
    urgent_id = r.json["id"]

    doctor = on_shift_doctor()
    assert [c.id for c in duty_queue.queue(doctor)][0] == urgent_id
    d = doctor_client(app, doctor)
    items = d.get("/api/v1/queue").json["items"]
    assert [i["red_flag"] for i in items] == [True, False]
    assert items[0]["id"] == urgent_id and items[0]["red_flag_signs"] == ["Trouble breathing"]
    desk = d.get("/consult/desk").get_data(as_text=True)
    assert desk.index("Cannot breathe well") < desk.index("Headache since yesterday")
    assert '<span class="badge red-flag">Red flag</span> Trouble breathing' in desk
    # The waiting patients' places follow the same order.
    assert wait_info(db.session.get(Consultation, urgent_id))["position"] == 1

    assert d.post(f"/consult/{urgent_id}/take").status_code == 302
    room = d.get(f"/consult/{urgent_id}").get_data(as_text=True)
    assert 'id="red-flags"' in room and "Trouble breathing" in room
    assert "chose to continue to a doctor anyway" in room
    patient_room = other.get(f"/consult/{urgent_id}").get_data(as_text=True)
    assert 'id="red-flags"' not in patient_room


# --- one clear refusal, the account page, the activation's next step -------------------

def test_a_second_request_gets_one_message_with_a_link_to_the_open_one(client, patient):
    _user, insured = patient
    assert client.post("/consult/new", data=form(insured)).status_code == 302
    open_id = db.session.scalar(select(Consultation.id))
    r = client.post("/consult/new", data=form(insured))
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert html.count("already has a consultation in progress") == 1
    assert f'href="/consult/{open_id}"' in html
    assert "flash" not in html.split('id="refusal"')[0].split("<main")[-1]
    api = client.post("/api/v1/consultations", json=request_body(insured))
    assert api.status_code == 409
    assert api.json["consultation"] == open_id
    assert api.json["consultation_url"] == f"/api/v1/consultations/{open_id}"
    assert "errors" not in api.json
    assert count() == 1
    # Said before anything is filled in: opening the form again shows the link, no form.
    page = client.get("/consult/new").get_data(as_text=True)
    assert page.count("already has a consultation in progress") == 1
    assert f'href="/consult/{open_id}"' in page and 'id="request-form"' not in page


def test_the_account_page_says_the_place_in_line_then_who_the_doctor_is(app, client, patient,
                                                                        on_shift_doctor):
    user, insured = patient
    page = client.get("/account").get_data(as_text=True)
    assert "You are in line" not in page
    cid = client.post("/api/v1/consultations", json=request_body(insured)).json["id"]
    page = client.get("/account").get_data(as_text=True)
    assert "You are in line: place 1" in page
    assert f'href="/consult/{cid}"' in page
    doctor = on_shift_doctor(full_name="Әлия Сәрсенова")
    duty_queue.take(doctor, cid)
    db.session.commit()
    page = client.get("/account").get_data(as_text=True)
    assert "In consultation with Dr Әлия Сәрсенова" in page
    assert doctor.email not in page


def test_after_activation_the_next_step_is_to_check_the_email(client, frozen_clock, make_policy):
    from tests.fixtures.activation import activation_body

    policy = make_policy()
    client.post("/api/v1/activations", json=activation_body(policy))
    with client.session_transaction() as session:
        from activation.models import Activation

        session["activated"] = db.session.scalar(select(Activation.id))
        session["account_created"] = True
    html = client.get("/activate/done").get_data(as_text=True)
    assert "Next: check your email i***@mail.kz to set a password" in html
    assert 'class="button" href="/login"' not in html


def test_a_huge_person_id_with_a_checklist_is_a_clear_refusal(client, patient):
    r = client.post("/api/v1/consultations", json=request_body(patient[1], insured_id=2**70))
    assert r.status_code == 422 and "insured_id" in r.json["errors"]
    assert count() == 0


def test_the_emergency_screen_names_the_amount_continuing_would_charge(client, patient):
    """Money is never taken unseen: in the waiting period "continue anyway" pays."""
    r = client.post("/consult/new", data=form(patient[1], flag_breathing="yes"))
    page = " ".join(r.get_data(as_text=True).replace("\u00a0", " ").split())
    assert "Continue to a doctor anyway and pay 5 000 ₸" in page
    assert "waiting period lasts until" in page
    assert count() == 0
