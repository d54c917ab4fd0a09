"""Throughput into encrypted storage against a plain copy and SHA-256 alone, and
thumbnail time per image, in this process."""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from PIL import ImageOps

from bench.harness import log
from consult.documents import intake, vault
from core import storage
from core.sealed import SEGMENT, seal


def _sealing_cases(app: Any, path: Path) -> dict[str, Callable[[], None]]:
    """One pass over ``path`` each: SHA-256 alone, a plain copy + fsync, ``seal`` into
    the store, ``vault.put``."""
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

    return {"sha256": sha_only, "copy": plain_copy, "seal": seal_only, "vault": vault_put}


def measure_sealing(app: Any, path: Path, reps: int) -> dict[str, list[float]]:
    """Seconds per pass over ``path`` for the sealing paths and their baselines,
    interleaved ``reps`` times after one untimed round."""
    cases = _sealing_cases(app, path)
    times: dict[str, list[float]] = {k: [] for k in cases}
    for rep in range(reps + 1):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            if rep:
                times[name].append(time.perf_counter() - t0)
    return times


def _timed_prepare(cfg: Any, kind: str, data: bytes) -> tuple[float, float, float, dict]:
    """ms of ``intake.prepare``, of decoding alone and of the thumbnail alone; and what
    ``prepare`` made of the file."""
    f = tempfile.TemporaryFile()
    f.write(data)
    f.seek(0)
    t0 = time.perf_counter()
    prepared = intake.prepare(f, cfg["DOCUMENT_MAX_BYTES"], cfg["DOCUMENT_MAX_PIXELS"],
                              cfg["DOCUMENT_MAX_PAGES"])
    t1 = time.perf_counter()
    info = {"type": prepared.content_type, "stored": prepared.size,
            "thumb_bytes": len(prepared.thumbnail), "w": prepared.width,
            "h": prepared.height, "pages": prepared.page_count}
    if prepared.body is not f:
        prepared.body.close()
    f.seek(0)
    if kind == "pdf":
        with intake._PDFIUM:
            t2 = time.perf_counter()
            pdf = pdfium.PdfDocument(f, autoclose=False)
            t3 = time.perf_counter()
            intake._page_image(pdf, 0, intake.THUMB_SIZE, "JPEG")
            t4 = time.perf_counter()
            pdf.close()
    else:
        t2 = time.perf_counter()
        image = intake._open_image(f, kind, cfg["DOCUMENT_MAX_PIXELS"])
        image.load()
        image = ImageOps.exif_transpose(image) or image
        t3 = time.perf_counter()
        intake._thumbnail(image)
        t4 = time.perf_counter()
        image.close()
    f.close()
    return (t1 - t0) * 1000, (t3 - t2) * 1000, (t4 - t3) * 1000, info


def measure_images(app: Any, samples: list[tuple[str, str, bytes]], reps: int
                   ) -> list[dict[str, Any]]:
    """Median ms of intake.prepare, of decoding alone and of the thumbnail alone."""
    rows = []
    for label, kind, data in samples:
        prep, decode, thumb = [], [], []
        with app.test_request_context():
            for rep in range(reps + 1):
                p, d, t, info = _timed_prepare(app.config, kind, data)
                if rep:  # the first round warms up the codecs
                    prep.append(p)
                    decode.append(d)
                    thumb.append(t)
        rows.append({"label": label, "bytes": len(data), "prepare": statistics.median(prep),
                     "decode": statistics.median(decode), "thumb": statistics.median(thumb),
                     "prepare_max": max(prep), **info})
        log(f"{label}: prepare {rows[-1]['prepare']:.0f} ms, decode {rows[-1]['decode']:.0f} "
            f"ms, thumbnail {rows[-1]['thumb']:.0f} ms")
    return rows
