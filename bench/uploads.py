"""Benchmark of medical documents (issue 6): upload memory, sealing throughput, thumbnails.

What it measures, in one run against a fresh database it creates and drops itself:

1. **Server memory during a 20 MB upload**, under two servers one after the other;
   the client is ``curl`` in its own process, so its buffers are not counted. Two
   uploads: a ~20 MB PDF (a text first page, then pages of random-noise JPEGs so it
   does not compress; it passes intake and is sealed and stored, 201) and 20,000,000
   random bytes (the raw streaming path: the multipart body parsed into the request's
   unnamed temporary file, then refused by type, 422). Per upload, worst of 3 after a
   warm-up of the same kind, two figures: the Python heap's peak during the request
   above its level before (``tracemalloc``), and the resident set's peak above its size
   before (``VmHWM`` after ``echo 5 > /proc/self/clear_refs``, which resets the peak,
   and ``malloc_trim(0)``, so freed heap is given back first; this counts native memory
   too: PDFium, Pillow, OpenSSL, thread stacks, but only pages actually touched).
   Target: growth under 3x the sealing segment (``core.sealed.SEGMENT``, 1 MiB).

   * werkzeug's threaded server (what ``flask serve`` runs) in this process
     (``make_server(..., threaded=True)`` in a thread, ``tracemalloc`` on): measured
     until the app has produced its answer (a WSGI middleware reads the figures then:
     request parsing included) and over the whole request, which adds the server's own
     read of the socket after the response (``rfile.read(10_000_000)``).
   * gunicorn's gevent worker (one, as deployed): gunicorn hooks start ``tracemalloc``
     just before each request and read it just after (so the figure is what the request
     allocated and still held at its peak), with the same resident-set figure. The
     worker reads the repository's gunicorn.conf.py (64 KiB body reads) as deployed;
     ``--gunicorn-body-chunk N`` sets gunicorn's ``SocketUnreader.max_body_chunk`` (the
     largest ``recv`` while reading a body; 1 MiB is gunicorn 27's own) to N bytes
     instead, to measure that setting.

   Then each step of the PDF upload is run alone in this process under
   ``tracemalloc`` (intake.prepare, vault.put), with where the memory is while
   vault.put writes, to show where a peak comes from.
2. **Throughput into encrypted storage.** (a) In this process, from a 20 MB file in
   the page cache, median of ``--reps``: ``vault.put`` (SHA-256 + AES-256-GCM sealing +
   write + fsync into ``LocalDiskStore``), ``seal`` into the store without the hash,
   against two baselines in the same run: a plain copy (``shutil.copyfileobj`` with
   1 MiB buffers + fsync) and SHA-256 alone. (b) End to end over HTTP under both
   servers (tracemalloc off): the 20 MB PDF through ``POST /documents/`` (parsing, PDF
   check and first-page thumbnail, sealing, the row and its audit entry) and the
   raw-path upload, against the same PDF posted to ``/bench/drop`` on the same server,
   a bare WSGI function that reads the body in 64 KiB pieces and drops it. MB/s are of
   the file's bytes (10^6 bytes per MB). Target: at least 50 MB/s.
3. **Thumbnail time per image**: ``intake.prepare`` (decode, re-encode, thumbnail) and
   the thumbnail alone, median of ``--image-reps``, for a 12 MP JPEG photo (4000x3000,
   gradients and noise), a 3 MP greyscale PNG scan of text, a 12 MP HEIC photo (same
   picture, saved with pillow_heif), a 10-page PDF report and the 20 MB PDF.

The app is built with CSRF off (``WTF_CSRF_ENABLED=False``: curl posts no token) and
rate limits off (``RATELIMIT_ENABLED=False``: uploads are limited to 60 an hour per
user); everything else is the app's configuration, with fresh DATA_KEYS and
DOCUMENT_KEYS and DOCUMENTS_DIR in the run's temp dir. No virus scanner.

Run it by hand from the repository root (CI does not run it)::

    .venv/bin/python bench/uploads.py                  # SQLite in a temp dir
    .venv/bin/python bench/uploads.py --db postgres    # needs PostgreSQL on 127.0.0.1
    .venv/bin/python bench/uploads.py --write          # update docs/performance.md

Only 127.0.0.1 is contacted; needs ``curl``. A run takes about a minute on a 2-core
machine. The exit status is 1 when an upload got an unexpected answer.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import hashlib
import io
import logging
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "performance.md"
ZONE = ZoneInfo("Asia/Almaty")
PASSWORD = "bench-uploads-password-1"  # noqa: S105 (fixed on purpose)
BIG = 20_000_000  # bytes in "a 20 MB upload"
MB = 1_000_000
THROUGHPUT_TARGET = 50.0  # MB/s
MEMORY_TARGET = 3  # x core.sealed.SEGMENT
APP_ENV = ("DATABASE_URL", "SECRET_KEY", "BASE_URL", "TIMEZONE", "MAIL_SERVER", "REDIS_URL",
           "ACTIVATION_CODE_KEY", "DATA_KEYS", "DOCUMENT_KEYS", "DOCUMENTS_DIR",
           "DOCUMENT_STORAGE", "UPLOAD_TMP_DIR", "CLAMD_SOCKET", "INSTANCE_PATH", "FLASK_APP")

from bench._common import free_port, fresh_database, log, machine  # noqa: E402

# --------------------------------------------------------------------------- samples


def _noise(size: tuple[int, int], seed: int) -> Any:
    """An RGB image of uniform random pixels (incompressible)."""
    from PIL import Image

    w, h = size
    return Image.frombytes("RGB", size, hashlib.shake_256(seed.to_bytes(8, "big"))
                           .digest(w * h * 3))


def _jpeg(image: Any, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def big_pdf(target: int = BIG) -> bytes:
    """A valid PDF of about ``target`` bytes: a text first page, then pages each with
    a distinct random-noise JPEG (fpdf2 keeps JPEGs as they are, so nothing shrinks)."""
    from fpdf import FPDF

    per_image = len(_jpeg(_noise((700, 700), 0)))
    pages = max(1, round((target - 20_000) / per_image))
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    for line in range(30):
        pdf.cell(text=f"Scanned discharge summary, line {line + 1}: haemoglobin 131 g/L",
                 new_x="LMARGIN", new_y="NEXT")
    for n in range(pages):
        pdf.add_page()
        pdf.image(io.BytesIO(_jpeg(_noise((700, 700), n + 1))), x=10, y=10, w=190)
    return bytes(pdf.output())


def photo_image() -> Any:
    """A 4000x3000 'photo': smooth colour gradients and shapes under sensor-like noise,
    so it compresses like a real photo (a few MB as JPEG), not like a flat picture."""
    from PIL import Image, ImageDraw, ImageFilter

    size = (4000, 3000)
    red = Image.linear_gradient("L").resize(size)
    green = Image.radial_gradient("L").resize(size)
    blue = Image.linear_gradient("L").rotate(90).resize(size)
    base = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(base)
    for i in range(40):
        x, y = (i * 997) % 3800, (i * 613) % 2800
        draw.ellipse((x, y, x + 200 + i * 7, y + 150 + i * 5),
                     fill=((i * 37) % 256, (i * 91) % 256, (i * 53) % 256))
    base = base.filter(ImageFilter.GaussianBlur(3))
    noise = Image.merge("RGB", [Image.effect_noise(size, 28) for _ in range(3)])
    return Image.blend(base, noise, 0.18)


def scan_png() -> bytes:
    """A 3 MP (1500x2000) greyscale PNG of a typed page, with a little scanner noise."""
    from PIL import Image, ImageDraw, ImageFont

    size = (1500, 2000)
    page = Image.new("L", size, 250)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=26)
    for line in range(60):
        draw.text((90, 80 + line * 30),
                  f"{line + 1:02d}  Haemoglobin 131 g/L   Leukocytes 6.2 x10^9/L   ESR 8 mm/h",
                  fill=20, font=font)
    page = Image.blend(page, Image.effect_noise(size, 30), 0.06)
    out = io.BytesIO()
    page.save(out, "PNG")
    return out.getvalue()


def heic_bytes(image: Any) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    # x265's fastest preset: the default takes tens of seconds on 12 MP of noise, and
    # quality 60 gives the size of a phone's HEIC (2-3 MB).
    image.save(out, "HEIF", quality=60, enc_params={"preset": "ultrafast"})
    return out.getvalue()


def report_pdf(photo: Any, pages: int = 10) -> bytes:
    """A 10-page lab report: text on every page, a small logo on the first."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for n in range(pages):
        pdf.add_page()
        if n == 0:
            logo = photo.resize((400, 300))
            pdf.image(io.BytesIO(_jpeg(logo)), x=150, y=10, w=40)
        for line in range(45):
            pdf.cell(text=f"Page {n + 1} line {line + 1}: glucose 5.1 mmol/L, creatinine "
                          f"78 umol/L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# --------------------------------------------------------------------------- app


def build_app(database_url: str, tmp: Path, create: bool = True) -> Any:
    """The app on ``database_url`` with the run's keys and directories (kept in the
    environment under ``BENCH_UPLOADS_*`` for :func:`served_app`), CSRF and rate limits
    off; creates the schema when ``create``."""
    from cryptography.fernet import Fernet

    from core.app import create_app
    from core.extensions import db
    from core.sealed import new_key

    for key in APP_ENV:
        os.environ.pop(key, None)
    os.environ["INSTANCE_PATH"] = str(tmp / "instance")
    os.environ.setdefault("BENCH_UPLOADS_DATA_KEYS", Fernet.generate_key().decode())
    os.environ.setdefault("BENCH_UPLOADS_DOCUMENT_KEYS", new_key("bench"))
    os.environ["BENCH_UPLOADS_DB"] = database_url
    os.environ["BENCH_UPLOADS_TMP"] = str(tmp)
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "bench-uploads-secret-key-0123456789",
        "ACTIVATION_CODE_KEY": "bench-uploads-code-key-0123456789",
        "DATA_KEYS": os.environ["BENCH_UPLOADS_DATA_KEYS"],
        "DOCUMENT_KEYS": os.environ["BENCH_UPLOADS_DOCUMENT_KEYS"],
        "DOCUMENTS_DIR": str(tmp / "documents"),
        "UPLOAD_TMP_DIR": str(tmp / "uploading"),
        "BASE_URL": "http://127.0.0.1",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "MAIL_SERVER": None,
        "SOCKETIO_MESSAGE_QUEUE": None,
        "CLAMD_SOCKET": None,
    })
    (tmp / "uploading").mkdir(exist_ok=True)
    logging.getLogger().setLevel(logging.WARNING)  # create_app sets INFO for everything
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if create:
        with app.app_context():
            db.create_all()
    return app


