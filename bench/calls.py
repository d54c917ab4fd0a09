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
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path and bench/activation.py would shadow
# the app's ``activation`` package; the app's own code is imported from ROOT.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.harness import cli, env, log, machine, report  # noqa: E402
from bench.harness.db import fresh_database, upgrade  # noqa: E402
from bench.harness.servers import (  # noqa: E402
    flask,
    free_port,
    gunicorn,
    running,
    shown,
    tracebacks,  # noqa: E402
)
from bench.scenarios.calls.browsers import CHROMIUM, Calls, run_calls  # noqa: E402
from bench.scenarios.calls.report import no_nan, render  # noqa: E402
from bench.scenarios.calls.seed import seed  # noqa: E402


def server_cmd(kind: str, port: int) -> list[str]:
    if kind == "flask":
        return flask("serve", "--port", str(port))
    return gunicorn(port, "-k", "gevent", "-w", "1", "--worker-connections", "1000",
                    "--graceful-timeout", "5")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = cli.parser(__doc__)
    p.add_argument("--calls", type=int, default=20, help="counted calls (default 20)")
    p.add_argument("--warmup", type=int, default=1,
                   help="calls (and baseline runs) before the counted ones (default 1)")
    cli.add_database(p, "postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--server", choices=("gunicorn", "flask"), default="gunicorn",
                   help="gunicorn -k gevent (default) or flask serve")
    p.add_argument("--pause", type=float, default=0.5,
                   help="seconds between one call (and its baseline) and the next")
    p.add_argument("--reload", action="store_true",
                   help="reload both room pages (and the baseline's) before every call: "
                        "each call is then the first of its pages")
    p.add_argument("--fresh", action="store_true",
                   help="start both Chromium instances anew before every call (signed in "
                        "with the first sign-in's cookies): each call is then the first of "
                        "its browsers, as a patient's usually is")
    p.add_argument("--raw", action="store_true",
                   help="log every call's raw stamps (performance.now() of each page)")
    cli.add_output(p, write=False)
    args = p.parse_args(argv)
    if not 1 <= args.calls <= 500 or not 0 <= args.warmup <= 20:
        p.error("--calls is 1 to 500, --warmup 0 to 20")
    if not 0 <= args.pause <= 10:
        p.error("--pause is 0 to 10 s")
    cli.check_local(p, args)
    if not Path(CHROMIUM).exists():
        p.error(f"{CHROMIUM} is missing")
    return args


def run(args: argparse.Namespace, tmp: Path) -> tuple[Calls, list[str], str]:
    """Data, the server, the calls; what they gave, problems, the database's description."""
    problems: list[str] = []
    with fresh_database(args.db, tmp, args.pg_url, "pd_bench_calls") as (url, db_desc):
        port = free_port()
        app_env = env.for_app(url, tmp, BASE_URL=f"http://127.0.0.1:{port}",
                              MEDIA_WORKERS="0")  # flask serve: no media worker
        upgrade(app_env, db_desc)
        people = seed(app_env)
        with running(args.server, server_cmd(args.server, port), port, tmp,
                     app_env) as server:
            got = run_calls(server.base, people, args)
            time.sleep(0.5)
            problems += [f"{args.server} stderr:\n{tb}" for tb in tracebacks(server.err_path)]
        problems += [f"page error: {e}" for e in got.errors if "favicon" not in e]
    return got, problems, db_desc


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = report.command("calls.py", argv)
    info = machine.machine()
    started = time.monotonic()
    with cli.workdir("pd-bench-calls-", args.keep) as tmp:
        got, problems, db_desc = run(args, tmp)
    info["load_end"] = machine.load()
    body, figures = render(got.calls, got.baseline, got.warm, info, db_desc, command, args,
                           shown(server_cmd(args.server, 0)))
    print()
    print(body)
    print(json.dumps(no_nan(figures), separators=(",", ":")))
    for p in problems:
        print(p, file=sys.stderr)
    log(f"total {time.monotonic() - started:.0f}s")
    return 1 if problems or len(got.calls) < args.calls else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
