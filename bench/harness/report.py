"""The figures' first line and their place in ``docs/performance.md``: each scenario's
section, with one marked block of results per configuration."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bench.harness import ROOT, log
from core import clock

DOC = ROOT / "docs" / "performance.md"
ZONE = ZoneInfo("Asia/Almaty")  # the app's default TIMEZONE
INTRO = """# Performance

How we measure: each benchmark compares the operation with a trivial baseline measured
in the same run on the same server (for the API, `GET /api/v1/ping`), and we read the
ratios, not the absolute figures: the machines we run on are shared and noisy. The
benchmarks are run by hand (`.venv/bin/python bench/<name>.py --write` updates this
file); CI does not run benchmarks.
"""


def when() -> str:
    """Now, as the figures date a run."""
    return clock.now().astimezone(ZONE).strftime("%Y-%m-%d %H:%M %Z")


def command(script: str, argv: list[str]) -> str:
    """The command line that ran ``bench/<script>``, as people type it."""
    return shlex.join([".venv/bin/python", f"bench/{script}", *argv])


def title(db: str) -> str:
    return "SQLite" if db == "sqlite" else "PostgreSQL"


@dataclass(frozen=True)
class Section:
    """A scenario's section of the document."""

    name: str  # in the block markers: <!-- bench:NAME:KEY:begin -->
    heading: str  # "## Activation"
    text: str  # the section's heading and introduction, added when missing
    refresh: bool = False  # rewrite the introduction, keeping the result blocks
    before: str | None = None  # new blocks go before this text of the section, if there


def write(section: Section, key: str, heading: str, body: str) -> None:
    """Put ``body`` under ``### heading`` in the block ``key`` of ``section``: in place of
    the block's last version, else at the end of the section."""
    begin = f"<!-- bench:{section.name}:{key}:begin -->"
    end = f"<!-- bench:{section.name}:{key}:end -->"
    block = f"{begin}\n### {heading}\n\n{body}{end}\n"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else INTRO
    text = _with_section(text, section)
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block.rstrip("\n") + rest.split(end, 1)[1]
    else:
        start = text.index(section.heading)
        nxt = text.find("\n## ", start + 1)
        cut = len(text) if nxt < 0 else nxt + 1
        mark = text.find(section.before, start, cut) if section.before else -1
        cut = mark if mark >= 0 else cut
        text = text[:cut].rstrip("\n") + "\n\n" + block + (
            "\n" + text[cut:].lstrip("\n") if cut < len(text) else "")
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    log(f"updated {DOC.relative_to(ROOT)}")


def _with_section(text: str, section: Section) -> str:
    if section.heading not in text:
        return text.rstrip("\n") + "\n\n" + section.text
    if section.refresh:
        start = text.index(section.heading)
        first_block = text.find(f"<!-- bench:{section.name}:", start)
        nxt = text.find("\n## ", start + 1)
        if first_block >= 0 and (nxt < 0 or first_block < nxt):
            return text[:start] + section.text + "\n" + text[first_block:]
    return text