def served_app() -> Any:
    """The app for the gunicorn worker (``bench.uploads:served_app()``), configured from
    the ``BENCH_UPLOADS_*`` variables the bench sets."""
    from core.app import async_mode, settle_memory

    app = build_app(os.environ["BENCH_UPLOADS_DB"], Path(os.environ["BENCH_UPLOADS_TMP"]),
                    create=False)
    app.wsgi_app = with_drop(app.wsgi_app)  # type: ignore[method-assign]
    if async_mode() == "gevent":  # as wsgi.py does
        settle_memory()
    return app


# gunicorn hooks (written to a file for ``-c``): while the file TRACE exists, each
# request runs under tracemalloc, started just before it (so the traced figure is what
# the request allocated and still held at its peak) and stopped just after; with the
# resident-set peak (VmHWM, reset before the request) one JSON line per request.
GUNICORN_CONF = """
import ctypes, gc, json, os, re, time, tracemalloc
LOG, TRACE = {log!r}, {trace!r}

def _kib(field):
    m = re.search(r"^%s:\\s+(\\d+) kB" % field, open("/proc/self/status").read(), re.M)
    return int(m.group(1)) if m else 0

def pre_request(worker, req):
    req.bench = None
    if not os.path.exists(TRACE):
        return
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    rss = _kib("VmRSS")
    open("/proc/self/clear_refs", "w").write("5")
    tracemalloc.start()
    req.bench = rss

def post_request(worker, req, environ, resp):
    if req.bench is None:
        return
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    line = {{"method": req.method, "path": req.path, "status": str(resp.status),
             "py_kib": peak / 1024, "rss_kib": _kib("VmHWM") - req.bench}}
    with open(LOG, "a") as f:
        f.write(json.dumps(line) + "\\n")
"""


