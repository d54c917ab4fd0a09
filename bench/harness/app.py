"""The application as the benchmarks use it: the one module that imports its factory.

When the composition root moves, this is the only file to change. Servers run the
WSGI entry point (``wsgi.py``) as deployed; in-process measurements build the app here.
"""

from __future__ import annotations

import logging
from typing import Any

from core.app import async_mode, settle_memory
from core.extensions import db
from service import create_app

__all__ = ["FLASK_APP", "WSGI", "async_mode", "build", "db", "release", "settle_memory"]

WSGI = "wsgi:app"  # what gunicorn serves
FLASK_APP = "wsgi"  # what ``flask --app`` loads


def build(overrides: dict[str, Any] | None = None, quiet: bool = True) -> Any:
    """The app from the process's environment (and ``overrides``); with ``quiet``, only
    warnings logged."""
    app = create_app(overrides)
    if quiet:
        logging.getLogger().setLevel(logging.WARNING)  # create_app sets INFO for everything
    return app


def release(app: Any) -> None:
    """Close this process's database connections (before servers start, or at the end)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
