"""What the benchmarks share: the application (``app``), its environment (``env``), a
fresh database (``db``), servers (``servers``), HTTP load (``clients``), ``/proc``
figures (``procfs``), percentiles (``stats``), the machine (``machine``), command lines
(``cli``) and ``docs/performance.md`` (``report``). Each ``bench/<name>.py`` holds only
its scenario (and its parts, in ``bench/scenarios/<name>/``)."""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)