@contextlib.contextmanager
def gunicorn(tmp: Path, body_chunk: int = 0) -> Iterator[tuple[str, Path, Path]]:
    """The app under gunicorn's gevent worker (one worker, as deployed per core);
    yields its base URL, the hooks' log and the trace switch file."""
    from bench._common import stop_group, tracebacks, wait_until_up

    log_path, trace = tmp / "gunicorn_memory.jsonl", tmp / "trace.on"
    conf = tmp / "gunicorn_conf.py"
    # The repository's gunicorn.conf.py first (as deployed), then the hooks.
    text = (ROOT / "gunicorn.conf.py").read_text() + "\n" + GUNICORN_CONF.format(
        log=str(log_path), trace=str(trace))
    if body_chunk:
        text += ("from gunicorn.http.unreader import SocketUnreader\n"
                 f"SocketUnreader.max_body_chunk = {body_chunk}\n")
    conf.write_text(text)
    gbin = Path(sys.executable).parent / "gunicorn"
    help_text = subprocess.run([str(gbin), "--help"], capture_output=True, text=True,
                               timeout=60, check=False).stdout
    extra = ["--no-control-socket"] if "--no-control-socket" in help_text else []
    port = free_port()
    err = tmp / "gunicorn.err"
    cmd = [str(gbin), "-k", "gevent", "-w", "1", "--graceful-timeout", "5", "-b",
           f"127.0.0.1:{port}", *extra, "-c", str(conf), "bench.uploads:served_app()"]
    with open(err, "wb") as err_file:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err_file,
                                start_new_session=True)
    try:
        wait_until_up(proc, port, "gunicorn", err)
        yield f"http://127.0.0.1:{port}", log_path, trace
    finally:
        stop_group(proc)
        for tb in tracebacks(err):
            log(f"gunicorn traceback:\n{tb}")


def measure_gunicorn_memory(curl: Curl, log_path: Path, trace: Path, path: Path, name: str,
                            expect: int, runs: int = 3, url_path: str = "/documents/"
                            ) -> dict[str, Any]:
    """Worst of ``runs`` uploads (after a warm-up) as the worker's hooks saw them."""
    import json

    url = curl.base + url_path
    curl.post(path, name, expect, url=url)
    trace.touch()
    log_path.unlink(missing_ok=True)
    try:
        for _ in range(runs):
            curl.post(path, name, expect, url=url)
    finally:
        trace.unlink()
    lines = [json.loads(x) for x in log_path.read_text().splitlines()]
    lines = [x for x in lines if x["method"] == "POST" and x["path"] == url_path]
    py, rss = [x["py_kib"] for x in lines], [float(x["rss_kib"]) for x in lines]
    return {"py": max(py), "rss": max(rss), "all": {"py": py, "rss": rss}}


