"""One call in the room, and one baseline negotiation, as milliseconds from "Accept":
what the pages stamped, put on one clock."""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from bench.harness import log
from bench.scenarios.calls.pagejs import (
    BASELINE_JS,
    FRAME_DONE_JS,
    IDLE_JS,
    PRESENTED_JS,
    READ_JS,
)

CALL_TIMEOUT_MS = 20_000
STAMPS = ("ice", "dtls", "decoded", "frame", "presented", "frame_received", "packet")


@dataclass
class Sample:
    """One call (or one baseline negotiation): milliseconds from "Accept"."""

    values: dict[str, float] = field(default_factory=dict)
    note: str = ""


def rel(t: Any, origin: float) -> float:
    return float(t) - origin if isinstance(t, int | float) else math.nan


def _sides(s: Sample, sides: tuple[tuple[str, dict[str, Any], float], ...]) -> None:
    """Each side's stamps from its origin; the getStats poll where no frame callback
    fired."""
    v = s.values
    for side, r, origin in sides:
        for k in STAMPS:
            v[f"{side}_{k}"] = rel(r.get(k), origin)
        if math.isnan(v[f"{side}_decoded"]):  # no requestVideoFrameCallback: the poll's
            v[f"{side}_decoded"] = v[f"{side}_frame"]
            s.note = "requestVideoFrameCallback did not fire: getStats poll used"


def _common_phases(v: dict[str, float]) -> None:
    v["ph_callee_ice"] = v["callee_ice"]
    v["ph_callee_dtls"] = v["callee_dtls"]
    v["ph_callee_received"] = v["callee_frame_received"]
    v["ph_callee_decoded"] = v["callee_decoded"]


def _place_call(doctor: Any, patient: Any) -> None:
    """The doctor calls, the patient accepts; wait for both sides' first frame."""
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
            page.wait_for_function(PRESENTED_JS, timeout=2000, polling=50)


def _hang_up(doctor: Any, patient: Any) -> None:
    """The doctor hangs up; wait until both pages are idle again."""
    from playwright.sync_api import expect

    doctor.click("#call-hangup")
    for page in (doctor, patient):
        expect(page.locator("#call-status")).to_have_text("The call has ended.")
        page.wait_for_function(IDLE_JS, timeout=10_000)


def one_call(doctor: Any, patient: Any, i: int, raw: bool = False) -> Sample:
    _place_call(doctor, patient)
    p, d = patient.evaluate(READ_JS), doctor.evaluate(READ_JS)
    if raw:
        log(f"call {i} raw: patient {json.dumps(p)}")
        log(f"call {i} raw: doctor {json.dumps(d)}")
    accept = p["marks"].get("accept")
    if accept is None:
        raise RuntimeError(f"call {i}: the accept click was not stamped: {p['marks']}")
    s = _call_sample(p, d, accept)
    if any(r.get("failed") is not None for r in p["pcs"] + d["pcs"]):
        raise RuntimeError(f"call {i}: a connection failed: {p['pcs']} {d['pcs']}")
    _hang_up(doctor, patient)
    return s


def _call_sample(p: dict[str, Any], d: dict[str, Any], accept: float) -> Sample:
    """The patient's (callee's) and doctor's (caller's) stamps on the patient's clock."""
    s = Sample()
    shift = d["off"] - p["off"]  # doctor's performance.now() + shift = patient's timebase
    pp, dp = p["pcs"][0], d["pcs"][0]
    pm, dm = p["marks"], d["marks"]
    v = s.values
    _sides(s, (("callee", pp, accept), ("caller", dp, accept - shift)))
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
    _common_phases(v)
    v["caller_active_to_frame"] = v["caller_decoded"] - v["ph_caller_active"]
    if len(p["pcs"]) > 1 or len(d["pcs"]) > 1:
        s.note = f"{len(d['pcs'])} connections on the caller, {len(p['pcs'])} on the callee"
    return s


def one_baseline(page: Any) -> Sample:
    got = page.evaluate(BASELINE_JS, CALL_TIMEOUT_MS)
    callee, caller = got["callee"], got["caller"]
    if "frame" not in callee or "frame" not in caller:
        raise RuntimeError(f"baseline: no frame: {got}")
    s = Sample()
    v = s.values
    _sides(s, (("callee", callee, 0.0), ("caller", caller, 0.0)))
    v["ph_callee_gum_done"] = float(got["gum"])
    v["ph_callee_offer_applied"] = float(callee.get("remote_offer", math.nan))
    v["ph_caller_answer_applied"] = float(caller.get("stable", math.nan))
    _common_phases(v)
    return s
