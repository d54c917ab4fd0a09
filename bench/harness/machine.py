"""The machine a run is on, as the figures describe it."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from pathlib import Path


def machine() -> dict[str, str]:
    """CPU count and model, Python version and load average (``load``) now."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout
    return {"nproc": nproc.strip() or str(os.cpu_count()), "cpu": model,
            "python": platform.python_version(), "load": load()}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def line(info: dict[str, str], details: str) -> str:
    """``Machine: ...`` with ``details`` (the database...) and the load at the start and
    at the end (``info["load_end"]``)."""
    return (f"Machine: {info['nproc']} CPU(s) ({info['cpu']}), Python {info['python']}, "
            f"{details}; load average {info['load']} at the start, {info['load_end']} at the "
            "end.")
