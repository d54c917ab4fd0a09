"""Language choice: an explicit switch (cookie), then the user's setting, then
``Accept-Language``, then Russian."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, request
from flask_login import current_user
from werkzeug.wrappers import Response

from core.access import public

LANG_COOKIE = "lang"
bp = Blueprint("i18n", __name__)

LANGUAGE_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}


def supported() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def select_locale() -> str:
    """The locale for the current request."""
    if not request:
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in supported():
        return chosen
    user_lang = getattr(current_user, "language", None) if current_user else None
    if user_lang in supported():
        return user_lang
    best = request.accept_languages.best_match(supported())
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


@bp.get("/lang/<code>")
@public
def switch(code: str) -> Response:
    """Remember the chosen language and go back to the page the user was on."""
    response = redirect(safe_next(request.args.get("next")))
    if code in supported():
        # A cookie only: a link (GET) changes no data. The account's language, used
        # for its emails, is set on the profile page.
        response.set_cookie(
            LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        )
    return response
