"""Calls in the consultation over real Socket.IO clients: the call's life (ring,
answer, hang up) and its timeline events, signaling relayed only between the two
participants, one open call per consultation under a race, rejoining after a drop,
quality samples, and coturn's time-limited TURN credentials."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from consult.calls import services as calls
from consult.duty import closing
from consult.duty.closing import Conclusion
from consult.models import Call, CallQualitySample, ChatMessage, Consultation
from core import clock
from core.extensions import db
from tests.fixtures.activation import ADULT_IIN_2

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host",
             "sdpMid": "0", "sdpMLineIndex": 0}


def both(room):
    patient = room["connect"](room["patient"])
    doctor = room["connect"](room["doctor"])
    assert patient.call("join", {"consultation": room["id"]})["call"] is None
    doctor.call("join", {"consultation": room["id"]})
    return patient, doctor


def ring(room, caller, callee, kind="video"):
    """``caller`` starts a call that rings at ``callee`` (earlier events forgotten)."""
    caller.drain()
    callee.drain()
    ack = caller.call("call_start", {"consultation": room["id"], "kind": kind})
    assert ack["ok"] is True, ack
    assert ack["ice_servers"] == []  # none configured: host candidates only
    assert callee.expect("call")["status"] == "ringing"
    assert caller.expect("call")["status"] == "ringing"  # its other tabs hear it too
    assert caller.expect("message")["call"]["event"] == "started"
    return ack["call"]


def test_a_call_rings_is_answered_signaled_and_hung_up_with_its_events_in_the_chat(room):
    patient, doctor = both(room)
    call = ring(room, doctor, patient)
    assert call["caller"] == "doctor" and call["kind"] == "video"
    started = patient.expect("message")
    assert started["call"]["event"] == "started" and started["call"]["kind"] == "video"
    assert started["body"] == "" and started["from"] == "doctor"

    ack = patient.call("call_answer", {"call": call["id"], "accept": True})
    assert ack["ok"] is True and ack["call"]["status"] == "active"
    assert doctor.expect("call")["status"] == "active"

    assert doctor.call("call_signal", {"call": call["id"], "gen": "g1",
                                       "description": OFFER})["ok"] is True
    got = patient.expect("call_signal")
    assert got == {"call": call["id"], "from": "doctor", "gen": "g1", "description": OFFER}
    assert patient.call("call_signal", {"call": call["id"], "gen": "g1",
                                        "candidate": CANDIDATE})["ok"] is True
    assert doctor.expect("call_signal")["candidate"] == CANDIDATE
    doctor.none("call_signal", wait=0.2)  # the sender does not hear its own signals

    clock.freeze(clock.now() + timedelta(minutes=3, seconds=7))
    assert patient.call("call_end", {"call": call["id"]})["call"]["status"] == "ended"
    ended = doctor.expect("call")
    assert ended["status"] == "ended" and ended["duration"] == 187
    assert doctor.expect("message")["call"] == {"id": call["id"], "event": "ended",
                                                "kind": "video", "by": "patient",
                                                "duration": 187}
    db.session.commit()
    stored = db.session.get(Call, call["id"])
    assert (stored.status, stored.ended_by, stored.end_reason) == ("ended", "patient", "hang_up")
    events = [m.call_event["event"] for m in db.session.scalars(
        select(ChatMessage).where(ChatMessage.call_id == call["id"]).order_by(ChatMessage.id))]
    assert events == ["started", "ended"]
    # A reload shows the events in the transcript, in words.
    replay = patient.call("join", {"consultation": room["id"]})
    assert [m["call"]["event"] for m in replay["messages"]] == ["started", "ended"]
    assert replay["call"] is None


def test_declined_and_missed_calls(room):
    patient, doctor = both(room)
    call = ring(room, patient, doctor, "audio")
    assert patient.call("call_answer", {"call": call["id"], "accept": True})["code"] == 403
    assert doctor.call("call_answer", {"call": call["id"], "accept": False})["ok"] is True
    assert patient.expect("call")["status"] == "declined"
    assert patient.call("call_answer", {"call": call["id"], "accept": True})["code"] == 403
    assert doctor.call("call_answer", {"call": call["id"], "accept": True})["code"] == 409

    call = ring(room, patient, doctor, "audio")
    assert patient.call("call_end", {"call": call["id"]})["call"]["status"] == "missed"
    assert doctor.call("call_end", {"call": call["id"]})["code"] == 409

    call = ring(room, patient, doctor, "audio")  # nobody answers for a minute
    clock.freeze(clock.now() + timedelta(seconds=calls.RING_SECONDS + 1))
    ack = doctor.call("call_answer", {"call": call["id"], "accept": True})
    assert ack["ok"] is True and ack["call"]["status"] == "missed" and "ice_servers" not in ack
    assert patient.expect("call")["status"] == "missed"
    db.session.commit()
    assert db.session.get(Call, call["id"]).status == "missed"
    assert ring(room, doctor, patient)["status"] == "ringing"  # a new call can start


def test_only_the_two_participants_in_the_room_can_signal(app, room, activated_patient,
                                                          on_shift_doctor):
    patient, doctor = both(room)
    call = ring(room, doctor, patient)
    patient.call("call_answer", {"call": call["id"], "accept": True})
    db.session.commit()  # SQLite: end this thread's read snapshot before writing
    strangers = [activated_patient(app.test_client(), iin=ADULT_IIN_2)[0], on_shift_doctor()]
    for intruder in [room["connect"](user) for user in strangers]:
        for event, body in (
                ("call_start", {"consultation": room["id"], "kind": "video"}),
                ("call_answer", {"call": call["id"], "accept": True}),
                ("call_signal", {"call": call["id"], "gen": "g", "description": OFFER}),
                ("call_join", {"call": call["id"], "pc": "none"}),
                ("call_media", {"call": call["id"], "audio": False}),
                ("call_quality", {"call": call["id"], "rtt_ms": 5}),
                ("call_record", {"call": call["id"], "agree": True}),
                ("call_record_offer", {"call": call["id"], "sdp": "v=0"}),
                ("call_record_stop", {"call": call["id"]}),
                ("call_end", {"call": call["id"]})):
            ack = intruder.call(event, body)
            assert ack["ok"] is False and ack["code"] == 404, (event, ack)
    patient.none("call_signal", wait=0.2)
    # A participant's socket that has not joined the room cannot signal into it.
    other_tab = room["connect"](room["patient"])
    ack = other_tab.call("call_signal", {"call": call["id"], "gen": "g", "candidate": CANDIDATE})
    assert ack["code"] == 403
    # Malformed signals are refused, and relay nothing.
    for bad in ({"gen": "g"}, {"gen": "", "candidate": CANDIDATE},
                {"gen": "g", "description": {"type": "pranswer", "sdp": "x"}},
                {"gen": "g", "description": {"type": "offer", "sdp": "x" * 40_000}},
                {"gen": "g", "candidate": {"candidate": 5}},
                {"gen": "g", "candidate": {**CANDIDATE, "sdpMLineIndex": "0; drop"}}):
        ack = patient.call("call_signal", {"call": call["id"], **bad})
        assert ack["ok"] is False and ack["code"] == 400, bad
    doctor.none("call_signal", wait=0.2)
    assert patient.call("call_signal", {"call": "x", "gen": "g", "candidate": CANDIDATE})[
        "code"] == 404
    patient.call("call_end", {"call": call["id"]})
    ack = doctor.call("call_signal", {"call": call["id"], "gen": "g", "description": OFFER})
    assert ack["code"] == 409  # the call has ended


def test_two_calls_started_at_once_give_one_call(room):
    patient, doctor = both(room)
    acks: list[dict] = []

    def press(peer, kind):
        acks.append(peer.call("call_start", {"consultation": room["id"], "kind": kind}))

    threads = [threading.Thread(target=press, args=(patient, "audio")),
               threading.Thread(target=press, args=(doctor, "video"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a["ok"] for a in acks) == [False, True]
    assert [a["code"] for a in acks if not a["ok"]] == [409]
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Call)) == 1


def test_calls_need_an_active_consultation_and_a_known_kind(room):
    patient, doctor = both(room)
    ack = patient.call("call_start", {"consultation": room["id"], "kind": "fax"})
    assert ack["code"] == 400
    call = ring(room, doctor, patient)
    patient.call("call_answer", {"call": call["id"], "accept": True})
    db.session.commit()  # SQLite: end this thread's read snapshot before writing
    closing.close(room["doctor"], room["id"], Conclusion("a", "b", "c"))
    calls.end_open_calls(db.session.get(Consultation, room["id"]), "closed")
    db.session.commit()
    stored = db.session.get(Call, call["id"])
    assert (stored.status, stored.end_reason) == ("ended", "closed")
    ack = patient.call("call_start", {"consultation": room["id"], "kind": "audio"})
    assert ack["code"] == 409


def test_a_dropped_side_is_announced_and_rejoins_the_same_call(room):
    patient, doctor = both(room)
    call = ring(room, doctor, patient)
    patient.call("call_answer", {"call": call["id"], "accept": True})
    patient.call("call_signal", {"call": call["id"], "gen": "g1", "candidate": CANDIDATE})
    patient.close()  # a reload, or the network went away
    assert doctor.expect("call_peer") == {"call": call["id"], "event": "away",
                                          "from": "patient"}
    back = room["connect"](room["patient"])
    joined = back.call("join", {"consultation": room["id"]})
    assert joined["call"]["id"] == call["id"] and joined["call"]["status"] == "active"
    ack = back.call("call_join", {"call": call["id"], "pc": "none"})
    assert ack["ok"] is True and ack["ice_servers"] == []
    assert doctor.expect("call_peer") == {"call": call["id"], "event": "joined",
                                          "from": "patient", "pc": "none"}
    # The caller offers again on a new generation; the page that came back gets it.
    doctor.call("call_signal", {"call": call["id"], "gen": "g2", "description": OFFER})
    assert back.expect("call_signal")["gen"] == "g2"
    db.session.commit()
    assert db.session.get(Call, call["id"]).status == "active"  # never ended


def test_media_changes_reach_the_other_side(room):
    patient, doctor = both(room)
    call = ring(room, patient, doctor)
    doctor.call("call_answer", {"call": call["id"], "accept": True})
    assert patient.call("call_media", {"call": call["id"], "audio": True, "video": False,
                                       "reason": "poor"})["ok"] is True
    assert doctor.expect("call_media") == {"call": call["id"], "from": "patient",
                                           "audio": True, "video": False, "reason": "poor"}


def test_quality_samples_are_stored_validated_and_rate_limited(room):
    patient, doctor = both(room)
    call = ring(room, patient, doctor)
    sample = {"call": call["id"], "rtt_ms": 42, "loss": 0.015, "bitrate_kbps": 1200,
              "width": 640, "height": 480, "fps": 30, "audio_only": False}
    assert patient.call("call_quality", sample)["code"] == 409  # not answered yet
    doctor.call("call_answer", {"call": call["id"], "accept": True})
    assert patient.call("call_quality", sample)["ok"] is True
    assert patient.call("call_quality", sample)["code"] == 429  # one per 5 s per socket
    ack = doctor.call("call_quality", {"call": call["id"], "rtt_ms": -5, "loss": 7,
                                       "bitrate_kbps": "fast", "width": float("inf")})
    assert ack["ok"] is True
    db.session.commit()
    rows = {s.side: s for s in db.session.scalars(select(CallQualitySample))}
    got = rows["patient"]
    assert (got.rtt_ms, got.loss_permille, got.bitrate_kbps, got.width, got.height, got.fps
            ) == (42, 15, 1200, 640, 480, 30)
    nonsense = rows["doctor"]  # out-of-range values are dropped, not stored
    assert (nonsense.rtt_ms, nonsense.loss_permille, nonsense.bitrate_kbps,
            nonsense.width) == (None, None, None, None)


@pytest.mark.parametrize(("ttl", "password"), [
    (600, "wnSbqbHB4vcjJUCiazN4qmG8lrU="),  # from `openssl dgst -sha1 -hmac SECRET`
    (86400, "RXcutvJcx0/Bzz2c5rRam+Earec="),
])
def test_turn_credentials_follow_coturns_use_auth_secret_scheme(app, ttl, password):
    username, minted = calls.turn_credentials("north-secret", 42, ttl, 1_795_000_000.0)
    assert username == f"{1_795_000_000 + ttl}:42"
    assert minted == password


def test_ice_servers_come_from_the_configuration_only(app):
    with app.test_request_context():
        assert calls.ice_servers(7) == []  # the default: no server at all
        app.config.update(CALL_ICE_SERVERS="stun:turn.example.kz:3478",
                          TURN_URLS="turn:turn.example.kz:3478?transport=udp, "
                                    "turns:turn.example.kz:5349",
                          TURN_SECRET="s3cret", TURN_TTL_SECONDS=3600)
        clock.freeze(clock.now())
        stun, turn = calls.ice_servers(7)
        assert stun == {"urls": ["stun:turn.example.kz:3478"]}
        assert turn["urls"] == ["turn:turn.example.kz:3478?transport=udp",
                                "turns:turn.example.kz:5349"]
        expiry, user = turn["username"].split(":")
        assert user == "7" and int(expiry) == int(clock.now().timestamp()) + 3600
        app.config["TURN_SECRET"] = None  # TURN without its secret is left out
        assert calls.ice_servers(7) == [stun]


def test_a_chat_message_cannot_take_the_place_of_a_call_event(room):
    """Call events are stored like messages; a message id chosen to look like one must
    not block them (and so the consultation's close)."""
    patient, doctor = both(room)
    for n in range(1, 4):
        for event in ("started", "ended", "missed", "declined"):
            ack = patient.call("send", {"consultation": room["id"], "body": "x",
                                        "client_id": f"call-{n}-{event}"})
            assert ack["ok"] is True
    ack = patient.call("send", {"consultation": room["id"], "body": "x",
                                "client_id": "call:1:started"})
    assert ack["code"] == 400
    call = ring(room, patient, doctor)
    assert patient.call("call_end", {"call": call["id"]})["call"]["status"] == "missed"
    call = ring(room, patient, doctor)
    assert doctor.call("call_answer", {"call": call["id"], "accept": True})["ok"] is True
    assert patient.call("call_end", {"call": call["id"]})["call"]["status"] == "ended"


def test_an_answer_and_a_hang_up_at_once_leave_one_consistent_call(room):
    patient, doctor = both(room)
    for _ in range(3):
        call = ring(room, patient, doctor)
        acks: dict[str, dict] = {}

        def send(name, peer, event, body, acks=acks):
            acks[name] = peer.call(event, body)

        threads = [threading.Thread(target=send, args=(
                       "answer", doctor, "call_answer", {"call": call["id"], "accept": True})),
                   threading.Thread(target=send, args=(
                       "end", patient, "call_end", {"call": call["id"]}))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        db.session.commit()
        stored = db.session.get(Call, call["id"])
        db.session.refresh(stored)
        events = [m.call_event["event"] for m in db.session.scalars(
            select(ChatMessage).where(ChatMessage.call_id == call["id"]))]
        assert acks["end"]["ok"] is True  # hanging up always ends it
        if stored.status == "ended":  # answered first, then hung up
            assert acks["answer"]["ok"] is True and stored.answered_at is not None
            assert sorted(events) == ["ended", "started"]
        else:  # given up first: the answer came too late
            assert stored.status == "missed" and stored.answered_at is None
            assert acks["answer"]["code"] == 409
            assert sorted(events) == ["missed", "started"]


def test_a_patients_call_rings_on_the_doctors_other_pages_until_it_is_answered(room):
    """The doctor's desk (a socket that joined no consultation) hears the ring with the
    room's address, and hears when it stops; the patient's other pages do not ring for
    their own call."""
    patient, doctor = both(room)
    desk = room["connect"](room["doctor"])
    other_patient_page = room["connect"](room["patient"])
    call = ring(room, patient, doctor, kind="audio")
    rung = desk.expect("ring")
    assert rung["id"] == call["id"] and rung["status"] == "ringing"
    assert rung["caller"] == "patient" and rung["url"] == f"/consult/{room['id']}"
    assert doctor.call("call_answer", {"call": call["id"], "accept": True})["ok"] is True
    assert desk.expect("ring")["status"] == "active"
    other_patient_page.none("ring")
