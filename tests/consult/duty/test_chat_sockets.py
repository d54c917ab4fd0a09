"""The consultation chat over real Socket.IO clients on real sockets: authentication
by the session cookie, room authorisation, stored-before-sent, idempotent resend,
replay after a reconnect, typing and read marks, live queue updates, and rooms shared
by two server processes through Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
import requests
import socketio
from sqlalchemy import func, select

from consult import events
from consult.duty import queue as duty_queue
from consult.duty.closing import Conclusion, close
from consult.duty.requests import ConsultationRequest, request_consultation
from consult.duty.shifts import end_shift
from consult.models import ChatMessage
from core import clock
from core.extensions import db
from tests.fixtures.activation import ADULT_IIN_2
from tests.fixtures.app import REPO, fresh_database, make_app
from tests.fixtures.consult import COVERED, request_body
from tests.fixtures.servers import LiveServer, free_port
from tests.fixtures.sockets import Peer, login


def stored() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(ChatMessage))


def test_a_socket_without_a_session_is_refused(room):
    with pytest.raises(socketio.exceptions.ConnectionError):
        room["connect"](None)


def test_a_page_of_another_site_cannot_open_a_socket_with_the_cookie(room):
    cookie = login(room["server"].url, room["patient"])
    sio = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(room["server"].url, transports=["websocket"], wait_timeout=5,
                    headers={"Cookie": cookie, "Origin": "https://evil.example"})
    peer = Peer(room["server"].url, cookie)  # the same cookie from our own origin works
    assert peer.call("join", {"consultation": room["id"]})["ok"] is True
    peer.close()


def test_only_the_patient_and_doctor_can_join_or_write(app, room, activated_patient,
                                                       on_shift_doctor):
    stranger, _ = activated_patient(app.test_client(), iin=ADULT_IIN_2)
    other_doctor = on_shift_doctor()
    for user in (stranger, other_doctor):
        peer = room["connect"](user)
        ack = peer.call("join", {"consultation": room["id"]})
        assert ack["ok"] is False and ack["code"] == 404
        ack = peer.call("send", {"consultation": room["id"], "client_id": "intruder-1",
                                 "body": "hi"})
        assert ack["ok"] is False and ack["code"] == 404
        assert peer.call("typing", {"consultation": room["id"]})["code"] == 403
    assert stored() == 0
    patient = room["connect"](room["patient"])
    assert patient.call("join", {"consultation": room["id"]})["ok"] is True
    for bad in ({"consultation": "1 or 1=1"}, {"consultation": None}, {}):
        assert patient.call("join", bad)["ok"] is False


def test_a_message_is_stored_before_the_other_side_receives_it(room):
    patient = room["connect"](room["patient"])
    doctor = room["connect"](room["doctor"])
    assert patient.call("join", {"consultation": room["id"]})["side"] == "patient"
    assert doctor.call("join", {"consultation": room["id"]})["side"] == "doctor"
    ack = patient.call("send", {"consultation": room["id"], "client_id": "m-0001-abcd",
                                "body": "<img src=x onerror=alert(1)> I cough at night"})
    assert ack["ok"] is True
    got = doctor.expect("message")
    assert stored() == 1  # in the database by the time it arrives
    assert got["id"] == ack["message"]["id"] and got["from"] == "patient"
    assert got["body"] == "<img src=x onerror=alert(1)> I cough at night"  # escaped on display
    patient.none("message")  # the sender has it in the acknowledgement ...
    other_tab = room["connect"](room["patient"])
    other_tab.call("join", {"consultation": room["id"]})
    ack = patient.call("send", {"consultation": room["id"], "client_id": "m-0002-abcd",
                                "body": "second"})
    assert other_tab.expect("message")["id"] == ack["message"]["id"]  # ... its other tabs
    patient.none("message")


def test_a_resend_with_the_same_client_id_is_stored_once(room):
    patient = room["connect"](room["patient"])
    patient.call("join", {"consultation": room["id"]})
    msg = {"consultation": room["id"], "client_id": "resend-0001", "body": "Hello"}
    first = patient.call("send", msg)["message"]
    second = patient.call("send", msg)["message"]
    assert first["id"] == second["id"] and stored() == 1


def test_after_a_reconnect_the_client_gets_exactly_what_it_missed(room):
    patient = room["connect"](room["patient"])
    doctor = room["connect"](room["doctor"])
    patient.call("join", {"consultation": room["id"]})
    doctor.call("join", {"consultation": room["id"]})
    first = patient.call("send", {"consultation": room["id"], "client_id": "before-0001",
                                  "body": "one"})["message"]
    assert doctor.expect("message")["id"] == first["id"]
    doctor.close()
    for n in range(3):
        patient.call("send", {"consultation": room["id"], "client_id": f"while-away-{n}",
                              "body": f"missed {n}"})
    doctor = room["connect"](room["doctor"])
    replay = doctor.call("join", {"consultation": room["id"], "after": first["id"]})["messages"]
    assert [m["body"] for m in replay] == ["missed 0", "missed 1", "missed 2"]
    everything = doctor.call("join", {"consultation": room["id"], "after": 0})["messages"]
    assert [m["body"] for m in everything] == ["one", "missed 0", "missed 1", "missed 2"]
    assert len({m["id"] for m in everything}) == 4


def test_typing_reaches_only_the_other_side(room):
    patient = room["connect"](room["patient"])
    doctor = room["connect"](room["doctor"])
    patient.call("join", {"consultation": room["id"]})
    doctor.call("join", {"consultation": room["id"]})
    assert patient.call("typing", {"consultation": room["id"]})["ok"] is True
    assert doctor.expect("typing") == {"consultation": room["id"], "from": "patient"}
    patient.none("typing")


def test_delivered_and_read_marks_move_forward_only(room):
    patient = room["connect"](room["patient"])
    doctor = room["connect"](room["doctor"])
    patient.call("join", {"consultation": room["id"]})
    doctor.call("join", {"consultation": room["id"]})
    mid = patient.call("send", {"consultation": room["id"], "client_id": "mark-0001",
                                "body": "x"})["message"]["id"]
    ack = doctor.call("receipt", {"consultation": room["id"], "kind": "delivered", "upto": mid})
    assert ack["marks"]["doctor_delivered"] == mid and ack["marks"]["doctor_read"] == 0
    assert patient.expect("receipt")["marks"]["doctor_delivered"] == mid
    ack = doctor.call("receipt", {"consultation": room["id"], "kind": "read", "upto": mid + 99})
    assert ack["marks"]["doctor_read"] == mid  # never past the newest message
    ack = doctor.call("receipt", {"consultation": room["id"], "kind": "read", "upto": 0})
    assert ack["marks"]["doctor_read"] == mid  # never back


def test_a_closed_consultation_is_read_only(room):
    close(room["doctor"], room["id"], Conclusion("a", "b", "c"))
    db.session.commit()
    patient = room["connect"](room["patient"])
    assert patient.call("join", {"consultation": room["id"]})["status"] == "closed"
    ack = patient.call("send", {"consultation": room["id"], "client_id": "late-0001",
                                "body": "one more thing"})
    assert ack["ok"] is False and ack["code"] == 409
    assert stored() == 0


def test_empty_oversized_and_control_character_messages_are_refused(room):
    patient = room["connect"](room["patient"])
    for n, body in enumerate(("   ", "x" * 4001, "bad\x00byte", None, 42)):
        ack = patient.call("send", {"consultation": room["id"], "client_id": f"bad-body-{n}",
                                    "body": body})
        assert ack["ok"] is False and ack["code"] == 422, body
    ack = patient.call("send", {"consultation": room["id"], "client_id": "x", "body": "hi"})
    assert ack["code"] == 400
    assert stored() == 0


def test_a_signed_out_session_stops_the_socket(room):
    patient = room["connect"](room["patient"])
    assert patient.call("join", {"consultation": room["id"]})["ok"] is True
    from accounts.models import UserSession

    # Chatting keeps the session alive: a re-check notes the activity.
    clock.shift(timedelta(minutes=40))
    for ident in events._identities.values():
        ident.checked_at = float("-inf")
    assert patient.call("send", {"consultation": room["id"], "client_id": "alive-0001",
                                 "body": "still here"})["ok"] is True
    db.session.commit()
    seen = db.session.scalar(select(UserSession.last_seen_at).where(
        UserSession.user_id == room["patient"].id).order_by(UserSession.last_seen_at.desc()))
    assert seen == clock.now()

    db.session.commit()  # end this thread's read snapshot before writing
    db.session.execute(UserSession.__table__.update().values(ended_at=clock.now()))
    db.session.commit()
    for ident in events._identities.values():
        ident.checked_at = float("-inf")  # the next event re-checks the session
    ack = patient.call("send", {"consultation": room["id"], "client_id": "after-out-1",
                                "body": "hi"})
    assert ack["ok"] is False and ack["code"] == 401
    assert stored() == 1  # only the message sent while signed in


def test_the_waiting_patient_sees_the_line_move_and_the_doctor_take_them(app, client, no_csrf,
                                                                         activated_patient,
                                                                         on_shift_doctor):
    app.config.update(RATELIMIT_LOGIN_ACCOUNT_IP="1000 per minute",
                      RATELIMIT_SECOND_FACTOR="1000 per minute")
    clock.freeze(COVERED - timedelta(days=20))
    first, first_insured = activated_patient(client)
    second, second_insured = activated_patient(app.test_client(), iin=ADULT_IIN_2)
    clock.freeze(COVERED)
    doctor = on_shift_doctor()
    a = request_consultation(first, ConsultationRequest(
        first_insured.id, "Cough", "chat"), "ru")
    db.session.commit()
    with LiveServer(app) as server:
        doctor_cookie, second_cookie = login(server.url, doctor), login(server.url, second)
        desk = Peer(server.url, doctor_cookie)
        waiting = Peer(server.url, second_cookie)
        try:
            s = requests.Session()
            s.headers["Cookie"] = second_cookie + "; lang=en"  # this patient reads English
            r = s.post(f"{server.url}/api/v1/consultations", json=request_body(second_insured))
            assert r.status_code == 201
            b = r.json()["id"]
            alert = desk.expect("queue")
            assert alert["kind"] == "joined" and alert["length"] == 2
            ack = waiting.call("join", {"consultation": b})
            assert ack["wait"]["position"] == 2 and ack["wait"]["doctors_on_shift"] == 1
            d = requests.Session()
            d.headers["Cookie"] = doctor_cookie
            assert d.post(f"{server.url}/api/v1/consultations/{a.id}/take").status_code == 200
            assert waiting.expect("position")["position"] == 1
            assert d.post(f"{server.url}/api/v1/consultations/{b}/take").status_code == 200
            status = waiting.expect("status")
            # Sent from the doctor's request, worded for the patient (in their language).
            assert status["status"] == "active" and status["doctor"] == "Dr House, on-duty doctor"
        finally:
            desk.close()
            waiting.close()


def test_a_doctor_starting_a_shift_is_news_for_the_waiting_patient(app, client, no_csrf,
                                                                   activated_patient,
                                                                   on_shift_doctor):
    app.config.update(RATELIMIT_SECOND_FACTOR="1000 per minute")
    clock.freeze(COVERED - timedelta(days=20))
    patient, insured = activated_patient(client)
    clock.freeze(COVERED)
    c = request_consultation(patient, ConsultationRequest(
        insured.id, "Cough", "chat"), "ru")
    db.session.commit()
    doctor = on_shift_doctor()
    end_shift(doctor)
    db.session.commit()
    with LiveServer(app) as server:
        waiting = Peer(server.url, login(server.url, patient))
        try:
            assert waiting.call("join", {"consultation": c.id})["wait"]["doctors_on_shift"] == 0
            d = requests.Session()
            d.headers["Cookie"] = login(server.url, doctor)
            r = d.post(f"{server.url}/consult/shift", data={"action": "start"},
                       allow_redirects=False)
            assert r.status_code == 302
            info = waiting.expect("position")
            assert info["doctors_on_shift"] == 1 and info["position"] == 1
        finally:
            waiting.close()


# --- two processes sharing rooms through Redis -----------------------------------------

@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_a_message_sent_through_one_process_reaches_a_client_of_the_other(tmp_path,
                                                                          activated_patient,
                                                                          on_shift_doctor):
    env_common = {
        **os.environ,
        "SECRET_KEY": "two-process-secret", "ACTIVATION_CODE_KEY": "two-process-code-key",
        "DATA_KEYS": "ZGVtby1kYXRhLWtleS1kby1ub3QtdXNlLWluLXByb2Q=",
        "DOCUMENT_KEYS": "k1:dHdvLXByb2Nlc3MtZG9jdW1lbnQta2V5LTMyLWJ5dGU",
        "SOCKETIO_CHANNEL": f"pd-test-{uuid.uuid4().hex[:8]}",
        "INSTANCE_PATH": str(tmp_path),
        "RATELIMIT_LOGIN_ACCOUNT_IP": "1000 per minute",
        "RATELIMIT_SECOND_FACTOR": "1000 per minute",
        "FLASK_APP": "wsgi",
    }
    with fresh_database(tmp_path, "pd_two") as url:
        env_common["DATABASE_URL"] = url
        servers, ports = [], [free_port(), free_port()]
        try:
            for port in ports:
                servers.append(subprocess.Popen(
                    [sys.executable, "-m", "flask", "serve", "--port", str(port)],
                    cwd=REPO, env=env_common, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE))
                _wait_up(f"http://127.0.0.1:{port}", servers[-1])
            app = make_app(url, SECRET_KEY=env_common["SECRET_KEY"],
                           ACTIVATION_CODE_KEY=env_common["ACTIVATION_CODE_KEY"],
                           DATA_KEYS=env_common["DATA_KEYS"])
            with app.app_context():
                clock.freeze(COVERED - timedelta(days=20))
                patient, insured = activated_patient(app.test_client())
                clock.reset()
                doctor = on_shift_doctor()
                c = request_consultation(patient, ConsultationRequest(
                    insured.id, "Cough", "chat"), "ru")
                duty_queue.take(doctor, c.id)
                db.session.commit()
                cid = c.id
                a, b = (f"http://127.0.0.1:{p}" for p in ports)
                on_a = Peer(a, login(a, patient))
                on_b = Peer(b, login(b, doctor))
                try:
                    on_a.call("join", {"consultation": cid})
                    on_b.call("join", {"consultation": cid})
                    ack = on_b.call("send", {"consultation": cid, "client_id": "cross-0001",
                                             "body": "from process B"})
                    assert ack["ok"] is True
                    got = on_a.expect("message")
                    assert got["body"] == "from process B" and got["id"] == ack["message"]["id"]
                    assert stored() == 1
                finally:
                    on_a.close()
                    on_b.close()
                db.session.remove()
                db.engine.dispose()
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(10)


def _wait_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
        try:
            if requests.get(f"{base}/api/v1/ping", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{base} did not start")

