"""Consultations over HTTP: coverage at the start (Almaty calendar), self-pay, the queue
and its order, pediatric routing, atomic take, closing with a conclusion, history,
the doctor's audited look at earlier consultations, the operator's figures."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from accounts.audit import AuditEntry
from consult.duty.chat import send_message
from consult.errors import ConsultRefused
from consult.line import wait_info
from consult.models import ChatMessage, Consultation
from core import clock
from core.crypto import encrypt
from core.extensions import db
from tests.fixtures.accounts import PASSWORD, code_for, sign_in
from tests.fixtures.activation import ADULT_IIN_2, CHILD_IIN
from tests.fixtures.consult import ACTIVATED, NO_RED_FLAGS_FORM, request_body
from tests.fixtures.servers import LiveServer

pytestmark = pytest.mark.usefixtures("english_and_relaxed_limits")


def doctor_client(app, doctor):
    c = app.test_client()
    c.set_cookie("lang", "en")
    sign_in(c, doctor)
    return c


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- coverage at the start -------------------------------------------------------------

def test_day_15_at_2359_almaty_is_self_pay_and_day_16_at_midnight_is_covered(client, patient):
    user, insured = patient
    # Activated on 10 March: day 15 is 24 March, coverage starts on 25 March (Almaty).
    clock.freeze(datetime(2026, 3, 24, 23, 59, tzinfo=clock.zone()))
    sign_in(client, user)
    r = client.post("/api/v1/consultations", json=request_body(insured,
                                                               confirm_self_pay=False))
    assert r.status_code == 402
    assert r.json["price"] == 5000 and r.json["currency"] == "KZT"
    assert r.json["waiting_until"] == "2026-03-24"
    assert "confirm_self_pay" in r.json["errors"]
    assert count(Consultation) == 0

    clock.freeze(datetime(2026, 3, 25, 0, 0, tzinfo=clock.zone()))  # 19:00 UTC on 24 March
    r = client.post("/api/v1/consultations", json=request_body(insured,
                                                               confirm_self_pay=False))
    assert r.status_code == 201, r.json
    assert r.json["coverage"] == "covered" and r.json["price"] == 0
    assert r.json["payment_status"] == "not_required"


def test_self_pay_with_confirmation_is_charged_and_stored(client, patient):
    user, insured = patient
    r = client.post("/api/v1/consultations", json=request_body(insured))
    assert r.status_code == 201
    c = db.session.get(Consultation, r.json["id"])
    assert (c.coverage, c.price_amount, c.currency, c.payment_status) == (
        "self_pay", 5000, "KZT", "paid")
    assert c.payment_reference.startswith("sandbox-")
    assert r.json["wait"]["position"] == 1


class DecliningProvider:
    """A card that is always declined."""

    def charge(self, charge):
        from consult.payments import DECLINED, Outcome

        return Outcome(DECLINED, "declined-1")

    def refund(self, provider_reference, amount, currency):  # pragma: no cover
        raise AssertionError("nothing to refund")


def test_a_declined_payment_stores_no_consultation(app, client, patient):
    app.config["PAYMENT_PROVIDER"] = "tests.consult.duty.test_consult:DecliningProvider"
    r = client.post("/api/v1/consultations", json=request_body(patient[1]))
    assert r.status_code == 402 and "did not go through" in r.json["detail"]
    assert count(Consultation) == 0


def test_cancel_while_waiting_refunds_a_self_pay_consultation(client, patient):
    _user, insured = patient
    cid = client.post("/api/v1/consultations", json=request_body(insured)).json["id"]
    r = client.post(f"/consult/{cid}/cancel")
    assert r.status_code == 302
    c = db.session.get(Consultation, cid)
    assert (c.status, c.payment_status) == ("cancelled", "refunded")


def test_expired_policy_gets_a_clear_refusal_and_nothing_is_stored(client, patient):
    user, insured = patient
    clock.freeze(datetime(2027, 3, 26, 12, 0, tzinfo=clock.zone()))  # after 24 March 2027
    sign_in(client, user)
    r = client.post("/api/v1/consultations", json=request_body(insured))
    assert r.status_code == 422
    assert "no active policy" in r.json["detail"]
    assert count(Consultation) == 0
    page = client.get("/consult/new")
    assert "Activate a new policy" in page.get_data(as_text=True)


def test_the_last_covered_day_is_still_covered(client, patient):
    user, insured = patient
    clock.freeze(datetime(2027, 3, 24, 23, 59, tzinfo=clock.zone()))
    sign_in(client, user)
    r = client.post("/api/v1/consultations", json=request_body(insured))
    assert r.status_code == 201 and r.json["coverage"] == "covered"


def test_bad_fields_are_all_reported_and_nothing_changes(client, patient):
    r = client.post("/api/v1/consultations",
                    json={"insured_id": "x", "complaint": " ", "channel": "fax"})
    assert r.status_code == 422
    assert {"complaint", "channel", "red_flags.chest_pain"} <= set(r.json["errors"])
    r = client.post("/api/v1/consultations",
                    json=request_body(patient[1], insured_id=99999, complaint="a"))
    assert r.status_code == 422 and "insured_id" in r.json["errors"]
    r = client.post("/api/v1/consultations", json=request_body(
        patient[1], complaint="ok\u202etxt.exe"))
    assert r.status_code == 422 and "complaint" in r.json["errors"]
    assert client.post("/api/v1/consultations", data="[]").status_code == 400
    assert count(Consultation) == 0


def test_another_accounts_person_cannot_be_chosen(app, client, patient, activated_patient):
    other = app.test_client()
    _u2, insured2 = activated_patient(other, iin=ADULT_IIN_2)
    r = client.post("/api/v1/consultations", json=request_body(insured2))
    assert r.status_code == 422 and "insured_id" in r.json["errors"]


def test_one_open_consultation_per_person(client, patient):
    _user, insured = patient
    assert client.post("/api/v1/consultations", json=request_body(insured)).status_code == 201
    r = client.post("/api/v1/consultations", json=request_body(insured))
    assert r.status_code == 409
    assert count(Consultation) == 1


def test_the_request_form_asks_for_the_self_pay_agreement(client, patient):
    _user, insured = patient
    page = client.get("/consult/new").get_data(as_text=True)
    assert "Self-pay: waiting period until March 24, 2026" in page
    r = client.post("/consult/new", data={"insured_id": str(insured.id),
                                          "complaint": "Cough", "channel": "audio",
                                          **NO_RED_FLAGS_FORM})
    assert r.status_code == 422
    assert "costs 5" in r.get_data(as_text=True)
    assert count(Consultation) == 0
    r = client.post("/consult/new", data={"insured_id": str(insured.id), "complaint": "Cough",
                                          "channel": "audio", "confirm_self_pay": "y",
                                          **NO_RED_FLAGS_FORM})
    assert r.status_code == 302
    c = db.session.scalar(select(Consultation))
    assert r.headers["Location"].endswith(f"/consult/{c.id}")
    assert (c.channel, c.complaint, c.language) == ("audio", "Cough", "en")


# --- the queue -------------------------------------------------------------------------

def test_queue_lists_waiting_patients_oldest_first_with_their_particulars(app, no_csrf,
                                                                          activated_patient,
                                                                          on_shift_doctor):
    clock.freeze(ACTIVATED + timedelta(days=20))
    ids = []
    for n, iin in enumerate(("871008401427", "760212350620", "900101300017")):
        c = app.test_client()
        c.set_cookie("lang", "kk")
        _u, insured = activated_patient(c, iin=iin)
        sign_in(c, _u)
        ids.append(c.post("/api/v1/consultations",
                          json=request_body(insured, complaint=f"complaint {n}")).json["id"])
        clock.shift(timedelta(minutes=5))
    doctor = on_shift_doctor()
    d = doctor_client(app, doctor)
    items = d.get("/api/v1/queue").json["items"]
    assert [i["id"] for i in items] == ids
    assert items[0]["complaint"] == "complaint 0"
    assert items[0]["waiting_seconds"] == 15 * 60
    assert items[0]["age"] == 38 and items[0]["language"] == "kk"
    assert [wait_info(db.session.get(Consultation, i))["position"] for i in ids] == [
        1, 2, 3]
    page = d.get("/consult/desk").get_data(as_text=True)
    assert page.index("complaint 0") < page.index("complaint 1") < page.index("complaint 2")


def test_a_doctor_off_shift_sees_no_queue_and_cannot_take(app, client, patient, make_user):
    _user, insured = patient
    cid = client.post("/api/v1/consultations", json=request_body(insured)).json["id"]
    doctor = make_user("doctor", on_duty_doctor=True)
    d = doctor_client(app, doctor)
    assert d.get("/api/v1/queue").json == {"on_shift": False, "items": []}
    assert d.post(f"/api/v1/consultations/{cid}/take").status_code == 409
    assert d.post("/consult/shift", data={"action": "start"}).status_code == 302
    assert d.post(f"/api/v1/consultations/{cid}/take").status_code == 200


def test_waiting_patient_is_told_when_no_doctor_is_on_duty(client, patient):
    _user, insured = patient
    cid = client.post("/api/v1/consultations", json=request_body(insured)).json["id"]
    page = client.get(f"/consult/{cid}").get_data(as_text=True)
    assert "No doctor is on duty right now" in page
    assert "Your place in line: 1" in page


def test_estimated_wait_comes_from_recent_take_ups(app, no_csrf, activated_patient,
                                                   on_shift_doctor):
    clock.freeze(ACTIVATED + timedelta(days=20))
    doctor = on_shift_doctor()
    d = doctor_client(app, doctor)
    patients = []
    for iin in ("871008401427", "760212350620", "900101300017"):
        c = app.test_client()
        u, insured = activated_patient(c, iin=iin)
        sign_in(c, u)
        patients.append((c, insured))
    c0, i0 = patients[0]
    first = c0.post("/api/v1/consultations", json=request_body(i0)).json["id"]
    clock.shift(timedelta(minutes=6))
    assert d.post(f"/api/v1/consultations/{first}/take").status_code == 200
    c1, i1 = patients[1]
    c2, i2 = patients[2]
    c1.post("/api/v1/consultations", json=request_body(i1))
    second = c2.post("/api/v1/consultations", json=request_body(i2)).json["id"]
    info = wait_info(db.session.get(Consultation, second))
    assert info["position"] == 2
    assert info["eta_minutes"] == 12  # one recent take-up after 6 min: 6 × place 2
    assert info["doctors_on_shift"] == 1


# --- pediatric routing and taking ------------------------------------------------------

def test_child_consultations_go_only_to_pediatric_doctors(app, client, no_csrf, activated_patient,
                                                          on_shift_doctor):
    clock.freeze(ACTIVATED + timedelta(days=20))
    user, insured = activated_patient(client, iin=CHILD_IIN, product="child_doctor")
    sign_in(client, user)
    cid = client.post("/api/v1/consultations", json=request_body(insured)).json["id"]
    adult_doctor = doctor_client(app, on_shift_doctor(pediatric=False))
    assert adult_doctor.get("/api/v1/queue").json["items"] == []
    assert adult_doctor.post(f"/api/v1/consultations/{cid}/take").status_code == 409
    assert "No doctor is on duty" in client.get(f"/consult/{cid}").get_data(as_text=True)
    pediatrician = doctor_client(app, on_shift_doctor(pediatric=True))
    assert [i["id"] for i in pediatrician.get("/api/v1/queue").json["items"]] == [cid]
    assert pediatrician.post(f"/api/v1/consultations/{cid}/take").status_code == 200


def test_pediatric_doctors_also_see_adults(app, client, patient, on_shift_doctor):
    _user, insured = patient
    cid = client.post("/api/v1/consultations", json=request_body(insured)).json["id"]
    pediatrician = doctor_client(app, on_shift_doctor(pediatric=True))
    assert [i["id"] for i in pediatrician.get("/api/v1/queue").json["items"]] == [cid]


def _session_for(server, user):
    s = requests.Session()
    r = s.post(f"{server.url}/login", data={"email": user.email, "password": PASSWORD},
               allow_redirects=False)
    assert r.status_code == 302, r.status_code
    if user.totp_enabled:
        r = s.post(f"{server.url}/login/code", data={"code": code_for(user)},
                   allow_redirects=False)
        assert r.status_code == 302
    return s


def test_two_doctors_taking_one_patient_at_once_one_wins(app, client, patient, on_shift_doctor):
    _user, insured = patient
    cid = client.post("/api/v1/consultations", json=request_body(insured)).json["id"]
    doctors = [on_shift_doctor(email=f"d{n}@clinic.kz") for n in range(4)]
    with LiveServer(app) as server:
        sessions = [_session_for(server, d) for d in doctors]
        barrier = threading.Barrier(len(sessions))
        results: list[int] = []

        def take(s):
            barrier.wait()
            results.append(s.post(f"{server.url}/api/v1/consultations/{cid}/take").status_code)

        threads = [threading.Thread(target=take, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(results) == [200, 409, 409, 409]
    db.session.commit()  # a fresh snapshot
    c = db.session.get(Consultation, cid)
    assert c.status == "active" and c.doctor_id in {d.id for d in doctors}


def test_concurrent_requests_for_one_person_make_one_consultation(app, client, patient):
    user, insured = patient
    body = request_body(insured)
    with LiveServer(app) as server:
        sessions = [_session_for(server, user) for _ in range(5)]
        barrier = threading.Barrier(len(sessions))
        results: list[int] = []

        def ask(s):
            barrier.wait()
            results.append(s.post(f"{server.url}/api/v1/consultations",
                                  json=body).status_code)

        threads = [threading.Thread(target=ask, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(results) == [201, 409, 409, 409, 409]
    db.session.commit()  # a fresh snapshot
    assert count(Consultation) == 1


def test_a_doctor_holds_at_most_the_configured_number_of_chats(app, no_csrf, activated_patient,
                                                               on_shift_doctor):
    app.config["CONSULT_MAX_CHATS_PER_DOCTOR"] = 2
    clock.freeze(ACTIVATED + timedelta(days=20))
    ids = []
    for iin in ("871008401427", "760212350620", "900101300017"):
        c = app.test_client()
        u, insured = activated_patient(c, iin=iin)
        sign_in(c, u)
        ids.append(c.post("/api/v1/consultations", json=request_body(insured)).json["id"])
    d = doctor_client(app, on_shift_doctor())
    assert [d.post(f"/api/v1/consultations/{i}/take").status_code for i in ids] == [
        200, 200, 409]
    r = d.post(f"/consult/{ids[2]}/take")
    assert r.status_code == 302 and r.headers["Location"].endswith("/consult/desk")


# --- closing, history, earlier consultations -------------------------------------------

def _taken(app, client, insured, on_shift_doctor, doctor=None, d=None):
    """A consultation of ``insured`` taken by ``doctor`` (signed in on client ``d``)."""
    cid = client.post("/api/v1/consultations", json=request_body(insured)).json["id"]
    doctor = doctor or on_shift_doctor()
    d = d or doctor_client(app, doctor)
    r = d.post(f"/consult/{cid}/take")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/consult/{cid}"), (
        d.get("/consult/desk").get_data(as_text=True))
    return cid, doctor, d


CONCLUSION = {"complaint": "Headache", "assessment": "Tension headache",
              "recommendations": "Rest, water, ibuprofen 400 mg if needed",
              "notes": "<script>alert(1)</script>"}


def test_closing_needs_a_conclusion_and_the_patient_sees_it(app, client, patient, on_shift_doctor):
    _user, insured = patient
    cid, doctor, d = _taken(app, client, insured, on_shift_doctor)
    r = d.post(f"/consult/{cid}/close", data={**CONCLUSION, "assessment": " "})
    assert r.status_code == 422
    assert db.session.get(Consultation, cid).status == "active"
    assert d.post(f"/consult/{cid}/close", data=CONCLUSION).status_code == 302
    c = db.session.get(Consultation, cid)
    assert c.status == "closed" and c.conclusion()["assessment"] == "Tension headache"
    assert b"Tension headache" not in (c.conclusion_assessment or "").encode()  # encrypted
    history = client.get("/consult/history").get_data(as_text=True)
    assert "Tension headache" in history and "Dr House" in history
    room = client.get(f"/consult/{cid}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in room and "<script>alert" not in room
    assert 'id="send"' not in room and "read-only" in room
    with pytest.raises(ConsultRefused) as exc:
        send_message(doctor.id, cid, "resend-after-close", "hello")
    assert exc.value.status == 409
    assert d.post(f"/consult/{cid}/close", data=CONCLUSION).status_code == 302  # flashed


def test_history_has_no_limit_and_pages_by_id(app, client, patient):
    user, insured = patient
    aid = _activation_id(insured)
    for n in range(45):
        db.session.add(Consultation(
            patient_id=user.id, insured_id=insured.id, activation_id=aid,
            product="personal_doctor", channel="chat", language="en",
            complaint_encrypted=encrypt(f"c{n}"), status="cancelled", coverage="covered",
            payment_status="not_required", requested_at=clock.now() + timedelta(minutes=n)))
    db.session.commit()
    seen, url = 0, "/consult/history"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += page.count('class="card consultation')
        marker = 'href="/consult/history?before='
        url = None
        if marker in page:
            start = page.index(marker) + len('href="')
            url = page[start:page.index('"', start)].replace("&amp;", "&")
    assert seen == 45
    api = client.get("/api/v1/consultations").json
    assert len(api["items"]) == 45 and api["next_before"] is None


def _activation_id(insured) -> int:
    from activation.models import Activation

    return db.session.scalar(select(Activation.id).where(Activation.insured_id == insured.id))


def test_the_doctor_sees_earlier_consultations_and_each_view_is_audited(app, client, patient,
                                                                        on_shift_doctor):
    _user, insured = patient
    cid, doctor, d = _taken(app, client, insured, on_shift_doctor)
    d.post(f"/consult/{cid}/close", data=CONCLUSION)
    cid2, _doc, _d = _taken(app, client, insured, on_shift_doctor, doctor, d)
    page = d.get(f"/consult/{cid2}/patient-history").get_data(as_text=True)
    assert "Tension headache" in page, page[page.find("<main"):]
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "consultation.history_viewed"))
    assert entry.actor_id == doctor.id and entry.subject == f"insured:{insured.id}"
    other = doctor_client(app, on_shift_doctor(email="other@clinic.kz"))
    assert other.get(f"/consult/{cid2}/patient-history").status_code == 404
    assert other.get(f"/consult/{cid2}").status_code == 404


def test_other_patients_get_404_for_a_consultation(app, client, patient, activated_patient):
    _user, insured = patient
    cid = client.post("/api/v1/consultations", json=request_body(insured)).json["id"]
    other = app.test_client()
    other.set_cookie("lang", "en")
    u2, _i2 = activated_patient(other, iin=ADULT_IIN_2)
    sign_in(other, u2)
    assert other.get(f"/consult/{cid}").status_code == 404
    assert other.get(f"/api/v1/consultations/{cid}").status_code == 404
    assert other.get(f"/api/v1/consultations/{cid}/messages").status_code == 404
    assert other.post(f"/consult/{cid}/cancel").status_code == 404


# --- the operator ----------------------------------------------------------------------

def test_operator_figures_median_and_p90_of_the_last_24_hours(app, client, patient, make_user):
    user, insured = patient
    now = clock.now()
    aid = _activation_id(insured)
    waits = [60, 120, 180, 240, 300, 360, 420, 480, 540, 600]
    for w in waits:
        db.session.add(Consultation(
            patient_id=user.id, insured_id=insured.id, activation_id=aid,
            product="personal_doctor", channel="chat", language="en",
            complaint_encrypted="x", status="closed", coverage="covered",
            payment_status="not_required", requested_at=now - timedelta(hours=1, seconds=w),
            taken_at=now - timedelta(hours=1)))
    db.session.add(Consultation(  # taken 25 hours ago: outside the window
        patient_id=user.id, insured_id=insured.id, activation_id=aid, product="personal_doctor",
        channel="chat", language="en", complaint_encrypted="x", status="closed",
        coverage="covered", payment_status="not_required",
        requested_at=now - timedelta(hours=27), taken_at=now - timedelta(hours=25)))
    db.session.commit()
    client.post("/api/v1/consultations", json=request_body(insured))
    clock.shift(timedelta(minutes=3))
    operator = app.test_client()
    operator.set_cookie("lang", "en")
    sign_in(operator, make_user("operator"))
    stats = operator.get("/api/v1/operator/stats").json
    assert stats["queue_length"] == 1 and stats["longest_wait_seconds"] == 180
    assert stats["taken_last_24h"] == 10
    assert stats["median_wait_seconds"] == 330 and stats["p90_wait_seconds"] == 546
    assert stats["in_progress"] == 0 and stats["doctors_on_shift"] == 0
    assert "Patients waiting" in operator.get("/consult/operator").get_data(as_text=True)


def test_messages_are_stored_encrypted(app, client, patient, on_shift_doctor):
    _user, insured = patient
    cid, doctor, _d = _taken(app, client, insured, on_shift_doctor)
    message = send_message(doctor.id, cid, "abcdefgh-1", "Take paracetamol")
    db.session.commit()
    stored = db.session.scalar(select(ChatMessage))
    assert "paracetamol" not in stored.body_encrypted and stored.body == "Take paracetamol"
    assert message["id"] == stored.id and message["from"] == "doctor"
