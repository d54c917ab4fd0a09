"""What ``/proc`` says about a process: CPU time, resident set, children."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(text: str) -> list[str]:
    return text.rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), in seconds."""
    fields = _stat_fields(Path(f"/proc/{pid}/stat").read_text())
    return (int(fields[11]) + int(fields[12])) / TICK


def total_cpu(pids: list[int]) -> float:
    """CPU seconds of ``pids``, those that have exited left out."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


def named_cpu(names: tuple[str, ...]) -> float:
    """CPU seconds of every process on the machine whose name is in ``names``."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            if text[text.index("(") + 1:text.rindex(")")] in names:
                fields = _stat_fields(text)
                total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def rss_kb(pid: int) -> int:
    return status_kib("VmRSS", pid)


def status_kib(field: str, pid: int | str = "self") -> int:
    """A ``kB`` line of ``/proc/PID/status`` (VmRSS, VmHWM...)."""
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else 0


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(x) for x in text.split()]
    except OSError:
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(_stat_fields(stat.read_text())[1]) == pid:
                    out.append(int(stat.parent.name))
        return out