def make_patient(app: Any) -> tuple[str, int]:
    """A patient account with one insured person; returns (email, insured id)."""
    from accounts import passwords
    from accounts.models import User
    from activation.models import Insured
    from core import clock
    from core.crypto import encrypt, lookup_hash
    from core.extensions import db

    with app.app_context():
        now = clock.now()
        user = User(email="bench-uploads@example.kz", role="patient",
                    product_line="personal_doctor",
                    password_hash=passwords.hash_password(PASSWORD), language="en",
                    created_at=now, password_changed_at=now, on_duty_doctor=False,
                    pediatric=False, totp_enabled=False, totp_last_step=0)
        db.session.add(user)
        db.session.flush()
        insured = Insured(account_id=user.id, iin_hash=lookup_hash("900101300017", "iin"),
                          iin_encrypted=encrypt("900101300017"), full_name="Bench Patient",
                          birth_date=date(1990, 1, 1), sex="male")
        db.session.add(insured)
        db.session.commit()
        result = user.email, insured.id
        db.session.remove()
    return result


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` under werkzeug's threaded server on a free port, in a thread."""
    from werkzeug.serving import make_server

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def drop_body(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The bare baseline: read the request body in 64 KiB pieces and drop it."""
    stream = environ["wsgi.input"]
    left = int(environ.get("CONTENT_LENGTH") or 0)
    while left > 0:
        data = stream.read(min(65536, left))
        if not data:
            break
        left -= len(data)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def with_drop(app: Any) -> Callable[..., Any]:
    """``app``, with ``POST /bench/drop`` answered by :func:`drop_body` (the baseline on
    the same server)."""
    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == "/bench/drop":
            return drop_body(environ, start_response)
        return app(environ, start_response)

    return dispatch


def http_rounds(curl: Curl, base: str, pdf_path: Path, raw_path: Path, reps: int
                ) -> dict[str, list[float]]:
    """Seconds per upload, ``reps`` rounds of the three after an untimed one: the PDF to
    the baseline, the raw upload, the PDF to ``POST /documents/``."""
    times: dict[str, list[float]] = {"bare": [], "raw": [], "pdf": []}
    for rep in range(reps + 1):
        b = curl.post(pdf_path, "scan.pdf", 200, url=f"{base}/bench/drop")
        w = curl.post(raw_path, "data.bin", 422)
        d = curl.post(pdf_path, "scan.pdf", 201)
        if rep:
            times["bare"].append(b)
            times["raw"].append(w)
            times["pdf"].append(d)
    size = pdf_path.stat().st_size
    log(f"HTTP {base}: bare {mbps(times['bare'], size):.0f} MB/s, raw "
        f"{mbps(times['raw'], BIG):.0f} MB/s, PDF {mbps(times['pdf'], size):.0f} MB/s")
    return times


def sign_in(base: str, email: str) -> str:
    """The session cookie header of a signed-in patient."""
    import requests

    with requests.Session() as s:
        r = s.post(f"{base}/login", data={"email": email, "password": PASSWORD},
                   allow_redirects=False, timeout=30)
        if r.status_code != 302:
            raise RuntimeError(f"sign-in answered {r.status_code}: {r.text[:300]}")
        return "; ".join(f"{k}={v}" for k, v in s.cookies.items())


class Curl:
    """Uploads with curl in its own process; returns (status, seconds)."""

    def __init__(self, base: str, cookie: str, insured_id: int, out: Path):
        self.base, self.cookie, self.insured_id, self.out = base, cookie, insured_id, out
        self.errors: list[str] = []

    def post(self, path: Path, name: str, expect: int, url: str | None = None) -> float:
        cmd = ["curl", "-sS", "--noproxy", "*", "-o", str(self.out), "-w",
               "%{http_code} %{time_total}", "-H", "Accept: application/json", "-H",
               "Expect:", "-H", f"Cookie: {self.cookie}",
               "-F", f"file=@{path};filename={name}", "-F", "title=Bench upload",
               "-F", "document_date=2026-01-15", "-F", "kind=lab_result",
               "-F", f"insured_id={self.insured_id}", url or f"{self.base}/documents/"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        status, _, seconds = proc.stdout.strip().partition(" ")
        if proc.returncode != 0 or status != str(expect):
            body = self.out.read_text(errors="replace")[:300] if self.out.exists() else ""
            self.errors.append(f"{name}: curl {proc.returncode} HTTP {status} {proc.stderr} "
                               f"{body}")
            log(f"unexpected answer: {self.errors[-1]}")
        return float(seconds or "nan")


# --------------------------------------------------------------------------- 1. memory


def _status_kib(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) if match else 0


def _reset_hwm() -> None:
    """Reset the process's resident-set peak (VmHWM) to its current size."""
    Path("/proc/self/clear_refs").write_text("5")


def _trim() -> None:
    """Give freed heap back to the OS, so the resident set before a request is what is
    live and a request's growth shows in the peak (glibc keeps freed memory otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Probe:
    """WSGI middleware: the Python-heap peak and VmHWM the moment the app has produced
    its response, before the server does anything else with the connection (werkzeug's
    development server then reads the socket until the client is done, in 10 MB reads:
    see the docstring of :func:`measure_memory`)."""

    def __init__(self, app: Any):
        self.app = app
        self.py_peak = 0
        self.hwm = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> list[bytes]:
        response = self.app(environ, start_response)
        try:
            body = list(response)
        finally:
            if hasattr(response, "close"):
                response.close()
        if tracemalloc.is_tracing():
            self.py_peak = tracemalloc.get_traced_memory()[1]
        self.hwm = _status_kib("VmHWM")
        return body


def measure_memory(curl: Curl, probe: Probe, path: Path, name: str, expect: int,
                   runs: int = 3) -> dict[str, Any]:
    """Peak growth (KiB) of the Python heap and of the resident set during uploads of
    ``path``, worst of ``runs`` after one warm-up: ``app_*`` until the app has answered
    (request parsing included), ``server_*`` until curl is done (the whole request under
    werkzeug's development server, whose post-response read of the socket
    ``rfile.read(10_000_000)`` allocates a 10 MB buffer whatever is left to read)."""
    curl.post(path, name, expect)  # warm-up: imports, caches, the first thread
    out: dict[str, list[float]] = {"app_py": [], "app_rss": [], "server_py": [],
                                   "server_rss": []}
    for _ in range(runs):
        _trim()
        time.sleep(0.2)
        before = tracemalloc.get_traced_memory()[0]
        rss_before = _status_kib("VmRSS")
        tracemalloc.reset_peak()
        _reset_hwm()
        curl.post(path, name, expect)
        peak = tracemalloc.get_traced_memory()[1]
        hwm = _status_kib("VmHWM")
        out["app_py"].append((probe.py_peak - before) / 1024)
        out["app_rss"].append(float(probe.hwm - rss_before))
        out["server_py"].append((peak - before) / 1024)
        out["server_rss"].append(float(hwm - rss_before))
    return {**{k: max(v) for k, v in out.items()}, "all": out}


def step_peaks(app: Any, pdf_path: Path) -> list[tuple[str, float, float]]:
    """Each step of the PDF upload alone, in this process: (step, Python peak KiB, RSS
    peak KiB) above the level before it; plus where the biggest peak is allocated."""
    from consult.documents import intake, vault

    cfg = app.config
    rows = []

    def peak_of(label: str, fn: Callable[[], Any]) -> Any:
        _trim()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        rss_before = _status_kib("VmRSS")
        _reset_hwm()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        rows.append((label, (peak - before) / 1024, float(_status_kib("VmHWM") - rss_before)))
        return result

    with app.test_request_context(), open(pdf_path, "rb") as f:
        for _ in range(2):  # the second round is the one kept (warm)
            rows.clear()
            prepared = peak_of("intake.prepare (PDF check, first-page thumbnail)",
                               lambda: intake.prepare(f, cfg["DOCUMENT_MAX_BYTES"],
                                                      cfg["DOCUMENT_MAX_PIXELS"],
                                                      cfg["DOCUMENT_MAX_PAGES"]))
            prepared.body.seek(0)
            key, _kid, _sha = peak_of("vault.put (SHA-256, seal, write, fsync)",
                                      lambda p=prepared: vault.put(p.body))
            vault.delete(key)
    return rows


def top_allocations(app: Any, pdf_path: Path, limit: int = 6) -> list[str]:
    """Where the memory is while vault.put is writing: a snapshot taken inside the
    store's write, at the moment a sealed segment is handed to it."""
    from consult.documents import vault
    from core import storage

    snaps: list[Any] = []
    original = storage.LocalDiskStore.put

    def put(self: Any, key: str, chunks: Any) -> int:
        def spy() -> Iterator[bytes]:
            for n, chunk in enumerate(chunks):
                if n == 3:
                    snaps.append(tracemalloc.take_snapshot())
                yield chunk
        return original(self, key, spy())

    storage.LocalDiskStore.put = put  # type: ignore[method-assign]
    try:
        with app.test_request_context(), open(pdf_path, "rb") as f:
            gc.collect()
            base = tracemalloc.take_snapshot()
            key, _kid, _sha = vault.put(f)
            vault.delete(key)
    finally:
        storage.LocalDiskStore.put = original  # type: ignore[method-assign]
    if not snaps:
        return []
    stats = snaps[0].compare_to(base, "lineno")
    return [f"{s.size_diff / 1024:,.0f} KiB in {s.count_diff} block(s): "
            f"{s.traceback[0].filename.replace(str(ROOT) + '/', '')}:{s.traceback[0].lineno}"
            for s in stats[:limit] if s.size_diff > 64 * 1024]


# --------------------------------------------------------------------------- 2. throughput


def measure_sealing(app: Any, path: Path, reps: int, tmp: Path) -> dict[str, list[float]]:
    """Seconds per pass over ``path`` for the sealing paths and their baselines,
    interleaved ``reps`` times after one untimed round."""
    from consult.documents import vault
    from core import storage
    from core.sealed import SEGMENT, seal

    store = storage.LocalDiskStore(app.config["DOCUMENTS_DIR"])
    copy_dir = Path(app.config["DOCUMENTS_DIR"]) / "copies"
    copy_dir.mkdir(parents=True, exist_ok=True)

    def sha_only() -> None:
        sha = hashlib.sha256()
        with open(path, "rb") as f:
            while data := f.read(SEGMENT):
                sha.update(data)

    def plain_copy() -> None:
        target = copy_dir / "copy.bin"
        with open(path, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, SEGMENT)
            dst.flush()
            os.fsync(dst.fileno())
        target.unlink()

    def seal_only() -> None:
        key = storage.new_key()
        with app.app_context(), open(path, "rb") as f:
            store.put(key, seal(f, vault.keyring()))
        store.delete(key)

    def vault_put() -> None:
        with app.app_context(), open(path, "rb") as f:
            key, _kid, _sha = vault.put(f)
            vault.delete(key)

    cases = {"sha256": sha_only, "copy": plain_copy, "seal": seal_only, "vault": vault_put}
    times: dict[str, list[float]] = {k: [] for k in cases}
    for rep in range(reps + 1):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            if rep:
                times[name].append(time.perf_counter() - t0)
    return times


# --------------------------------------------------------------------------- 3. thumbnails


def measure_images(app: Any, samples: list[tuple[str, str, bytes]], reps: int
                   ) -> list[dict[str, Any]]:
    """Median ms of intake.prepare, of decoding alone and of the thumbnail alone."""
    from consult.documents import intake

    cfg = app.config
    rows = []
    for label, kind, data in samples:
        prep, decode, thumb = [], [], []
        with app.test_request_context():
            for rep in range(reps + 1):
                f = tempfile.TemporaryFile()
                f.write(data)
                f.seek(0)
                t0 = time.perf_counter()
                prepared = intake.prepare(f, cfg["DOCUMENT_MAX_BYTES"],
                                          cfg["DOCUMENT_MAX_PIXELS"], cfg["DOCUMENT_MAX_PAGES"])
                t1 = time.perf_counter()
                info = {"type": prepared.content_type, "stored": prepared.size,
                        "thumb_bytes": len(prepared.thumbnail), "w": prepared.width,
                        "h": prepared.height, "pages": prepared.page_count}
                if prepared.body is not f:
                    prepared.body.close()
                f.seek(0)
                if kind == "pdf":
                    import pypdfium2 as pdfium

                    with intake._PDFIUM:
                        t2 = time.perf_counter()
                        pdf = pdfium.PdfDocument(f, autoclose=False)
                        t3 = time.perf_counter()
                        intake._page_image(pdf, 0, intake.THUMB_SIZE, "JPEG")
                        t4 = time.perf_counter()
                        pdf.close()
                else:
                    from PIL import ImageOps

                    t2 = time.perf_counter()
                    image = intake._open_image(f, kind, cfg["DOCUMENT_MAX_PIXELS"])
                    image.load()
                    image = ImageOps.exif_transpose(image) or image
                    t3 = time.perf_counter()
                    intake._thumbnail(image)
                    t4 = time.perf_counter()
                    image.close()
                f.close()
                if rep:  # the first round warms up the codecs
                    prep.append((t1 - t0) * 1000)
                    decode.append((t3 - t2) * 1000)
                    thumb.append((t4 - t3) * 1000)
        rows.append({"label": label, "bytes": len(data), "prepare": statistics.median(prep),
                     "decode": statistics.median(decode), "thumb": statistics.median(thumb),
                     "prepare_max": max(prep), **info})
        log(f"{label}: prepare {rows[-1]['prepare']:.0f} ms, decode {rows[-1]['decode']:.0f} "
            f"ms, thumbnail {rows[-1]['thumb']:.0f} ms")
    return rows


# --------------------------------------------------------------------------- report


def mbps(seconds: list[float], size: int) -> float:
    return size / statistics.median(seconds) / MB


def args_reps(r: dict[str, Any]) -> int:
    return len(r["http"]["werkzeug"]["bare"])


def render(r: dict[str, Any]) -> str:
    import gunicorn as gunicorn_pkg

    r["gunicorn_note"] = f", gunicorn {gunicorn_pkg.__version__}" + (
        f", `SocketUnreader.max_body_chunk = {r['body_chunk']:,}`" if r["body_chunk"] else "")
    seg_kib = r["segment"] / 1024
    lines = [f"Run {r['when']} with `{r['command']}`.", "",
             f"Machine: {r['machine']['nproc']} CPU(s) ({r['machine']['cpu']}), Python "
             f"{r['machine']['python']}, {r['db']}; load average {r['load_start']} at the "
             f"start, {r['load_end']} at the end. Servers: werkzeug's threaded server in the "
             f"bench process, then gunicorn's gevent worker (one{r['gunicorn_note']}); "
             f"client: curl in its own "
             f"process. Documents and temporary "
             f"files on {r['fs']}.", "",
             f"**Server memory during one upload** (peak growth, worst of 3 after a "
             f"warm-up; segment = {seg_kib:,.0f} KiB, target under {MEMORY_TARGET}× = "
             f"{MEMORY_TARGET * seg_kib:,.0f} KiB):", "",
             "| upload | server: measured over | Python heap | RSS |", "|---|---|---:|---:|"]

    def kib(value: float) -> str:
        return f"{value:,.0f} KiB ({value / seg_kib:.2f}×)"

    mem = r["memory"]
    for kind, label in (("pdf", f"{r['pdf_size'] / MB:.1f} MB PDF, stored (201)"),
                        ("raw", f"{BIG / MB:.1f} MB random bytes, raw streaming path, "
                                f"refused by type (422)")):
        g, w = mem[(kind, "gunicorn")], mem[(kind, "werkzeug")]
        lines += [
            f"| {label} | gunicorn gevent worker: the whole request (hooks) | "
            f"{kib(g['py'])} | {kib(g['rss'])} |",
            f"| | werkzeug threaded (`flask serve`): until the app has answered | "
            f"{kib(w['app_py'])} | {kib(w['app_rss'])} |",
            f"| | werkzeug threaded: the whole request, with the server's read after the "
            f"response | {kib(w['server_py'])} | {kib(w['server_rss'])} |"]
    b = mem[("bare", "gunicorn")]
    lines.append(f"| baseline: the PDF posted to `/bench/drop` (body read in 64 KiB pieces and "
                 f"dropped) | gunicorn gevent worker: the whole request (hooks) | "
                 f"{kib(b['py'])} | {kib(b['rss'])} |")
    lines += ["", "Each step of the PDF upload alone, in process (warm):", "",
              "| step | Python heap peak growth | RSS peak growth |", "|---|---:|---:|"]
    for label, py, rss in r["steps"]:
        lines.append(f"| {label} | {py:,.0f} KiB ({py / seg_kib:.2f}×) | {rss:,.0f} KiB "
                     f"({rss / seg_kib:.2f}×) |")
    if r["top"]:
        lines += ["", "Python heap above the level before `vault.put`, while the store "
                      "writes the fourth sealed segment (tracemalloc):", ""]
        lines += [f"- {t}" for t in r["top"]]
    size = r["sealing_size"]
    t = r["sealing"]
    base = mbps(t["copy"], size)
    lines += ["", f"**Sealing into the store** ({size:,} bytes from the page cache, "
                  f"median of {len(t['copy'])}; ratios against the plain copy):", "",
              "| path | MB/s | median s | ratio to copy (time) |", "|---|---:|---:|---:|"]
    for key, label in (("copy", "baseline: plain copy (`copyfileobj`, 1 MiB) + fsync"),
                       ("sha256", "baseline: SHA-256 alone (read + hash)"),
                       ("seal", "`seal` → `LocalDiskStore.put` (AES-256-GCM + write + fsync)"),
                       ("vault", "**`vault.put`** (SHA-256 + seal + write + fsync)")):
        lines.append(f"| {label} | {mbps(t[key], size):,.0f} | "
                     f"{statistics.median(t[key]):.3f} | "
                     f"{base / mbps(t[key], size):.2f}× |")
    lines += ["", f"**End to end over HTTP** (curl, one upload at a time, median of "
                  f"{args_reps(r)}; MB/s of the file's bytes; ratios against the same bytes "
                  f"posted to a WSGI function on the same server that reads and drops the "
                  f"body):", "",
              "| server | upload | answer | MB/s | median s | ratio to bare (time) |",
              "|---|---|---|---:|---:|---:|"]
    for server, title in (("gunicorn", "gunicorn gevent"), ("werkzeug", "werkzeug threaded")):
        h = r["http"][server]
        hbase = mbps(h["bare"], r["pdf_size"])
        for key, label, answer, n in (
                ("bare", "baseline: body read and dropped", "200", r["pdf_size"]),
                ("raw", "random bytes: parsed into the temporary file, refused by type",
                 "422", BIG),
                ("pdf", "**20 MB PDF: `POST /documents/`**", "201", r["pdf_size"])):
            lines.append(f"| {title} | {label} | {answer} | {mbps(h[key], n):,.0f} | "
                         f"{statistics.median(h[key]):.3f} | "
                         f"{hbase / mbps(h[key], n):.2f}× |")
    lines += ["", f"**Thumbnails** (`intake.prepare` in process, median of "
                  f"{r['image_reps']} after a warm-up; \"decode\" is opening and loading the "
                  f"image or opening the PDF; the thumbnail is the 320 px JPEG from the "
                  f"decoded image or first page):", "",
              "| file | bytes | stored as | prepare (ms) | decode (ms) | thumbnail (ms) |",
              "|---|---:|---|---:|---:|---:|"]
    for row in r["images"]:
        what = (f"{row['type']}, {row['pages']} pages" if row["pages"] else
                f"{row['type']} {row['w']}×{row['h']}, {row['stored']:,} bytes")
        lines.append(f"| {row['label']} | {row['bytes']:,} | {what} | {row['prepare']:,.0f} | "
                     f"{row['decode']:,.0f} | {row['thumb']:,.0f} |")
    return "\n".join(lines) + "\n"


SECTION = """## Documents (issue 6)

`bench/uploads.py` (see its docstring) uploads with `curl` from its own process to the
app under werkzeug's threaded server (what `flask serve` runs, in the bench's process
with `tracemalloc` on), then under gunicorn's gevent worker (as deployed; hooks trace
each request), and times sealing and thumbnails in process. CSRF and rate limits are
off for the run (curl posts no token; uploads are limited to 60 an hour per user); no
virus scanner. Targets (issue 6): a 20 MB upload streams, the server's memory growing by
less than 3× the sealing segment (`core.sealed.SEGMENT`, 1 MiB; werkzeug's multipart
reads are 64 KiB); at least 50 MB/s into encrypted storage on this machine; thumbnail
time per image. The Python heap figure is tracemalloc's peak during the request above
its level before; the RSS figure is the process's peak resident set (`VmHWM`, reset
through `/proc/self/clear_refs`, after `malloc_trim`) above its resident set before, so
it includes native memory (PDFium, Pillow, OpenSSL, stacks) and the allocator's habits.

"""


NOTES = "<!-- bench:uploads:notes -->"


def write_doc(db: str, body: str) -> None:
    begin, end = f"<!-- bench:uploads:{db}:begin -->", f"<!-- bench:uploads:{db}:end -->"
    title = "SQLite" if db == "sqlite" else "PostgreSQL"
    block = f"{begin}\n### {title}\n\n{body}{end}\n"
    text = DOC.read_text(encoding="utf-8")
    heading = "## Documents (issue 6)"
    if heading not in text:
        text = text.rstrip("\n") + "\n\n" + SECTION
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block.rstrip("\n") + rest.split(end, 1)[1]
    else:  # at the end of the section, before its hand-written notes if there are any
        start = text.index(heading)
        nxt = text.find("\n## ", start + 1)
        notes = text.find(NOTES, start)
        cut = notes if notes >= 0 and (nxt < 0 or notes < nxt) else \
            (len(text) if nxt < 0 else nxt + 1)
        text = text[:cut].rstrip("\n") + "\n\n" + block + ("\n" + text[cut:]
                                                           if cut < len(text) else "")
    DOC.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    log(f"updated {DOC.relative_to(ROOT)}")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                   help="maintenance database used to create and drop the bench database")
    p.add_argument("--reps", type=int, default=7,
                   help="timed passes per sealing path and per HTTP upload (default 7)")
    p.add_argument("--image-reps", type=int, default=5,
                   help="timed prepares per sample image (default 5)")
    p.add_argument("--gunicorn-body-chunk", type=int, default=0, metavar="BYTES",
                   help="set gunicorn's SocketUnreader.max_body_chunk (default: what "
                        "gunicorn.conf.py sets, 64 KiB)")
    p.add_argument("--write", action="store_true", help="update docs/performance.md")
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = p.parse_args(argv)
    if min(args.reps, args.image_reps) < 1:
        p.error("counts must be positive")
    if urlsplit(args.pg_url).hostname not in ("127.0.0.1", "localhost"):
        p.error("--pg-url must point at 127.0.0.1")
    if not shutil.which("curl"):
        p.error("curl is needed")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = shlex.join([".venv/bin/python", "bench/uploads.py", *argv])
    from core import clock
    from core.sealed import SEGMENT

    when = clock.now().astimezone(ZONE).strftime("%Y-%m-%d %H:%M %Z")
    info = machine()
    load_start = info["load"]
    tmp = Path(tempfile.mkdtemp(prefix="pd_bench_uploads_"))
    fs = subprocess.run(["df", "--output=fstype", str(tmp)], capture_output=True, text=True,
                        check=False).stdout.split()[-1:] or ["?"]
    errors: list[str] = []
    try:
        log("making the sample files")
        pdf = big_pdf()
        pdf_path = tmp / "big.pdf"
        pdf_path.write_bytes(pdf)
        raw_path = tmp / "random.bin"
        raw_path.write_bytes(hashlib.shake_256(b"raw").digest(BIG))
        photo = photo_image()
        photo_jpeg = _jpeg(photo, 92)
        samples = [("12 MP JPEG photo (4000×3000)", "jpeg", photo_jpeg),
                   ("3 MP PNG scan, greyscale text (1500×2000)", "png", scan_png()),
                   ("12 MP HEIC photo (4000×3000)", "heif", heic_bytes(photo)),
                   ("10-page PDF report", "pdf", report_pdf(photo)),
                   (f"{len(pdf) / MB:.1f} MB PDF (text first page, noise images after)",
                    "pdf", pdf)]
        del photo
        log(f"PDF {len(pdf):,} bytes; JPEG {len(photo_jpeg):,}; HEIC {len(samples[2][2]):,}; "
            f"PNG {len(samples[1][2]):,}")
        with fresh_database(args.db, tmp, args.pg_url, prefix="pd_bench_uploads") as (url, dbd):
            app = build_app(url, tmp)
            email, insured_id = make_patient(app)
            probe = Probe(app.wsgi_app)
            app.wsgi_app = with_drop(probe)  # type: ignore[method-assign]
            try:
                log("1. werkzeug's threaded server in this process (as `flask serve`)")
                with serving(app) as base:
                    curl = Curl(base, sign_in(base, email), insured_id, tmp / "answer.json")
                    tracemalloc.start()
                    memory = {
                        ("pdf", "werkzeug"): measure_memory(curl, probe, pdf_path, "scan.pdf",
                                                            201),
                        ("raw", "werkzeug"): measure_memory(curl, probe, raw_path, "data.bin",
                                                            422)}
                    for key, m in memory.items():
                        log(f"{key}: " + ", ".join(
                            f"{k} +{m[k]:,.0f} KiB {[round(x) for x in m['all'][k]]}"
                            for k in ("app_py", "app_rss", "server_py", "server_rss")))
                    steps = step_peaks(app, pdf_path)
                    for label, py, rss in steps:
                        log(f"step {label}: Python +{py:,.0f} KiB, RSS +{rss:,.0f} KiB")
                    top = top_allocations(app, pdf_path)
                    for line in top:
                        log(f"  {line}")
                    tracemalloc.stop()
                    http = {"werkzeug": http_rounds(curl, base, pdf_path, raw_path, args.reps)}
                    errors += curl.errors

                log("2. gunicorn's gevent worker (as deployed)")
                with gunicorn(tmp, args.gunicorn_body_chunk) as (gbase, memlog, trace):
                    curl = Curl(gbase, sign_in(gbase, email), insured_id, tmp / "answer.json")
                    for kind, path, name, expect in (("pdf", pdf_path, "scan.pdf", 201),
                                                     ("raw", raw_path, "data.bin", 422)):
                        m = measure_gunicorn_memory(curl, memlog, trace, path, name, expect)
                        memory[(kind, "gunicorn")] = m
                        log(f"{kind} gunicorn: Python +{m['py']:,.0f} KiB "
                            f"{[round(x) for x in m['all']['py']]}, RSS +{m['rss']:,.0f} KiB "
                            f"{[round(x) for x in m['all']['rss']]}")
                    m = measure_gunicorn_memory(curl, memlog, trace, pdf_path, "scan.pdf", 200,
                                                url_path="/bench/drop")
                    memory[("bare", "gunicorn")] = m
                    log(f"bare gunicorn: Python +{m['py']:,.0f} KiB, RSS +{m['rss']:,.0f} KiB")
                    http["gunicorn"] = http_rounds(curl, gbase, pdf_path, raw_path, args.reps)
                    errors += curl.errors

                log("3. sealing into the store (in process, tracemalloc off)")
                sealing = measure_sealing(app, pdf_path, args.reps, tmp)
                for k, v in sealing.items():
                    log(f"{k}: {mbps(v, len(pdf)):.0f} MB/s")

                log("4. thumbnails")
                images = measure_images(app, samples, args.image_reps)
            finally:
                from core.extensions import db

                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
        info_end = machine()
        result = {"body_chunk": args.gunicorn_body_chunk, "when": when, "command": command,
                  "machine": info, "db": dbd,
                  "load_start": load_start, "load_end": info_end["load"], "fs": fs[0],
                  "segment": SEGMENT, "memory": memory, "steps": steps, "top": top,
                  "sealing": sealing, "sealing_size": len(pdf), "http": http,
                  "pdf_size": len(pdf), "images": images, "image_reps": args.image_reps}
        body = render(result)
        print("\n" + body)
        if errors:
            log(f"{len(errors)} unexpected answer(s)")
        if args.write:
            write_doc(args.db, body)
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
