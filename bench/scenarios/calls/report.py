"""The call set-up figures: a table of percentiles (app, baseline, ratios), the median
phase breakdown, and the same as JSON."""

from __future__ import annotations

import argparse
import contextlib
import math
import subprocess
from typing import Any

from bench.harness import machine
from bench.harness.stats import ms, nearest_rank, times
from bench.scenarios.calls.browsers import CHROMIUM
from bench.scenarios.calls.samples import Sample

TARGET_P95_MS = 1500.0
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
NONE = {"n": 0, "p50": math.nan, "p95": math.nan, "max": math.nan}


def stats(samples: list[Sample], key: str) -> dict[str, float]:
    ok = [v for v in (s.values.get(key, math.nan) for s in samples) if not math.isnan(v)]
    return {"n": len(ok), "p50": nearest_rank(ok, 50), "p95": nearest_rank(ok, 95),
            "max": max(ok) if ok else math.nan}


def chromium_version() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True,
                             timeout=30, check=False).stdout.strip()
        if out:
            return out
    return "Chromium"


def no_nan(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: no_nan(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [no_nan(v) for v in x]
    if isinstance(x, float):
        return None if math.isnan(x) else round(x, 1)
    return x


def render(calls: list[Sample], baseline: list[Sample], warm: list[tuple[Sample, Sample]],
           info: dict[str, str], db_desc: str, command: str, args: argparse.Namespace,
           server: str) -> tuple[str, dict[str, Any]]:
    """The Markdown and the JSON figures; ``server``: its command as the docs show it."""
    how = ("; both Chromium instances started anew before every call" if args.fresh
           else "; both room pages (and the baseline's) reloaded before every call"
           if args.reload else "")
    lines = [
        f"`{command}`",
        "",
        machine.line(info, f"{db_desc}, {chromium_version()}") + f" Server: `{server}`. "
        f"{args.calls} video calls counted (after {args.warmup} warm-up), one after the "
        "other in one consultation, two headless Chromium instances with fake devices on "
        f"loopback{how}; the baseline (two RTCPeerConnections in one page, no server) "
        "interleaved, one after each call.",
        "",
    ]
    out: dict[str, Any] = {"db": args.db, "server": args.server, "calls": len(calls),
                           "machine": info, "app": {}, "baseline": {}}
    lines += _measures(calls, baseline, out) + [""] + _phases(calls, baseline, out)
    lines += ["", "Against the target:", ""] + [f"- {v}" for v in _verdicts(out)]
    if warm:
        lines += ["", _warmup(warm, out)]
    notes = [f"call {i + 1}: {s.note}" for i, s in enumerate(calls) if s.note]
    if notes:
        lines += ["", "Notes: " + "; ".join(notes)]
    return "\n".join(lines) + "\n", out


def _measures(calls: list[Sample], baseline: list[Sample], out: dict[str, Any]) -> list[str]:
    lines = ["| measure (ms) | app p50 | app p95 | app max | baseline p50 | baseline p95 | "
             "baseline max | p50 ratio | p95 ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, label in MEASURES:
        a = stats(calls, key)
        b = stats(baseline, key) if key != "caller_active_to_frame" else dict(NONE)
        out["app"][key], out["baseline"][key] = a, b
        lines.append(f"| {label} | {ms(a['p50'])} | {ms(a['p95'])} | {ms(a['max'])} | "
                     f"{ms(b['p50'])} | {ms(b['p95'])} | {ms(b['max'])} | "
                     f"{times(a['p50'], b['p50'], 2)} | {times(a['p95'], b['p95'], 2)} |")
    return lines


def _phases(calls: list[Sample], baseline: list[Sample], out: dict[str, Any]) -> list[str]:
    lines = ["Median time from Accept at which each step happened (app; baseline where it has "
             "the step):", "", "| step | app p50 | app p95 | baseline p50 |",
             "|---|---:|---:|---:|"]
    for key, label in PHASES:
        a, b = stats(calls, key), stats(baseline, key)
        out["app"][key], out["baseline"][key] = a, b
        lines.append(f"| {label} | {ms(a['p50'])} | {ms(a['p95'])} | {ms(b['p50'])} |")
    return lines


def _verdicts(out: dict[str, Any]) -> list[str]:
    verdicts = []
    for key, who in (("callee_decoded", "callee"), ("caller_decoded", "caller")):
        p95 = out["app"][key]["p95"]
        verdicts.append(f"accept → {who}'s first decoded frame p95 {ms(p95)} ms: "
                        + ("meets" if p95 < TARGET_P95_MS else "**misses**")
                        + f" the target (under {TARGET_P95_MS:.0f} ms).")
    out["meets_target"] = all(out["app"][k]["p95"] < TARGET_P95_MS
                              for k in ("callee_decoded", "caller_decoded"))
    return verdicts


def _warmup(warm: list[tuple[Sample, Sample]], out: dict[str, Any]) -> str:
    keys = ("callee_decoded", "caller_decoded", "callee_ice", "callee_dtls",
            "ph_callee_gum_done")
    out["warmup"] = [{"app": {k: c.values.get(k) for k in keys},
                      "baseline": {k: b.values.get(k) for k in keys[:2]}} for c, b in warm]
    return "Warm-up (not counted; the first call of newly started browsers): " + "; ".join(
        f"accept → first decoded frame: callee {ms(c.values['callee_decoded'])} ms, "
        f"caller {ms(c.values['caller_decoded'])} ms (callee's getUserMedia "
        f"{ms(c.values['ph_callee_gum_done'])} ms, ICE {ms(c.values['callee_ice'])} ms), "
        f"baseline {ms(b.values['callee_decoded'])} / {ms(b.values['caller_decoded'])} ms"
        for c, b in warm) + "."
