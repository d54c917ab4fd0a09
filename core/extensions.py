"""Flask extensions, created unbound here and initialised in :func:`core.app.make_app`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from core.db import Base

db = SQLAlchemy(model_class=Base)

# The base class of the models. At run time Flask-SQLAlchemy's `db.Model` (built from Base,
# bound to the app's engine); a type checker cannot follow that dynamic class, so it sees Base.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
mail = Mail()
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
socketio = SocketIO()


def configured_limit(setting: str) -> Callable[[], str]:
    """A Flask-Limiter limit read from the app's configuration at request time."""
    return lambda: current_app.config[setting]
