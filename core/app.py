"""The kernel's half of the application factory: the Flask app with its configuration,
extensions, security headers, access rules and error pages (:func:`make_app`), and what
comes after the domains have registered (:func:`finish`). The composition root
(:mod:`service`) calls both, with the domains in between."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from flask import Flask, abort, g
from flask_babel import format_date, format_datetime, get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from core import access, api, cli, config, devmail, i18n, problems, routing, security, unit
from core.access import public
from core.db import render_item, tune_sqlite
from core.extensions import babel, csrf, db, limiter, login_manager, mail, migrate, socketio
from core.uploads import StreamingRequest


def make_app(overrides: dict[str, Any] | None = None) -> Flask:
    """The app with its configuration and extensions, before any domain registers."""
    root = _repo_root()
    app = Flask(
        __name__.split(".")[0],
        instance_relative_config=True,
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
        instance_path=os.environ.get("INSTANCE_PATH") or str(root / "instance"),
    )
    app.request_class = StreamingRequest
    routing.init_app(app)  # before any rule: ids in paths stay within the columns
    config.load(app, overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    logging.basicConfig(level=logging.INFO)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(root / "migrations"), compare_type=True,
                    render_item=render_item)
    mail.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=lambda: app.config["TIMEZONE"])
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        tune_sqlite(db.engine)

    security.init_app(app)
    access.init_app(app)
    problems.init_app(app)

    app.register_blueprint(i18n.bp)
    app.register_blueprint(api.bp)
    return app


def finish(app: Flask) -> Flask:
    """What comes after the domains: Socket.IO, the proxy fix, the API document, the dev
    mailbox, the unit of work around every view, the kernel's commands and the template
    globals."""
    # After the domains: their Socket.IO handlers must be registered before init_app,
    # which hands them to this app's server (a handler registered after an init_app
    # reaches that one server only, and tests build an app per test).
    _init_socketio(app)
    if app.config["PROXY_FIX_X_FOR"]:  # outermost, so Socket.IO requests see it too
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1, x_host=1
        )
    api.finish(app)
    if app.config["DEMO"]:
        app.register_blueprint(devmail.bp)
    unit.init_app(app)  # last: it wraps every view registered so far
    cli.init_app(app)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "languages": i18n.LANGUAGE_NAMES,
            "current_locale": str(g.get("locale") or i18n.select_locale()),
            "demo_mode": app.config["DEMO"],
            "format_date": format_date,
            "format_datetime": format_datetime,
            "get_locale": get_locale,
        }

    @app.before_request
    def _locale() -> None:
        g.locale = i18n.select_locale()

    return app


def async_mode() -> Literal["threading", "gevent"]:
    """``gevent`` when gevent has patched the standard library (gunicorn's gevent
    worker, the benchmarks), else ``threading`` (``flask serve``, tests)."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return "threading"
    return "gevent" if monkey.is_module_patched("socket") else "threading"


def settle_memory() -> None:
    """For a long-lived server process, once the app is loaded: move everything made so
    far out of the garbage collector's sight (it lives as long as the process) and
    collect young objects less often. With thousands of sockets open, a full
    collection otherwise walks every one of them and stalls every chat (0.3 s pauses
    were measured with 2,000 sockets)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(1_000, 10, 1_000)


def _init_socketio(app: Flask) -> None:
    """Flask-SocketIO on this app: the Redis message queue when configured, so rooms
    span processes; browsers of other origins are refused (engine.io's default)."""
    socketio.server_options = {}  # type: ignore[attr-defined]  # init_app keeps options between apps (tests build many)
    socketio.init_app(
        app, async_mode=async_mode(), message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
        channel=app.config["SOCKETIO_CHANNEL"], manage_session=True,
        max_http_buffer_size=64 * 1024, ping_interval=20, ping_timeout=20,
        logger=False, engineio_logger=False,
    )

    # Socket.IO requests never reach Flask (the middleware answers them), but each
    # event runs in a request context built from the socket's environ. Without a
    # matching rule, building it raises and keeps a NotFound with its traceback: a
    # reference cycle of ~46 objects per chat message that only the garbage collector
    # frees, in long pauses under load. A rule for the path makes that match succeed.
    @public
    def socketio_path() -> Any:
        abort(404)

    app.add_url_rule("/socket.io/", "socketio", socketio_path, methods=["GET", "POST"])
    app.add_url_rule("/socket.io/", "socketio", socketio_path, websocket=True)


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
