"""WSGI entry point: ``gunicorn wsgi:app``; ``flask`` finds it from the repo root."""

import sys

from core.app import async_mode, settle_memory
from service import create_app
from service.serve import demo_requested

# `flask serve --demo` must build the app in demo mode before the command runs.
app = create_app({"DEMO": True} if demo_requested(sys.argv) else None)
if async_mode() == "gevent":  # gunicorn's gevent worker: thousands of long-lived sockets
    settle_memory()
