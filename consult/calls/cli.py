"""``flask media run``: one media worker (aiortc) on its own, for production."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from consult.calls.media.children import process_environment
from consult.calls.media.common import worker_environment


@click.group("media")
def media_group() -> None:
    """Media workers (aiortc): the connection test and call recording."""


@media_group.command("run")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address of the worker's API (loopback or an internal network only).")
@click.option("--port", default=8101, show_default=True, type=int, help="Port of the API.")
@click.option("--url", default="", help="URL web processes reach it at (registered in "
              "Redis); default http://HOST:PORT.")
@with_appcontext
def media_run(host: str, port: int, url: str) -> None:
    """Run one media worker until interrupted, with this app's configuration."""
    env = {**process_environment(), **worker_environment(current_app.config)}
    args = [sys.executable, "-m", "consult.calls.media.worker", "--host", host,
            "--port", str(port)]
    if url:
        args += ["--url", url]
    # The worker needs none of the web app: replace this process by a lean one.
    os.execve(sys.executable, args, env)  # noqa: S606
