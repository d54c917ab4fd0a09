"""Password verification with the app's KDF and candidate scrypt parameters: median CPU
and wall time, and the peak memory of one hash."""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from werkzeug.security import check_password_hash, generate_password_hash

from accounts import passwords
from bench.harness import log
from bench.scenarios.auth.users import PASSWORD


@dataclass
class KdfFigures:
    method: str
    reps: int
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    rss_mib: float = math.nan

    @property
    def memory_mib(self) -> float:
        _, n, r, _p = self.method.split(":")
        return 128 * int(n) * int(r) / 2**20  # OpenSSL computes the p lanes in turn

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_ms)

    @property
    def wall(self) -> float:
        return statistics.median(self.wall_ms)

    def label(self) -> str:
        _, n, r, p = self.method.split(":")
        return f"scrypt N=2^{int(n).bit_length() - 1} r={r} p={p}"


def time_verification(method: str, reps: int, deadline: float) -> KdfFigures:
    """Median CPU and wall time of ``check_password_hash`` on a ``method`` hash."""
    stored = (passwords.hash_password(PASSWORD) if method == passwords.METHOD
              else generate_password_hash(PASSWORD, method=method))
    figures = KdfFigures(method, reps)
    check_password_hash(stored, PASSWORD)  # warm-up
    for _ in range(reps):
        if time.monotonic() > deadline and figures.cpu_ms:
            break
        c0, w0 = time.process_time(), time.perf_counter()
        ok = check_password_hash(stored, PASSWORD)
        figures.wall_ms.append((time.perf_counter() - w0) * 1000)
        figures.cpu_ms.append((time.process_time() - c0) * 1000)
        if not ok:
            raise RuntimeError(f"{method}: the password did not verify")
    figures.rss_mib = peak_rss_growth(method)
    return figures


def peak_rss_growth(method: str) -> float:
    """Peak RSS growth (MiB) of one verification, in a fresh interpreter."""
    # VmHWM (the address space's peak RSS) starts afresh at exec; ru_maxrss would
    # carry this process's peak over to the child.
    code = (
        "import re, sys\n"
        "from werkzeug.security import generate_password_hash\n"
        "def hwm():\n"
        "    with open('/proc/self/status') as f:\n"
        "        return int(re.search(r'VmHWM:\\s+(\\d+)', f.read()).group(1))\n"
        "before = hwm()\n"
        "generate_password_hash('x', method=sys.argv[1])\n"
        "print(hwm() - before)\n"
    )
    try:
        out = subprocess.run([sys.executable, "-c", code, method], capture_output=True,
                             text=True, timeout=60, check=True).stdout
        return int(out.strip()) / 1024  # KiB
    except (subprocess.SubprocessError, ValueError):
        return math.nan


def _logged(fig: KdfFigures) -> KdfFigures:
    log(f"KDF {fig.method}: CPU {fig.cpu:.1f} ms, wall {fig.wall:.1f} ms "
        f"(median of {len(fig.cpu_ms)}), peak RSS +{fig.rss_mib:.1f} MiB")
    return fig


def measure_kdf(args: argparse.Namespace) -> tuple[KdfFigures, list[KdfFigures]]:
    """The app's KDF (``--kdf-reps``), then each other candidate (``--candidate-reps``)."""
    main_figures = _logged(time_verification(passwords.METHOD, args.kdf_reps,
                                             time.monotonic() + 40))
    others = [_logged(time_verification(method, args.candidate_reps, time.monotonic() + 15))
              for method in args.candidates if method != passwords.METHOD]
    return main_figures, others
