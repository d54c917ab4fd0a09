"""Benchmark of call set-up time: from the moment the called side presses "Accept" to
the first decoded video frame, on both sides, p50/p95/max over ``--calls`` video calls
on loopback, against a bare RTCPeerConnection pair in one page measured in the same run.

What it does, against a fresh database it creates and drops itself (``--db``):

1. **Data.** ``flask db upgrade``, then one patient (activated policy, password) and
   one on-duty doctor (password, TOTP enabled) with one active video consultation the
   doctor has taken, inserted with SQLAlchemy through the app factory.
2. **Server.** The app as a real server process on 127.0.0.1: ``gunicorn -k gevent -w 1``
   (``wsgi:app``, as ``bench/chat.py`` runs it) or ``flask serve`` (``--server flask``).
3. **Browsers.** Two separate headless Chromium instances (``/usr/bin/chromium``, the
   flags of ``tests/e2e/conftest.py``: fake camera and microphone, loopback ICE, no
   mDNS), the doctor's and the patient's, each signed in once through the login pages
   (the doctor with a TOTP code) in English, both on the consultation room page.
4. **Calls, one after the other in the same room** (a consultation holds one open call
   at a time; ``--warmup`` calls first, not counted): the doctor presses "Video call",
   the patient's page says "The doctor is calling you: video call", the patient
   presses "Accept"; once both pages have decoded a video frame the doctor hangs up and
   both pages say "The call has ended.".
5. **Baseline,** interleaved with the calls (one after each, so both see the same load
   on a shared machine): in a third page, in the patient's browser, two
   RTCPeerConnections (``iceServers: []``, the same transceivers as ``call.js``) with
   the same fake devices, offer/answer and candidates exchanged in the page, no
   server. As in the app, the caller's camera is already open; the clock starts where
   "Accept" would be pressed: the callee's ``getUserMedia``, then the negotiation.

How it is measured: in the pages, never from Python (Playwright round trips would add
their noise). An init script in every page wraps ``RTCPeerConnection`` and records,
per connection, with ``performance.now()``: creation, the remote offer, ICE connected
(``iceConnectionState``), DTLS connected (``connectionState``), and the first **decoded**
video frame: ``requestVideoFrameCallback`` on ``#remote-video`` gives the first frame's
``receiveTime`` (its last packet arrived) and ``processingDuration`` (the decoder's
time); their sum is when it was decoded (its ``presentationTime`` follows within a
millisecond or two). For comparison, ``getStats`` every 20 ms (inbound-rtp video
``framesDecoded > 0``): it notices the frame 20 to 60 ms later (the poll's period and
``getStats``' own cost on a busy machine), so it is reported but not the headline. A
capture listener stamps the click on ``#call-accept``; the socket's ``call`` (status
active) and ``call_signal`` events and the ``call_answer`` acknowledgement are stamped
too. The two browsers are separate processes: their times are put on one clock with
``Date.now() − performance.now()`` taken in each page just before every call (the same
machine, the same wall clock; ~1 ms resolution).

Reported (milliseconds, nearest-rank percentiles over the counted calls): accept →
callee ICE connected / DTLS connected / first decoded frame; the same for the caller;
the caller's own "call active" received → its first decoded frame; the same for the
baseline, and app ÷ baseline. The median phase breakdown (when each step happened,
from Accept) says where the time goes. Target: accept → first decoded frame, p95
under 1.5 s on both sides.

Run it by hand from the repository root (CI does not run it)::

    .venv/bin/python bench/calls.py                        # SQLite, 20 calls, ~2 min
    .venv/bin/python bench/calls.py --db postgres --calls 20
    .venv/bin/python bench/calls.py --fresh --warmup 0     # new browsers for every call

By default the two browsers stay open over all the calls (after one warm-up call):
what a second, third... call in an open room costs. A patient's call is usually the
first of a freshly started browser, which is slower (the fake camera opens cold,
WebRTC's threads and codecs start): ``--fresh`` starts both Chromium instances anew
before every call (signed in with the cookies of the first sign-in), ``--reload``
only reloads the pages.

``--db postgres`` creates a uniquely named database on ``--pg-url`` (trust auth) and
drops it at the end. Only 127.0.0.1 is contacted. Every phase is bounded in time. It
prints a results table and a JSON line; the exit status is 1 when a call did not set
up, a page logged an error, or the server logged a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path and bench/activation.py would shadow
# the app's ``activation`` package; the app's own code is imported from ROOT.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from bench._common import (  # noqa: E402
    free_port,
    fresh_database,
    log,
    machine,
    stop_group,
    tracebacks,
    wait_until_up,
)
from tests.e2e.chromium import BASE_ARGS, CHROMIUM, MEDIA_ARGS  # noqa: E402 (as the tests)

BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin" / "gunicorn").exists() \
    else Path(sys.executable).parent
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"  # noqa: S105 (fixed on purpose)
CODE_KEY = "bench-activation-code-key-0123456789"
DATA_KEY = "YmVuY2gtZGF0YS1rZXktbm90LWZvci1wcm9kdWN0aW8="  # a Fernet key for the run
DOCUMENT_KEY = "bench:YmVuY2gtZG9jdW1lbnQta2V5LW5vdC1mb3ItcHJvZCE"  # AES-256 for the run
PASSWORD = "bench calls correct horse"  # noqa: S105
APP_ENV = ("DATABASE_URL", "SECRET_KEY", "BASE_URL", "TIMEZONE", "MAIL_SERVER", "MAIL_PORT",
           "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_USERNAME", "MAIL_PASSWORD",
           "MAIL_DEFAULT_SENDER", "REDIS_URL", "ACTIVATION_CODE_KEY", "PROXY_FIX_X_FOR",
           "INSURER_NAME", "CONTACT_CENTRE_PHONE", "SELF_PAY_PRICE_KZT",
           "RATELIMIT_ACTIVATION", "RATELIMIT_LOGIN", "INSTANCE_PATH", "FLASK_APP",
           "DATA_KEYS", "DOCUMENT_KEYS", "SOCKETIO_MESSAGE_QUEUE", "SOCKETIO_CHANNEL",
           "CALL_ICE_SERVERS",
           "TURN_URLS", "TURN_SECRET", "MEDIA_WORKERS", "MEDIA_WORKER_URLS", "DEMO")
TARGET_P95_MS = 1500.0
CALL_TIMEOUT_MS = 20_000
PHONE = {"width": 390, "height": 844}

# --------------------------------------------------------------------------- page side

# Installed in every page before its own scripts. window.__bench: stamps (performance.now)
# and, per RTCPeerConnection the page makes, what happened when.
INIT_JS = r"""
(() => {
  if (window.__bench) { return; }
  const now = () => performance.now();
  const B = window.__bench = {marks: {}, pcs: [], gum: [], off: 0,
                              OrigPC: window.RTCPeerConnection};
  B.mark = (name) => { if (!(name in B.marks)) { B.marks[name] = now(); } };
  // Date.now() - performance.now(): Date.now() is whole milliseconds, rounded down, so
  // the largest difference over a few milliseconds is the closest to the true offset.
  B.offset = () => {
    let best = -Infinity;
    const end = now() + 4;
    while (now() < end) { best = Math.max(best, Date.now() - performance.now()); }
    return best;
  };
  B.reset = () => { B.marks = {}; B.pcs = []; B.gum = []; B.off = B.offset(); return B.off; };
  B.watch = (pc, rec, video) => {
    rec.created = now();
    pc.addEventListener("iceconnectionstatechange", () => {
      const s = pc.iceConnectionState;
      if ((s === "connected" || s === "completed") && rec.ice === undefined) { rec.ice = now(); }
      if (s === "checking" && rec.checking === undefined) { rec.checking = now(); }
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "connected" && rec.dtls === undefined) { rec.dtls = now(); }
      if (pc.connectionState === "failed") { rec.failed = now(); }
    });
    pc.addEventListener("signalingstatechange", () => {
      const name = {"have-remote-offer": "remote_offer", "have-local-offer": "local_offer",
                    "stable": "stable"}[pc.signalingState];
      if (name && rec[name] === undefined) { rec[name] = now(); }
    });
    pc.addEventListener("track", (e) => {
      if (e.track.kind === "video" && rec.track === undefined) { rec.track = now(); }
    });
    const poll = () => {
      if (pc.signalingState === "closed") { return; }
      pc.getStats().then((report) => {
        let frames = 0, packets = 0, keyframes = 0;
        report.forEach((s) => {
          if (s.type === "inbound-rtp" && s.kind === "video") {
            frames += s.framesDecoded || 0; packets += s.packetsReceived || 0;
            keyframes += s.keyFramesDecoded || 0;
          }
        });
        if (packets > 0 && rec.packet === undefined) { rec.packet = now(); }
        if (frames > 0) { rec.frame = now(); rec.keyframes = keyframes; return; }
        setTimeout(poll, 20);
      }).catch(() => {});
    };
    setTimeout(poll, 20);
    if (video && video.requestVideoFrameCallback) {
      video.requestVideoFrameCallback((t, meta) => {
        rec.presented = meta.presentationTime || t;
        rec.rvfc_called = now();
        if (meta.receiveTime) { rec.frame_received = meta.receiveTime; }
        if (meta.processingDuration !== undefined) {
          rec.processing_ms = 1000 * meta.processingDuration;
        }
        // Decoded: the frame's last packet received + the decoder's time (WebRTC sources).
        rec.decoded = meta.receiveTime && meta.processingDuration !== undefined
          ? meta.receiveTime + 1000 * meta.processingDuration : rec.presented;
      });
    }
  };
  if (B.OrigPC) {
    window.RTCPeerConnection = class extends B.OrigPC {
      constructor(...args) {
        super(...args);
        const rec = {};
        B.pcs.push(rec);
        B.watch(this, rec, document.getElementById("remote-video"));
      }
    };
  }
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    const md = navigator.mediaDevices, gum = md.getUserMedia.bind(md);
    md.getUserMedia = (c) => {
      const started = now();
      return gum(c).then((s) => { B.gum.push([started, now()]); return s; });
    };
  }
  // The press on Accept, before call.js's own listener (capture on the window).
  window.addEventListener("click", (e) => {
    if (e.target && e.target.closest && e.target.closest("#call-accept")) { B.mark("accept"); }
  }, true);
})();
"""

# Once the room's socket exists: stamp the call's state and the signaling as they arrive.
SOCKET_HOOK_JS = r"""
() => {
  const B = window.__bench, socket = window.pdRoom.socket;
  if (B.hooked) { return true; }
  B.hooked = true;
  socket.on("call", (s) => { B.mark("call_" + s.status); });
  socket.on("call_signal", (m) => {
    if (m.description) { B.mark("got_" + m.description.type); }
    else if (m.candidate) { B.mark("got_candidate"); }
  });
  const emit = socket.emit.bind(socket);
  socket.emit = function (name, data, ack) {
    if (name === "call_answer") { B.mark("answer_sent"); }
    if (name === "call_signal" && data && data.description) {
      B.mark("sent_" + data.description.type);
    }
    if (name === "call_answer" && typeof ack === "function") {
      return emit(name, data, function (...a) { B.mark("answer_ack"); return ack(...a); });
    }
    return emit.apply(null, arguments);
  };
  return true;
}
"""

READ_JS = "() => ({marks: window.__bench.marks, pcs: window.__bench.pcs, " \
          "gum: window.__bench.gum, off: window.__bench.off})"

FRAME_DONE_JS = "() => window.__bench.pcs.length > 0 && window.__bench.pcs.every(" \
                "(r) => r.frame !== undefined || r.failed !== undefined)"

# The baseline: one negotiation between two connections in this page, as call.js does
# it, timed from the callee's getUserMedia ("Accept") to each side's first frame.
BASELINE_JS = r"""
async (timeoutMs) => {
  const B = window.__bench, PC = B.OrigPC;
  const now = () => performance.now();
  const media = () => navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const video = () => {
    const v = document.createElement("video");
    v.autoplay = true; v.playsInline = true; v.muted = true; v.width = 320; v.height = 240;
    document.body.appendChild(v);
    return v;
  };
  const callerMedia = await media(); // the caller's camera is on before the call is answered
  const v1 = video(), v2 = video();
  const r1 = {}, r2 = {};
  const t0 = now();
  const calleeMedia = await media();
  const gumDone = now();
  const a = new PC({iceServers: []}), b = new PC({iceServers: []});
  B.watch(a, r1, v1); B.watch(b, r2, v2);
  const show = (pc, v) => {
    const stream = new MediaStream();
    v.srcObject = stream;
    pc.ontrack = (e) => { stream.addTrack(e.track); v.play().catch(() => {}); };
  };
  show(a, v1); show(b, v2);
  const qa = [], qb = [];
  const deliver = (pc, q, c) => {
    if (pc.remoteDescription) { pc.addIceCandidate(c).catch(() => {}); } else { q.push(c); }
  };
  const flush = (pc, q) => {
    q.splice(0).forEach((c) => pc.addIceCandidate(c).catch(() => {}));
  };
  a.onicecandidate = (e) => { if (e.candidate) { deliver(b, qb, e.candidate.toJSON()); } };
  b.onicecandidate = (e) => { if (e.candidate) { deliver(a, qa, e.candidate.toJSON()); } };
  const init = {direction: "sendrecv", streams: [callerMedia]};
  a.addTransceiver(callerMedia.getAudioTracks()[0], init);
  a.addTransceiver(callerMedia.getVideoTracks()[0], init);
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await b.setRemoteDescription({type: "offer", sdp: a.localDescription.sdp});
  b.getTransceivers().forEach((tr) => {
    const kind = tr.receiver.track && tr.receiver.track.kind;
    tr.direction = "sendrecv";
    tr.sender.replaceTrack(kind === "audio" ? calleeMedia.getAudioTracks()[0]
                                            : calleeMedia.getVideoTracks()[0]);
    if (tr.sender.setStreams) { tr.sender.setStreams(calleeMedia); }
  });
  flush(b, qb);
  const answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await a.setRemoteDescription({type: "answer", sdp: b.localDescription.sdp});
  flush(a, qa);
  const deadline = now() + timeoutMs;
  while ((r1.frame === undefined || r2.frame === undefined ||
          r1.presented === undefined || r2.presented === undefined) && now() < deadline) {
    if (r1.frame !== undefined && r2.frame !== undefined &&
        now() - Math.max(r1.frame, r2.frame) > 1000) { break; }
    await new Promise((r) => setTimeout(r, 10));
  }
  a.close(); b.close();
  callerMedia.getTracks().forEach((t) => t.stop());
  calleeMedia.getTracks().forEach((t) => t.stop());
  v1.remove(); v2.remove();
  const DURATIONS = ["keyframes", "processing_ms"];
  const rel = (r) => {
    const out = {};
    for (const k of Object.keys(r)) {
      if (typeof r[k] === "number" && !DURATIONS.includes(k)) { out[k] = r[k] - t0; }
    }
    return out;
  };
  return {gum: gumDone - t0, caller: rel(r1), callee: rel(r2)};
}
"""


# --------------------------------------------------------------------------- database


def base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in APP_ENV}
    env.update({"INSTANCE_PATH": str(tmp / "instance"), "PYTHONUNBUFFERED": "1"})
    return env


def app_env(database_url: str, tmp: Path, port: int) -> dict[str, str]:
    env = base_env(tmp)
    env.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "ACTIVATION_CODE_KEY": CODE_KEY,
        "DATA_KEYS": DATA_KEY,
        "DOCUMENT_KEYS": DOCUMENT_KEY,
        "BASE_URL": f"http://127.0.0.1:{port}",
        "MEDIA_WORKERS": "0",  # flask serve: no media worker (the connection test's)
    })
    return env


@dataclass(frozen=True)
class People:
    consultation: int
    patient_email: str
    doctor_email: str
    totp_key: str


def seed(env: dict[str, str]) -> People:
    """One patient with an activated policy, one on-duty doctor with TOTP, and one
    active video consultation between them; inserted with the app's own models."""
    import pyotp

    for key in APP_ENV:
        os.environ.pop(key, None)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "ACTIVATION_CODE_KEY",
                                           "DATA_KEYS", "DOCUMENT_KEYS", "INSTANCE_PATH",
                                           "BASE_URL")})
    from accounts.models import User
    from accounts.passwords import hash_password
    from activation.models import Activation, Insured, Policy
    from consult.models import Consultation
    from core import clock
    from core.app import create_app
    from core.crypto import encrypt, lookup_hash
    from core.extensions import db

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)  # create_app sets INFO for everything
    key = pyotp.random_base32()
    with app.app_context():
        now, today = clock.now(), clock.today()
        patient = User(email="calls-patient@example.kz", role="patient",
                       product_line="personal_doctor", full_name="Patient Bench",
                       language="en", created_at=now, password_hash=hash_password(PASSWORD))
        doctor = User(email="calls-doctor@example.kz", role="doctor", full_name="Doctor Bench",
                      language="en", created_at=now, on_duty_doctor=True,
                      password_hash=hash_password(PASSWORD), totp_secret=encrypt(key),
                      totp_enabled=True)
        policy = Policy(number="CALLS-0000001", product="personal_doctor", code_hash="0" * 64,
                        imported_at=now, failed_attempts=0, activated_at=now)
        db.session.add_all([patient, doctor, policy])
        db.session.flush()
        insured = Insured(account_id=patient.id, iin_hash=lookup_hash("calls-bench", "iin"),
                          iin_encrypted=encrypt("871008401427"), full_name=patient.full_name,
                          birth_date=date(1987, 10, 8), sex="female")
        db.session.add(insured)
        db.session.flush()
        activation = Activation(policy_id=policy.id, insured_id=insured.id,
                                account_id=patient.id, product="personal_doctor",
                                activated_at=now, activated_on=today,
                                coverage_starts_on=today - timedelta(days=30),
                                coverage_ends_on=today + timedelta(days=335),
                                consent_version="2026-11-01", consent_given_at=now,
                                client_ip="127.0.0.1", locale="en")
        db.session.add(activation)
        db.session.flush()
        consultation = Consultation(
            patient_id=patient.id, insured_id=insured.id, activation_id=activation.id,
            doctor_id=doctor.id, product="personal_doctor", channel="video", language="en",
            complaint_encrypted=encrypt("Rash on the arm since yesterday."), status="active",
            coverage="covered", price_amount=0, currency="KZT", payment_status="not_required",
            requested_at=now - timedelta(minutes=5), taken_at=now - timedelta(minutes=1))
        db.session.add(consultation)
        db.session.commit()
        people = People(consultation.id, patient.email, doctor.email, key)
        db.session.remove()
        db.engine.dispose()
    return people


