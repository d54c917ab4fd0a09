"""How documents plug into the app: pages, the API, the ``flask documents`` commands and,
with clamd configured, the rescans of ``flask serve``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask

from consult.documents import api, cli, routes, upkeep  # noqa: F401  (views)
from consult.documents.blueprint import bp
from consult.documents.sizes import file_size
from core.unit import transaction


def init_app(app: Flask) -> None:
    """Register the pages and the ``flask documents`` commands."""
    app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.documents_group)
    app.jinja_env.globals["file_size"] = file_size
    if app.config.get("CLAMD_SOCKET"):
        app.extensions.setdefault("serve_background", []).append(start_rescans)


RESCAN_SECONDS = 30.0


def start_rescans(app: Flask) -> Callable[[], None]:
    """A thread of ``flask serve`` that scans documents left pending while clamd was
    down, every RESCAN_SECONDS; returns the function that stops it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(RESCAN_SECONDS):
            try:
                with app.app_context(), transaction():
                    upkeep.scan_pending()
            except Exception:  # noqa: BLE001 - keep trying; the on-call sees the log
                logging.getLogger(__name__).exception("rescanning pending documents failed")

    threading.Thread(target=loop, name="document-rescans", daemon=True).start()
    return stop.set
