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
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.harness import app as bench_app  # noqa: E402
from bench.harness import cli, log, machine, report  # noqa: E402
from bench.harness.db import fresh_database  # noqa: E402
from bench.scenarios.uploads import samples  # noqa: E402
from bench.scenarios.uploads.app import build_app, make_patient, serving, with_drop  # noqa: E402
from bench.scenarios.uploads.client import Curl, http_rounds, mbps  # noqa: E402
from bench.scenarios.uploads.gunicorn import (  # noqa: E402
    measure_gunicorn_memory,
    traced_gunicorn,
)
from bench.scenarios.uploads.memory import (  # noqa: E402
    Probe,
    measure_memory,
    step_peaks,
    top_allocations,
)
from bench.scenarios.uploads.report import SECTION, render  # noqa: E402
from bench.scenarios.uploads.speed import measure_images, measure_sealing  # noqa: E402
from core.sealed import SEGMENT  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = cli.parser(__doc__)
    cli.add_database(p)
    p.add_argument("--reps", type=int, default=7,
                   help="timed passes per sealing path and per HTTP upload (default 7)")
    p.add_argument("--image-reps", type=int, default=5,
                   help="timed prepares per sample image (default 5)")
    p.add_argument("--gunicorn-body-chunk", type=int, default=0, metavar="BYTES",
                   help="set gunicorn's SocketUnreader.max_body_chunk (default: what "
                        "gunicorn.conf.py sets, 64 KiB)")
    cli.add_output(p)
    args = p.parse_args(argv)
    if min(args.reps, args.image_reps) < 1:
        p.error("counts must be positive")
    cli.check_local(p, args)
    if not shutil.which("curl"):
        p.error("curl is needed")
    return args


def werkzeug_part(app: Any, email: str, insured_id: int, files: tuple[Path, Path],
                  r: dict[str, Any], args: argparse.Namespace, tmp: Path) -> list[str]:
    """1. werkzeug's threaded server in this process: memory per upload (tracemalloc on),
    each step alone, where the memory is; then the HTTP rounds. Returns curl's errors."""
    pdf_path, raw_path = files
    probe = Probe(app.wsgi_app)
    app.wsgi_app = with_drop(probe)
    with serving(app) as base:
        curl = Curl(base, email, insured_id, tmp / "answer.json")
        tracemalloc.start()
        memory = r["memory"]
        memory[("pdf", "werkzeug")] = measure_memory(curl, probe, pdf_path, "scan.pdf", 201)
        memory[("raw", "werkzeug")] = measure_memory(curl, probe, raw_path, "data.bin", 422)
        for key, m in memory.items():
            log(f"{key}: " + ", ".join(
                f"{k} +{m[k]:,.0f} KiB {[round(x) for x in m['all'][k]]}"
                for k in ("app_py", "app_rss", "server_py", "server_rss")))
        r["steps"] = step_peaks(app, pdf_path)
        for label, py, rss in r["steps"]:
            log(f"step {label}: Python +{py:,.0f} KiB, RSS +{rss:,.0f} KiB")
        r["top"] = top_allocations(app, pdf_path)
        for line in r["top"]:
            log(f"  {line}")
        tracemalloc.stop()
        r["http"]["werkzeug"] = http_rounds(curl, pdf_path, raw_path, args.reps)
    return curl.errors


def gunicorn_part(email: str, insured_id: int, files: tuple[Path, Path], r: dict[str, Any],
                  args: argparse.Namespace, tmp: Path) -> list[str]:
    """2. gunicorn's gevent worker (as deployed): memory per upload as its hooks see
    it, the bare baseline's, then the HTTP rounds. Returns curl's errors."""
    pdf_path, raw_path = files
    with traced_gunicorn(tmp, args.gunicorn_body_chunk) as (base, memlog, trace):
        curl = Curl(base, email, insured_id, tmp / "answer.json")
        for kind, path, name, expect, url_path in (
                ("pdf", pdf_path, "scan.pdf", 201, "/documents/"),
                ("raw", raw_path, "data.bin", 422, "/documents/"),
                ("bare", pdf_path, "scan.pdf", 200, "/bench/drop")):
            m = measure_gunicorn_memory(curl, memlog, trace, path, name, expect,
                                        url_path=url_path)
            r["memory"][(kind, "gunicorn")] = m
            log(f"{kind} gunicorn: Python +{m['py']:,.0f} KiB "
                f"{[round(x) for x in m['all']['py']]}, RSS +{m['rss']:,.0f} KiB "
                f"{[round(x) for x in m['all']['rss']]}")
        r["http"]["gunicorn"] = http_rounds(curl, pdf_path, raw_path, args.reps)
    return curl.errors


def measure_all(args: argparse.Namespace, tmp: Path, files: tuple[Path, Path],
                images: list[tuple[str, str, bytes]], r: dict[str, Any]) -> list[str]:
    """Every part on a fresh database; fills ``r``; returns the unexpected answers."""
    with fresh_database(args.db, tmp, args.pg_url, prefix="pd_bench_uploads") as (url, dbd):
        r["db"] = dbd
        app = build_app(url, tmp)
        email, insured_id = make_patient(app)
        try:
            log("1. werkzeug's threaded server in this process (as `flask serve`)")
            errors = werkzeug_part(app, email, insured_id, files, r, args, tmp)
            log("2. gunicorn's gevent worker (as deployed)")
            errors += gunicorn_part(email, insured_id, files, r, args, tmp)
            log("3. sealing into the store (in process, tracemalloc off)")
            r["sealing"] = measure_sealing(app, files[0], args.reps)
            for k, v in r["sealing"].items():
                log(f"{k}: {mbps(v, r['pdf_size']):.0f} MB/s")
            log("4. thumbnails")
            r["images"] = measure_images(app, images, args.image_reps)
        finally:
            bench_app.release(app)
    return errors


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    r: dict[str, Any] = {"body_chunk": args.gunicorn_body_chunk, "when": report.when(),
                         "command": report.command("uploads.py", argv),
                         "machine": machine.machine(), "segment": SEGMENT, "memory": {},
                         "http": {}, "image_reps": args.image_reps}
    with cli.workdir("pd_bench_uploads_", args.keep) as tmp:
        r["fs"] = (subprocess.run(["df", "--output=fstype", str(tmp)], capture_output=True,
                                  text=True, check=False).stdout.split()[-1:] or ["?"])[0]
        log("making the sample files")
        pdf = samples.big_pdf()
        files = (tmp / "big.pdf", tmp / "random.bin")
        files[0].write_bytes(pdf)
        files[1].write_bytes(samples.random_bytes())
        images = samples.image_samples(pdf)
        log(f"PDF {len(pdf):,} bytes; JPEG {len(images[0][2]):,}; HEIC {len(images[2][2]):,}; "
            f"PNG {len(images[1][2]):,}")
        r["pdf_size"] = r["sealing_size"] = len(pdf)
        errors = measure_all(args, tmp, files, images, r)
        r["machine"]["load_end"] = machine.load()
        body = render(r)
        print("\n" + body)
        if errors:
            log(f"{len(errors)} unexpected answer(s)")
        if args.write:
            report.write(SECTION, args.db, report.title(args.db), body)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