# --------------------------------------------------------------------------- server


def server_cmd(kind: str, port: int) -> list[str]:
    if kind == "flask":
        return [str(BIN / "flask"), "--app", "wsgi", "serve", "--port", str(port)]
    # --no-control-socket: gunicorn >= 24 otherwise listens on ~/.gunicorn/gunicorn.ctl,
    # shared with any other gunicorn of the same user.
    out = subprocess.run([str(BIN / "gunicorn"), "--help"], capture_output=True, text=True,
                         timeout=60, check=False).stdout
    extra = ["--no-control-socket"] if "--no-control-socket" in out else []
    return [str(BIN / "gunicorn"), "-k", "gevent", "-w", "1", "--worker-connections", "1000",
            "--graceful-timeout", "5", "-b", f"127.0.0.1:{port}", *extra, "wsgi:app"]


@contextlib.contextmanager
def running_server(kind: str, port: int, env: dict[str, str], logs: Path
                   ) -> Iterator[Path]:
    """Start the server; yield its stderr's path once it answers ``/api/v1/ping``;
    always stop it (its process group)."""

    err_path = logs / f"{kind}.stderr"
    with open(logs / f"{kind}.stdout", "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(server_cmd(kind, port), cwd=ROOT, env=env, stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_up(proc, port, kind, err_path)
        log(f"{kind} is up on 127.0.0.1:{port} (pid {proc.pid})")
        yield err_path
    finally:
        stop_group(proc)


# --------------------------------------------------------------------------- browsers


def sign_in(page: Any, base: str, email: str, totp_key: str | None) -> None:
    """Through the real pages, in English (as tests/e2e/test_consultation_flow.sign_in)."""
    import pyotp

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
class Sample:
    """One call (or one baseline negotiation): milliseconds from "Accept"."""

    values: dict[str, float] = field(default_factory=dict)
    note: str = ""


def rel(t: Any, origin: float) -> float:
    return float(t) - origin if isinstance(t, int | float) else math.nan


def one_call(doctor: Any, patient: Any, i: int, raw: bool = False) -> Sample:
    from playwright.sync_api import expect

    for page in (doctor, patient):
        page.evaluate("window.__bench.reset()")
    doctor.click("#call-video")
    expect(patient.locator("#call-status")).to_have_text(
        "The doctor is calling you: video call")
    expect(doctor.locator("#call-status")).to_have_text("Calling…")
    patient.click("#call-accept")
    for page in (patient, doctor):
        page.wait_for_function(FRAME_DONE_JS, timeout=CALL_TIMEOUT_MS, polling=50)
    # requestVideoFrameCallback fires a little later (the frame is painted): wait briefly.
    for page in (patient, doctor):
        with contextlib.suppress(Exception):
            page.wait_for_function("() => window.__bench.pcs.every((r) => r.presented "
                                   "!== undefined)", timeout=2000, polling=50)
    p, d = patient.evaluate(READ_JS), doctor.evaluate(READ_JS)
    if raw:
        log(f"call {i} raw: patient {json.dumps(p)}")
        log(f"call {i} raw: doctor {json.dumps(d)}")
    s = Sample()
    accept = p["marks"].get("accept")
    if accept is None:
        raise RuntimeError(f"call {i}: the accept click was not stamped: {p['marks']}")
    shift = d["off"] - p["off"]  # doctor's performance.now() + shift = patient's timebase
    pp, dp = p["pcs"][0], d["pcs"][0]
    pm, dm = p["marks"], d["marks"]
    v = s.values
    for side, r, origin in (("callee", pp, accept), ("caller", dp, accept - shift)):
        for k in ("ice", "dtls", "decoded", "frame", "presented", "frame_received", "packet"):
            v[f"{side}_{k}"] = rel(r.get(k), origin)
        if math.isnan(v[f"{side}_decoded"]):  # no requestVideoFrameCallback: the poll's
            v[f"{side}_decoded"] = v[f"{side}_frame"]
            s.note = "requestVideoFrameCallback did not fire: getStats poll used"
    # Phases (all on the patient's timebase, from Accept).
    gum = [g for g in p["gum"] if g[0] >= accept]
    v["ph_callee_gum_done"] = rel(gum[0][1], accept) if gum else math.nan
    v["ph_answer_acked"] = rel(pm.get("answer_ack"), accept)
    v["ph_caller_active"] = rel(dm.get("call_active"), accept - shift)
    v["ph_caller_offer_sent"] = rel(dm.get("sent_offer"), accept - shift)
    v["ph_callee_offer"] = rel(pm.get("got_offer"), accept)
    v["ph_callee_offer_applied"] = rel(pp.get("remote_offer"), accept)
    v["ph_callee_answer_sent"] = rel(pm.get("sent_answer"), accept)
    v["ph_caller_answer"] = rel(dm.get("got_answer"), accept - shift)
    v["ph_caller_answer_applied"] = rel(dp.get("stable"), accept - shift)
    v["ph_callee_ice"] = v["callee_ice"]
    v["ph_callee_dtls"] = v["callee_dtls"]
    v["ph_callee_received"] = v["callee_frame_received"]
    v["ph_callee_decoded"] = v["callee_decoded"]
    v["caller_active_to_frame"] = v["caller_decoded"] - v["ph_caller_active"]
    if len(p["pcs"]) > 1 or len(d["pcs"]) > 1:
        s.note = f"{len(d['pcs'])} connections on the caller, {len(p['pcs'])} on the callee"
    if any(r.get("failed") is not None for r in p["pcs"] + d["pcs"]):
        raise RuntimeError(f"call {i}: a connection failed: {p['pcs']} {d['pcs']}")
    # Hang up (the doctor) and wait until both pages are idle again.
    doctor.click("#call-hangup")
    for page in (doctor, patient):
        expect(page.locator("#call-status")).to_have_text("The call has ended.")
        page.wait_for_function("() => window.pdCall.pc === null && !window.pdCall.inCall",
                               timeout=10_000)
    return s


def one_baseline(page: Any) -> Sample:
    got = page.evaluate(BASELINE_JS, CALL_TIMEOUT_MS)
    callee, caller = got["callee"], got["caller"]
    if "frame" not in callee or "frame" not in caller:
        raise RuntimeError(f"baseline: no frame: {got}")
    s = Sample()
    v = s.values
    for side, r in (("callee", callee), ("caller", caller)):
        for k in ("ice", "dtls", "decoded", "frame", "presented", "frame_received", "packet"):
            v[f"{side}_{k}"] = float(r.get(k, math.nan))
        if math.isnan(v[f"{side}_decoded"]):
            v[f"{side}_decoded"] = v[f"{side}_frame"]
            s.note = "requestVideoFrameCallback did not fire: getStats poll used"
    v["ph_callee_gum_done"] = float(got["gum"])
    v["ph_callee_offer_applied"] = float(callee.get("remote_offer", math.nan))
    v["ph_caller_answer_applied"] = float(caller.get("stable", math.nan))
    v["ph_callee_ice"] = v["callee_ice"]
    v["ph_callee_dtls"] = v["callee_dtls"]
    v["ph_callee_received"] = v["callee_frame_received"]
    v["ph_callee_decoded"] = v["callee_decoded"]
    return s


@dataclass
class Pages:
    browsers: list[Any]
    doctor: Any
    patient: Any
    baseline: Any

    def close(self) -> None:
        for b in self.browsers:
            with contextlib.suppress(Exception):
                b.close()


def open_pages(pw: Any, base: str, people: People, errors: list[str],
               states: list[Any] | None) -> tuple[Pages, list[Any]]:
    """Two new Chromium processes, the doctor's and the patient's room pages (signed in
    through the login pages, or with ``states``, the cookies of an earlier sign-in)
    and the baseline's page; return them and the two signed-in storage states."""
    from playwright.sync_api import expect

    browsers = [pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                   args=BASE_ARGS + MEDIA_ARGS) for _ in range(2)]
    pages = Pages(browsers, None, None, None)
    try:
        doctor_ctx = browsers[0].new_context(locale="en-US",
                                             storage_state=states[0] if states else None)
        patient_ctx = browsers[1].new_context(locale="en-US", viewport=PHONE, has_touch=True,
                                              is_mobile=True,
                                              storage_state=states[1] if states else None)
        base_ctx = browsers[1].new_context(locale="en-US")
        for ctx in (doctor_ctx, patient_ctx, base_ctx):
            ctx.add_init_script(INIT_JS)
            ctx.set_default_timeout(15_000)
        pages.doctor, pages.patient, pages.baseline = (
            doctor_ctx.new_page(), patient_ctx.new_page(), base_ctx.new_page())
        for name, page in (("doctor", pages.doctor), ("patient", pages.patient),
                           ("baseline", pages.baseline)):
            page.on("console", lambda m, n=name: errors.append(f"{n}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e, n=name: errors.append(f"{n}: {e}"))
        if not states:
            sign_in(pages.doctor, base, people.doctor_email, people.totp_key)
            sign_in(pages.patient, base, people.patient_email, None)
            states = [doctor_ctx.storage_state(), patient_ctx.storage_state()]
        room = f"{base}/consult/{people.consultation}"
        for page in (pages.doctor, pages.patient):
            page.goto(room)
            expect(page.locator("#connection")).to_have_text("Connected.")
            page.wait_for_function(SOCKET_HOOK_JS)
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


def run_calls(base: str, people: People, args: argparse.Namespace
              ) -> tuple[list[Sample], list[Sample], list[tuple[Sample, Sample]], list[str]]:
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    calls: list[Sample] = []
    baseline: list[Sample] = []
    warm: list[tuple[Sample, Sample]] = []
    with sync_playwright() as pw:
        pages, states = open_pages(pw, base, people, errors, None)
        log(f"both signed in and in the room {base}/consult/{people.consultation}")
        try:
            for i in range(args.warmup + args.calls):
                counted = i >= args.warmup
                if args.fresh and i > 0:  # every call in newly started browsers
                    pages.close()
                    pages, _ = open_pages(pw, base, people, errors, states)
                elif args.reload and i > 0:  # every call the first of freshly loaded pages
                    for page in (pages.doctor, pages.patient):
                        page.reload()
                        expect(page.locator("#connection")).to_have_text("Connected.")
                        page.wait_for_function(SOCKET_HOOK_JS)
                    pages.baseline.reload()
                c = one_call(pages.doctor, pages.patient, i, args.raw)
                b = one_baseline(pages.baseline)
                tag = f"call {i + 1 - args.warmup}/{args.calls}" if counted \
                    else f"warm-up {i + 1}/{args.warmup}"
                log(f"{tag}: accept → first decoded frame: callee "
                    f"{c.values['callee_decoded']:.0f} ms, caller "
                    f"{c.values['caller_decoded']:.0f} ms (callee ICE "
                    f"{c.values['callee_ice']:.0f}, DTLS {c.values['callee_dtls']:.0f}); "
                    f"baseline callee {b.values['callee_decoded']:.0f}, caller "
                    f"{b.values['caller_decoded']:.0f} ms"
                    + (f"; {c.note}" if c.note else ""))
                if counted:
                    calls.append(c)
                    baseline.append(b)
                else:
                    warm.append((c, b))
                time.sleep(args.pause)
        finally:
            pages.close()
    return calls, baseline, warm, errors


# --------------------------------------------------------------------------- figures


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    vals = sorted(v for v in values if not math.isnan(v))
    if not vals:
        return math.nan
    return vals[max(1, math.ceil(p / 100 * len(vals))) - 1]


def stats(samples: list[Sample], key: str) -> dict[str, float]:
    vals = [s.values.get(key, math.nan) for s in samples]
    ok = [v for v in vals if not math.isnan(v)]
    return {"n": len(ok), "p50": pct(ok, 50), "p95": pct(ok, 95),
            "max": max(ok) if ok else math.nan}


def fmt(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.0f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b > 0 and not math.isnan(a) and not math.isnan(b) else "—"


MEASURES = (
    ("callee_ice", "accept → callee ICE connected"),
    ("callee_dtls", "accept → callee DTLS connected"),
    ("callee_decoded", "**accept → callee first decoded frame**"),
    ("callee_frame", "accept → callee first frame seen by getStats (20 ms poll)"),
    ("caller_ice", "accept → caller ICE connected"),
    ("caller_dtls", "accept → caller DTLS connected"),
    ("caller_decoded", "**accept → caller first decoded frame**"),
    ("caller_frame", "accept → caller first frame seen by getStats (20 ms poll)"),
    ("caller_active_to_frame", "caller: \"active\" received → its first decoded frame"),
)
PHASES = (
    ("ph_callee_gum_done", "callee's getUserMedia done"),
    ("ph_answer_acked", "callee's call_answer acknowledged"),
    ("ph_caller_active", "caller receives \"active\""),
    ("ph_caller_offer_sent", "caller sends the offer"),
    ("ph_callee_offer", "callee receives the offer"),
    ("ph_callee_offer_applied", "callee's setRemoteDescription(offer) done"),
    ("ph_callee_answer_sent", "callee sends the answer"),
    ("ph_caller_answer", "caller receives the answer"),
    ("ph_caller_answer_applied", "caller's setRemoteDescription(answer) done"),
    ("ph_callee_ice", "callee ICE connected"),
    ("ph_callee_dtls", "callee DTLS connected"),
    ("ph_callee_received", "callee receives its first video frame (last packet)"),
    ("ph_callee_decoded", "callee's first frame decoded"),
)


def render(calls: list[Sample], baseline: list[Sample], warm: list[tuple[Sample, Sample]],
           info: dict[str, str], db_desc: str, command: str, args: argparse.Namespace
           ) -> tuple[str, dict[str, Any]]:
    server = shlex.join(server_cmd(args.server, 0)).replace(str(BIN) + "/", ".venv/bin/") \
        .replace("127.0.0.1:0", "127.0.0.1:PORT").replace("--port 0", "--port PORT")
    lines = [
        f"`{command}`",
        "",
        f"Machine: {info['nproc']} CPU(s) ({info['cpu']}), Python {info['python']}, "
        f"{db_desc}, {chromium_version()}; load average {info['load']} at the start, "
        f"{info['load_end']} at the end. Server: `{server}`. {args.calls} video calls "
        f"counted (after {args.warmup} warm-up), one after the other in one consultation, "
        "two headless Chromium instances with fake devices on loopback"
        + ("; both Chromium instances started anew before every call" if args.fresh
           else "; both room pages (and the baseline's) reloaded before every call"
           if args.reload else "")
        + "; the baseline (two RTCPeerConnections in one page, no server) interleaved, "
          "one after each call.",
        "",
        "| measure (ms) | app p50 | app p95 | app max | baseline p50 | baseline p95 | "
        "baseline max | p50 ratio | p95 ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    out: dict[str, Any] = {"db": args.db, "server": args.server, "calls": len(calls),
                           "machine": info, "app": {}, "baseline": {}}
    for key, label in MEASURES:
        a = stats(calls, key)
        b = stats(baseline, key) if key != "caller_active_to_frame" else \
            {"n": 0, "p50": math.nan, "p95": math.nan, "max": math.nan}
        out["app"][key] = a
        out["baseline"][key] = b
        lines.append(f"| {label} | {fmt(a['p50'])} | {fmt(a['p95'])} | {fmt(a['max'])} | "
                     f"{fmt(b['p50'])} | {fmt(b['p95'])} | {fmt(b['max'])} | "
                     f"{ratio(a['p50'], b['p50'])} | {ratio(a['p95'], b['p95'])} |")
    lines += ["", "Median time from Accept at which each step happened (app; baseline where "
              "it has the step):", "", "| step | app p50 | app p95 | baseline p50 |",
              "|---|---:|---:|---:|"]
    for key, label in PHASES:
        a, b = stats(calls, key), stats(baseline, key)
        out["app"][key] = a
        out["baseline"][key] = b
        lines.append(f"| {label} | {fmt(a['p50'])} | {fmt(a['p95'])} | {fmt(b['p50'])} |")
    verdicts = []
    for key, who in (("callee_decoded", "callee"), ("caller_decoded", "caller")):
        p95 = out["app"][key]["p95"]
        ok = p95 < TARGET_P95_MS
        verdicts.append(f"accept → {who}'s first decoded frame p95 {fmt(p95)} ms: "
                        + ("meets" if ok else "**misses**")
                        + f" the target (under {TARGET_P95_MS:.0f} ms).")
    out["meets_target"] = all(out["app"][k]["p95"] < TARGET_P95_MS
                              for k in ("callee_decoded", "caller_decoded"))
    lines += ["", "Against the target:", ""] + [f"- {v}" for v in verdicts]
    if warm:
        out["warmup"] = [{"app": {k: c.values.get(k) for k in ("callee_decoded", "caller_decoded",
                                                             "callee_ice", "callee_dtls",
                                                             "ph_callee_gum_done")},
                          "baseline": {k: b.values.get(k) for k in ("callee_decoded",
                                                                  "caller_decoded")}}
                         for c, b in warm]
        lines += ["", "Warm-up (not counted; the first call of newly started browsers): "
                  + "; ".join(
            f"accept → first decoded frame: callee {fmt(c.values['callee_decoded'])} ms, "
            f"caller {fmt(c.values['caller_decoded'])} ms (callee's getUserMedia "
            f"{fmt(c.values['ph_callee_gum_done'])} ms, ICE {fmt(c.values['callee_ice'])} ms), "
            f"baseline {fmt(b.values['callee_decoded'])} / {fmt(b.values['caller_decoded'])} ms"
            for c, b in warm) + "."]
    notes = [f"call {i + 1}: {s.note}" for i, s in enumerate(calls) if s.note]
    if notes:
        lines += ["", "Notes: " + "; ".join(notes)]
    return "\n".join(lines) + "\n", out


def no_nan(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: no_nan(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [no_nan(v) for v in x]
    if isinstance(x, float):
        return None if math.isnan(x) else round(x, 1)
    return x


def chromium_version() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True,
                             timeout=30, check=False).stdout.strip()
        if out:
            return out
    return "Chromium"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--calls", type=int, default=20, help="counted calls (default 20)")
    p.add_argument("--warmup", type=int, default=1,
                   help="calls (and baseline runs) before the counted ones (default 1)")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--server", choices=("gunicorn", "flask"), default="gunicorn",
                   help="gunicorn -k gevent (default) or flask serve")
    p.add_argument("--pause", type=float, default=0.5,
                   help="seconds between one call (and its baseline) and the next")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test",
                   help="database used to create and drop the bench database")
    p.add_argument("--reload", action="store_true",
                   help="reload both room pages (and the baseline's) before every call: "
                        "each call is then the first of its pages")
    p.add_argument("--fresh", action="store_true",
                   help="start both Chromium instances anew before every call (signed in "
                        "with the first sign-in's cookies): each call is then the first of "
                        "its browsers, as a patient's usually is")
    p.add_argument("--raw", action="store_true",
                   help="log every call's raw stamps (performance.now() of each page)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite)")
    args = p.parse_args(argv)
    if not 1 <= args.calls <= 500 or not 0 <= args.warmup <= 20:
        p.error("--calls is 1 to 500, --warmup 0 to 20")
    if not 0 <= args.pause <= 10:
        p.error("--pause is 0 to 10 s")
    if urlsplit(args.pg_url).hostname not in ("127.0.0.1", "localhost"):
        p.error("--pg-url must point at 127.0.0.1")
    if not Path(CHROMIUM).exists():
        p.error(f"{CHROMIUM} is missing")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = shlex.join([".venv/bin/python", "bench/calls.py", *argv])
    info = machine()
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="pd-bench-calls-"))
    (tmp / "instance").mkdir()
    problems: list[str] = []
    try:
        with fresh_database(args.db, tmp, args.pg_url, "pd_bench_calls") as (url, db_desc):
            port = free_port()
            env = app_env(url, tmp, port)
            t0 = time.perf_counter()
            proc = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
                                  cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=180, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"flask db upgrade failed:\n{proc.stdout}\n{proc.stderr}")
            log(f"flask db upgrade: {time.perf_counter() - t0:.1f}s ({db_desc})")
            people = seed(env)
            with running_server(args.server, port, env, tmp) as err_path:
                calls, baseline, warm, errors = run_calls(f"http://127.0.0.1:{port}", people, args)
                time.sleep(0.5)
                problems += [f"{args.server} stderr:\n{tb}" for tb in tracebacks(err_path)]
            problems += [f"page error: {e}" for e in errors if "favicon" not in e]
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    info["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    body, figures = render(calls, baseline, warm, info, db_desc, command, args)
    print()
    print(body)
    print(json.dumps(no_nan(figures), separators=(",", ":")))
    for p in problems:
        print(p, file=sys.stderr)
    log(f"total {time.monotonic() - started:.0f}s")
    return 1 if problems or len(calls) < args.calls else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
