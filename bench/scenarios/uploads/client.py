"""The uploading client: curl in its own process (so its buffers are not counted),
signed in as the run's patient."""

from __future__ import annotations

import statistics
import subprocess
from pathlib import Path

import requests

from bench.harness import log
from bench.scenarios.uploads.app import PASSWORD
from bench.scenarios.uploads.samples import BIG, MB


def mbps(seconds: list[float], size: int) -> float:
    return size / statistics.median(seconds) / MB


def sign_in(base: str, email: str) -> str:
    """The session cookie header of a signed-in patient."""
    with requests.Session() as s:
        r = s.post(f"{base}/login", data={"email": email, "password": PASSWORD},
                   allow_redirects=False, timeout=30)
        if r.status_code != 302:
            raise RuntimeError(f"sign-in answered {r.status_code}: {r.text[:300]}")
        return "; ".join(f"{k}={v}" for k, v in s.cookies.items())


class Curl:
    """Uploads with curl in its own process; :meth:`post` returns the seconds taken."""

    def __init__(self, base: str, email: str, insured_id: int, out: Path):
        self.base, self.insured_id, self.out = base, insured_id, out
        self.cookie = sign_in(base, email)
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


def http_rounds(curl: Curl, pdf_path: Path, raw_path: Path, reps: int
                ) -> dict[str, list[float]]:
    """Seconds per upload, ``reps`` rounds of the three after an untimed one: the PDF to
    the baseline, the raw upload, the PDF to ``POST /documents/``."""
    times: dict[str, list[float]] = {"bare": [], "raw": [], "pdf": []}
    for rep in range(reps + 1):
        b = curl.post(pdf_path, "scan.pdf", 200, url=f"{curl.base}/bench/drop")
        w = curl.post(raw_path, "data.bin", 422)
        d = curl.post(pdf_path, "scan.pdf", 201)
        if rep:
            times["bare"].append(b)
            times["raw"].append(w)
            times["pdf"].append(d)
    size = pdf_path.stat().st_size
    log(f"HTTP {curl.base}: bare {mbps(times['bare'], size):.0f} MB/s, raw "
        f"{mbps(times['raw'], BIG):.0f} MB/s, PDF {mbps(times['pdf'], size):.0f} MB/s")
    return times
