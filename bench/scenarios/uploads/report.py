"""The documents figures as they go into ``docs/performance.md``."""

from __future__ import annotations

import statistics
from typing import Any

import gunicorn as gunicorn_pkg

from bench.harness import machine
from bench.harness.report import Section
from bench.scenarios.uploads.client import mbps
from bench.scenarios.uploads.samples import BIG, MB

MEMORY_TARGET = 3  # x core.sealed.SEGMENT
SECTION = Section("uploads", "## Documents (issue 6)", """## Documents (issue 6)

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

""", before="<!-- bench:uploads:notes -->")


def render(r: dict[str, Any]) -> str:
    """``r``: the run's figures and circumstances, as ``bench/uploads.py`` gathers them."""
    note = f", gunicorn {gunicorn_pkg.__version__}" + (
        f", `SocketUnreader.max_body_chunk = {r['body_chunk']:,}`" if r["body_chunk"] else "")
    lines = [f"Run {r['when']} with `{r['command']}`.", "",
             machine.line(r["machine"], r["db"]) + " Servers: werkzeug's threaded server in "
             f"the bench process, then gunicorn's gevent worker (one{note}); client: curl in "
             f"its own process. Documents and temporary files on {r['fs']}.", "",
             *_memory(r), "", *_sealing(r), "", *_http(r), "", *_thumbnails(r)]
    return "\n".join(lines) + "\n"


def _memory(r: dict[str, Any]) -> list[str]:
    seg_kib = r["segment"] / 1024

    def kib(value: float) -> str:
        return f"{value:,.0f} KiB ({value / seg_kib:.2f}×)"

    lines = [f"**Server memory during one upload** (peak growth, worst of 3 after a "
             f"warm-up; segment = {seg_kib:,.0f} KiB, target under {MEMORY_TARGET}× = "
             f"{MEMORY_TARGET * seg_kib:,.0f} KiB):", "",
             "| upload | server: measured over | Python heap | RSS |", "|---|---|---:|---:|"]
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
    return lines


def _sealing(r: dict[str, Any]) -> list[str]:
    size, t = r["sealing_size"], r["sealing"]
    base = mbps(t["copy"], size)
    lines = [f"**Sealing into the store** ({size:,} bytes from the page cache, "
             f"median of {len(t['copy'])}; ratios against the plain copy):", "",
             "| path | MB/s | median s | ratio to copy (time) |", "|---|---:|---:|---:|"]
    for key, label in (("copy", "baseline: plain copy (`copyfileobj`, 1 MiB) + fsync"),
                       ("sha256", "baseline: SHA-256 alone (read + hash)"),
                       ("seal", "`seal` → `LocalDiskStore.put` (AES-256-GCM + write + fsync)"),
                       ("vault", "**`vault.put`** (SHA-256 + seal + write + fsync)")):
        lines.append(f"| {label} | {mbps(t[key], size):,.0f} | "
                     f"{statistics.median(t[key]):.3f} | "
                     f"{base / mbps(t[key], size):.2f}× |")
    return lines


def _http(r: dict[str, Any]) -> list[str]:
    lines = [f"**End to end over HTTP** (curl, one upload at a time, median of "
             f"{len(r['http']['werkzeug']['bare'])}; MB/s of the file's bytes; ratios against "
             f"the same bytes posted to a WSGI function on the same server that reads and "
             f"drops the body):", "",
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
    return lines


def _thumbnails(r: dict[str, Any]) -> list[str]:
    lines = [f"**Thumbnails** (`intake.prepare` in process, median of "
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
    return lines
