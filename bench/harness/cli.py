"""Command-line pieces every benchmark has: the database options, ``--write`` and
``--keep``, and the run's temporary folder."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import log

PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser described by the first line of a script's docstring."""
    return argparse.ArgumentParser(description=(doc or "").split("\n", 1)[0])


def add_database(p: argparse.ArgumentParser, pg_url: str = PG_URL) -> None:
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--pg-url", default=pg_url,
                   help="maintenance database used to create and drop the bench database")


def add_output(p: argparse.ArgumentParser, write: bool = True) -> None:
    if write:
        p.add_argument("--write", action="store_true", help="update docs/performance.md")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite)")


def check_local(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Only 127.0.0.1 is contacted."""
    if urlsplit(args.pg_url).hostname not in ("127.0.0.1", "localhost"):
        p.error("--pg-url must point at 127.0.0.1")


@contextlib.contextmanager
def workdir(prefix: str, keep: bool) -> Iterator[Path]:
    """A temporary folder (with ``instance/``), removed afterwards unless ``keep``."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    (tmp / "instance").mkdir()
    try:
        yield tmp
    finally:
        if keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
