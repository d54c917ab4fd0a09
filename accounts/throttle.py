"""Sign-in throttling per account, on top of the per-IP limit.

Two limits count sign-in attempts (atomically, in Flask-Limiter's storage: Redis when
``REDIS_URL`` is set, memory otherwise):

* per account and IP address: 5 a minute, 20 an hour, 50 a day — delays that grow
  with the failures of one attacker;
* per account from all addresses: 30 in 10 minutes, so many addresses cannot guess
  fast either. Browsers that have signed in to this account before carry a signed
  "known device" cookie and are exempt from this one, so an attacker cannot lock the
  owner out: at worst, a new device waits out a 10-minute window.

Wrong passwords and codes sent again by a signed-in person (to turn the second factor
off, change the email or the password) are counted per account like second-factor
guesses (``RATELIMIT_SECOND_FACTOR``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import current_app, g, request
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from accounts.models import User
from core.extensions import configured_limit, limiter

DEVICE_COOKIE = "known_device"
DEVICE_DAYS = 180
P = ParamSpec("P")
R = TypeVar("R")


def _email() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


def _account_ip_key() -> str:
    return f"signin:{_email()}:{request.remote_addr}"


def _account_key() -> str:
    return f"signin:{_email()}"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="known-device")  # type: ignore[arg-type]


def _known_device() -> bool:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return False
    try:
        emails = _serializer().loads(raw)
    except BadSignature:
        return False
    return isinstance(emails, list) and _email() in emails


def remember_device(response: Response, user: User) -> None:
    """Mark this browser as one that has signed in to ``user``'s account."""
    emails: list[str] = []
    raw = request.cookies.get(DEVICE_COOKIE)
    if raw:
        try:
            loaded = _serializer().loads(raw)
            emails = [e for e in loaded if isinstance(e, str)] if isinstance(loaded, list) else []
        except BadSignature:
            emails = []
    if user.email not in emails:
        emails = [*emails, user.email][-5:]
    response.set_cookie(DEVICE_COOKIE, _serializer().dumps(emails),
                        max_age=DEVICE_DAYS * 24 * 3600, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))


def per_account(view: Callable[P, R]) -> Callable[P, R]:
    """Apply both per-account limits to the POSTs of a sign-in view."""
    view = limiter.limit(configured_limit("RATELIMIT_LOGIN_ACCOUNT_IP"),
                         key_func=_account_ip_key, methods=["POST"])(view)
    view = limiter.limit(configured_limit("RATELIMIT_LOGIN_ACCOUNT"),
                         key_func=_account_key, methods=["POST"],
                         exempt_when=_known_device)(view)
    return view


def _pending_user_key() -> str:
    from flask import session

    pending = session.get("pending_2fa") or {}
    return f"second-factor:{pending.get('user', request.remote_addr)}"


def per_pending_user(view: Callable[P, R]) -> Callable[P, R]:
    """Limit second-factor guesses per account (whatever the address): 6-digit codes
    must not be guessable by someone who already has the password."""
    return limiter.limit(configured_limit("RATELIMIT_SECOND_FACTOR"),
                         key_func=_pending_user_key, methods=["POST"])(view)


def _signed_in_key() -> str:
    return f"reauth:{current_user.get_id() or request.remote_addr}"


def note_failed_proof() -> None:
    """Count this request against :data:`per_signed_in_account`: a wrong password or
    code was sent."""
    g.failed_proof = True


def _failed_proof(_response: Response) -> bool:
    return bool(g.get("failed_proof"))


# The pages that ask for the password (and code) again — turning the second factor off,
# changing the email or the password — share one allowance of wrong guesses per
# account, as the second step of sign-in has: only failed attempts count.
per_signed_in_account = limiter.shared_limit(
    configured_limit("RATELIMIT_SECOND_FACTOR"), scope="reauth", key_func=_signed_in_key,
    methods=["POST"], deduct_when=_failed_proof)
