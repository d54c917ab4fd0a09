"""Recording a call's audio, with both sides' consent: two aiortc peers stand in for
the patient's and the doctor's browsers, signaled over real Socket.IO clients, and
send tones to a real media worker; the worker mixes them into one file stored
encrypted; the participants play it back (audited), nobody else can."""

from __future__ import annotations

import asyncio
import io
import math
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import requests
from sqlalchemy import select

from accounts.audit import AuditEntry
from consult.models import CallRecording
from core.crypto import decrypt_bytes
from core.extensions import db
from tests.fixtures.activation import ADULT_IIN_2
from tests.fixtures.media import run_peer
from tests.fixtures.sockets import login


def tone_track(hz: float) -> Any:
    """An aiortc audio track playing a sine tone in real time."""
    from aiortc import MediaStreamTrack

    class Tone(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.samples = 0
            self.start: float | None = None

        async def recv(self) -> av.AudioFrame:
            if self.start is None:
                self.start = time.monotonic()
            due = self.start + self.samples / 48000
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            frame = av.AudioFrame(format="s16", layout="mono", samples=960)
            frame.planes[0].update(b"".join(
                int(8000 * math.sin(2 * math.pi * hz * (self.samples + n) / 48000))
                .to_bytes(2, "little", signed=True) for n in range(960)))
            frame.sample_rate = 48000
            frame.pts = self.samples
            frame.time_base = Fraction(1, 48000)
            self.samples += 960
            return frame

    return Tone()


async def send_audio(peers: list[tuple[Any, int, float]], seconds: float) -> None:
    """Each (socket peer, call id, tone) offers its audio for the recording through the
    app and sends it for ``seconds``."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    connections = []
    for peer, call_id, hz in peers:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver(tone_track(hz), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        ack = await asyncio.to_thread(peer.call, "call_record_offer",
                                      {"call": call_id, "sdp": pc.localDescription.sdp})
        assert ack["ok"] is True, ack
        await pc.setRemoteDescription(RTCSessionDescription(**ack["answer"]))
        connections.append(pc)
    await asyncio.sleep(seconds)
    for pc in connections:
        await pc.close()


def active_call(room: dict[str, Any]) -> tuple[Any, Any, int]:
    patient = room["connect"](room["patient"])
    doctor = room["connect"](room["doctor"])
    patient.call("join", {"consultation": room["id"]})
    doctor.call("join", {"consultation": room["id"]})
    call = doctor.call("call_start", {"consultation": room["id"], "kind": "audio"})["call"]
    assert patient.call("call_answer", {"call": call["id"], "accept": True})["ok"] is True
    return patient, doctor, call["id"]


def test_a_call_is_recorded_only_with_both_consents_and_played_back_audited(
        app, room, recording_worker, loopback_peer, activated_patient):
    patient, doctor, call_id = active_call(room)
    ack = doctor.call("call_record", {"call": call_id, "agree": True})
    assert ack["recording"]["status"] == "asking" and ack["recording"]["doctor"] is True
    assert patient.expect("call_recording")["asked_by"] == "doctor"
    assert doctor.expect("call_recording")["status"] == "asking"  # both pages hear it
    # Nothing is recorded before the patient agrees.
    ack = doctor.call("call_record_offer", {"call": call_id, "sdp": "v=0"})
    assert ack["code"] == 409
    ack = patient.call("call_record", {"call": call_id, "agree": True})
    assert ack["recording"]["status"] == "recording"
    assert doctor.expect("call_recording")["status"] == "recording"

    run_peer(send_audio([(patient, call_id, 440.0), (doctor, call_id, 1000.0)], 3.0))
    assert doctor.call("call_end", {"call": call_id})["ok"] is True
    assert patient.expect("call_recording")["status"] == "recording"
    got = patient.expect("call_recording")
    assert got["status"] == "ready", got  # ... then stored

    db.session.commit()
    recording = db.session.scalar(select(CallRecording))
    assert recording.status == "ready" and 2 <= recording.duration_seconds <= 4
    stored = Path(app.config["RECORDINGS_DIR"]) / recording.file_name
    sealed = stored.read_bytes()
    assert sealed.startswith(b"gAAAAA")  # a Fernet token: encrypted at rest
    with app.app_context():
        assert decrypt_bytes(sealed).startswith(b"OggS")

    # The patient plays it back: Ogg Opus with both tones in it, and an audit entry.
    session = requests.Session()
    session.headers["Cookie"] = login(room["server"].url, room["patient"])
    url = f"{room['server'].url}/consult/{room['id']}/calls/{call_id}/recording"
    r = session.get(url)
    assert r.status_code == 200 and r.headers["Content-Type"] == "audio/ogg"
    assert r.headers["Cache-Control"] == "no-store"
    container = av.open(io.BytesIO(r.content))
    frames = list(container.decode(audio=0))
    seconds = sum(f.samples for f in frames) / frames[0].sample_rate
    assert 2 <= seconds <= 4.5
    loud = max(max(abs(s) for s in memoryview(bytes(f.planes[0])).cast("f"))
               for f in frames[len(frames) // 2:len(frames) // 2 + 5])
    assert loud > 0.1  # the tones, not silence
    # A phone's player asks for byte ranges: served, and only the start is a playback.
    part = session.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == r.content[100:200]
    db.session.commit()
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "call.recording_played")).all()
    assert [e.subject for e in entries] == [f"call:{call_id}"]
    # The room's transcript offers the player.
    page = session.get(f"{room['server'].url}/consult/{room['id']}").text
    assert f"/calls/{call_id}/recording" in page

    # Anyone else gets 404, and no audit entry.
    stranger, _ = activated_patient(app.test_client(), iin=ADULT_IIN_2)
    other = requests.Session()
    other.headers["Cookie"] = login(room["server"].url, stranger)
    assert other.get(url).status_code == 404
    db.session.commit()
    assert db.session.query(AuditEntry).filter_by(action="call.recording_played").count() == 1


def test_a_refusal_records_nothing(app, room, recording_worker):
    patient, doctor, call_id = active_call(room)
    assert patient.call("call_record", {"call": call_id, "agree": True})["ok"] is True
    ack = doctor.call("call_record", {"call": call_id, "agree": False})
    assert ack["recording"]["status"] == "refused"
    assert patient.call("call_record_offer", {"call": call_id, "sdp": "v=0"})["code"] == 409
    assert patient.call("call_record", {"call": call_id, "agree": True})["code"] == 409
    assert not Path(app.config["RECORDINGS_DIR"]).exists() or not list(
        Path(app.config["RECORDINGS_DIR"]).iterdir())


def test_recording_is_off_unless_configured(app, room):
    patient, _doctor, call_id = active_call(room)
    app.config["CALL_RECORDING"] = False
    ack = patient.call("call_record", {"call": call_id, "agree": True})
    assert ack["ok"] is False and ack["code"] == 403
    page = requests.Session()
    page.headers["Cookie"] = login(room["server"].url, room["patient"])
    assert "record-start" not in page.get(f"{room['server'].url}/consult/{room['id']}").text


def test_the_worker_refuses_a_record_session_without_its_call_and_side(recording_worker):
    from tests.fixtures.media import worker_api

    for params in ({}, {"recording": "12", "side": "nurse"}, {"recording": "../x",
                                                                "side": "patient"}):
        status, body = worker_api(recording_worker.url, "/offer", {
            "sdp": "v=0\r\n", "type": "offer", "session": "rec-bad", "kind": "record",
            "params": params})
        assert status == 400, (params, body)
    status, _ = worker_api(recording_worker.url, "/record/finish", {"recording": "12"})
    assert status == 404  # nothing was started
