"""Medical documents: patients upload scans and photos (from their account or inside a
consultation), doctors holding a consultation with them view and review them. Files are
cleaned (:mod:`.intake`), optionally virus-scanned (:mod:`.scan`), sealed with
AES-256-GCM and stored under random names (:mod:`.vault`, :mod:`core.storage`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Blueprint, Flask

bp = Blueprint("documents", __name__, url_prefix="/documents")


def init_app(app: Flask) -> None:
    """Register the pages and the ``flask documents`` commands."""
    from consult.documents import api, cli, routes  # noqa: F401  (views)

    app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.documents_group)
    from consult.documents.sizes import file_size

    app.jinja_env.globals["file_size"] = file_size
    if app.config.get("CLAMD_SOCKET"):
        app.extensions.setdefault("serve_background", []).append(start_rescans)


RESCAN_SECONDS = 30.0


def start_rescans(app: Flask) -> Callable[[], None]:
    """A thread of ``flask serve`` that scans documents left pending while clamd was
    down, every RESCAN_SECONDS; returns the function that stops it."""
    stop = threading.Event()

    def loop() -> None:
        from consult.documents import upkeep
        from core.db import writing
        from core.extensions import db

        while not stop.wait(RESCAN_SECONDS):
            try:
                with app.app_context(), writing():
                    upkeep.scan_pending()
                    db.session.commit()
            except Exception:  # noqa: BLE001 - keep trying; the on-call sees the log
                logging.getLogger(__name__).exception("rescanning pending documents failed")

    threading.Thread(target=loop, name="document-rescans", daemon=True).start()
    return stop.set
