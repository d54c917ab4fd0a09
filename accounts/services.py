"""Account rules: patient accounts, set-password links, sign-in checks.

Functions flush and never commit; the request's unit of work (or the command) commits
once. Refusals are :class:`core.unit.Refusal`s.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from flask import current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import make_transient_to_detached

from accounts import passwords, reauth, sessions, totp
from accounts.emails import parse_email
from accounts.models import PasswordLink, User
from core import clock, outbox
from core.access import STAFF_ROLES
from core.crypto import digest
from core.db import insert_ignoring_conflicts, rowcount
from core.extensions import db
from core.rules import RuleError
from core.unit import Refusal


class LinkInvalid(Refusal):
    """The set-password link is unknown, used or expired (410, its own page)."""

    status = 410

    def __init__(self) -> None:
        super().__init__(_("This link has already been used or has expired. You can ask "
                           "for a new one."))


_USER_BY_EMAIL = select(User).where(User.email == bindparam("email"))
_MAIL_WINDOW = timedelta(hours=1)  # set-password mail per account is counted per hour


def find_by_email(email: str) -> User | None:
    """The account whose login is ``email`` (already normalised), or None."""
    return db.session.scalar(_USER_BY_EMAIL, {"email": email.lower()})


def create_patient(email: str, product_line: str, language: str) -> tuple[User, bool]:
    """Create the patient account for ``email``; ``(user, created)``.

    The caller has looked and found none. If a concurrent request creates the same
    email first, the loser gets the winner's account and ``created`` is False.
    """
    values = {"email": email.lower(), "role": "patient", "product_line": product_line,
              "language": language, "created_at": clock.now()}
    # One statement instead of a savepoint round trip: ON CONFLICT DO NOTHING waits for
    # a concurrent insert of the same email and then returns no row.
    new_id = db.session.execute(
        insert_ignoring_conflicts(db.session(), User, values, [User.email]).returning(User.id)
    ).scalar()
    if new_id is None:
        existing = find_by_email(email)
        if existing is None:
            raise RuntimeError(f"account {email} vanished after a conflicting insert")
        return existing, False
    user = User(id=new_id, **values)
    make_transient_to_detached(user)  # the row exists: attach it without a SELECT
    db.session.add(user)
    return user, True


def issue_password_link(user: User) -> str:
    """Create a single-use set-password link for ``user``; returns the URL.

    The account's older links stop working (the newest mail is the one to use), and
    links made before the last hour (all used or dead by then) are removed, so an
    account keeps at most the links of one hour (see :func:`send_password_link`).
    """
    token = secrets.token_urlsafe(32)
    now = clock.now()
    hours = current_app.config["SET_PASSWORD_LINK_HOURS"]
    db.session.execute(
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None),
               PasswordLink.expires_at > now)
        .values(expires_at=now).execution_options(synchronize_session=False))
    db.session.execute(
        delete(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.created_at <= now - _MAIL_WINDOW)
        .execution_options(synchronize_session=False))
    db.session.add(PasswordLink(user_id=user.id, token_hash=digest(token),
                                created_at=now, expires_at=now + timedelta(hours=hours)))
    return external_url("accounts.set_password", token=token)


def external_url(endpoint: str, **values: str) -> str:
    """An absolute link under ``BASE_URL``; works outside a request (mail, CLI)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def link_owner(token: str) -> User | None:
    """The account a still-valid link belongs to, or None."""
    link = db.session.scalar(
        select(PasswordLink).where(PasswordLink.token_hash == digest(token))
    )
    if link is None or link.used_at is not None or link.expires_at <= clock.now():
        return None
    return db.session.get(User, link.user_id)


def link_user(token: str) -> User:
    """The account a still-valid link belongs to; raises :class:`LinkInvalid`."""
    user = link_owner(token)
    if user is None:
        raise LinkInvalid
    return user


def set_password_with_link(token: str, password: str) -> User:
    """Use the link once to set ``password``; raises LinkInvalid or PasswordRuleError.

    Marks the link used atomically, so two submissions cannot both use it, and ends
    every session of the account.
    """
    user = link_user(token)
    passwords.check_rules(password, user.email)
    now = clock.now()
    result = db.session.execute(
        update(PasswordLink)
        .where(PasswordLink.token_hash == digest(token), PasswordLink.used_at.is_(None))
        .values(used_at=now)
    )
    if rowcount(result) != 1:
        raise LinkInvalid
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = now
    sessions.end_all(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The account if ``email`` and ``password`` match; None otherwise, same work either way."""
    user = find_by_email(email.strip().lower()) if email else None
    ok = passwords.verify(user.password_hash if user else None, password)
    return user if ok and user is not None else None


def send_password_link(user: User) -> bool:
    """Queue an email with a fresh set-password link, in the user's language; whether
    it was queued.

    At most ``RESET_MAIL_PER_ACCOUNT_HOUR`` links an hour per account, whoever asks and
    from wherever: the account's row is locked, so concurrent requests count each other.
    """
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    recent = db.session.scalar(
        select(func.count()).select_from(PasswordLink)
        .where(PasswordLink.user_id == user.id,
               PasswordLink.created_at > clock.now() - _MAIL_WINDOW)) or 0
    if recent >= current_app.config["RESET_MAIL_PER_ACCOUNT_HOUR"]:
        return False
    outbox.enqueue(user.email, "set_password",
                   {"user_id": user.id, "url": issue_password_link(user)}, user.language)
    return True


def render_set_password(context: dict[str, Any]) -> outbox.RenderedMail:
    """Outbox renderer of the set-password email."""
    user = db.session.get(User, context["user_id"])
    if user is None:
        raise LookupError(f"user {context['user_id']} not found")
    ctx = {"user": user, "url": context["url"],
           "hours": current_app.config["SET_PASSWORD_LINK_HOURS"]}
    return outbox.RenderedMail(_("Set your Personal Doctor password"),
                               render_template("email/set_password.txt", **ctx),
                               render_template("email/set_password.html", **ctx))


def request_password_link(email: str) -> None:
    """Send a link if the account exists (and its hourly mail allowance is not spent);
    say nothing either way."""
    user = find_by_email(email)
    if user is not None:
        send_password_link(user)


class EmailTaken(Refusal):
    """Another account already uses the email (or it is not a valid address)."""


def update_profile(user: User, full_name: str | None, language: str | None) -> None:
    """Set the display name and preferred language (flushes nothing)."""
    name = " ".join((full_name or "").split())
    user.full_name = name[:150] or None
    if language is not None and language in current_app.config["LANGUAGES"]:
        user.language = language


def change_password(user: User, current_password: str | None, new_password: str,
                    code: str | None = None) -> None:
    """Replace the password after proving the current one (and a code when the second
    factor is on) and the rules; raises :class:`accounts.reauth.Unproven` or
    PasswordRuleError."""
    reauth.confirm(user, current_password, code, reauth.PASSWORD_CHANGE)
    passwords.check_rules(new_password, user.email)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = clock.now()


def change_email(user: User, new_email: str, password: str | None,
                 code: str | None = None) -> str:
    """Move the login to ``new_email`` and tell the old address; returns the old one.

    Needs the password (and a code when the second factor is on) first, so that nobody
    without them learns whether an address has an account: raises
    :class:`accounts.reauth.Unproven`, then :class:`EmailTaken` (or a RuleError
    message) when the address cannot be used.
    """
    reauth.confirm(user, password, code, reauth.EMAIL_CHANGE)
    try:
        email = parse_email(new_email)
    except RuleError as exc:
        raise EmailTaken(str(exc)) from None
    if email == user.email:
        return user.email
    if find_by_email(email) is not None:
        raise EmailTaken(_("Another account uses this email."))
    old = user.email
    user.email = email
    outbox.enqueue(old, "email_changed", {"user_id": user.id, "old": old, "new": email},
                   user.language)
    return old


def turn_off_second_factor(user: User, password: str | None, code: str | None) -> None:
    """Turn the second factor off after proving the password and a current (or
    recovery) code; raises :class:`accounts.reauth.Unproven`."""
    reauth.confirm(user, password, code, reauth.TOTP_DISABLE)
    totp.disable(user)


def render_email_changed(context: dict[str, Any]) -> outbox.RenderedMail:
    """Outbox renderer: the notice to the old address after a change of login email."""
    ctx = {"old": context["old"], "new": context["new"]}
    return outbox.RenderedMail(_("Your Personal Doctor login email was changed"),
                               render_template("email/email_changed.txt", **ctx),
                               render_template("email/email_changed.html", **ctx))




def _one_line(text: str | None, limit: int) -> str | None:
    """``text`` with its whitespace collapsed and cut to ``limit``; None when empty."""
    return " ".join((text or "").split())[:limit] or None


class StaffRefused(Refusal):
    """A staff form's refusal: the message and the form field it is about."""

    def __init__(self, message: str, field: str = "email") -> None:
        super().__init__(message)
        self.field = field


def specialties(locale: str) -> list[tuple[str, str, bool]]:
    """The specialties list as ``(code, name in locale, active)``, from the provider the
    consultations package registers as ``app.extensions["specialties"]`` (accounts sits
    below it and does not import it); empty when none is registered."""
    provider = current_app.extensions.get("specialties")
    return list(provider(locale)) if provider is not None else []


def _doctor_profile(full_name: str | None, specialty: str | None, pediatric: bool,
                    on_duty: bool, languages: Sequence[str] | None,
                    profile_line: str | None) -> dict[str, Any]:
    """A doctor's fields as the staff forms set them (``{attribute: value}``: name,
    specialty code, languages "kk,ru", ...), checked; raises :class:`StaffRefused`.

    Patients see the name and the specialty, so a doctor has a name, and a specialty is
    one of the specialties list (consult.schedule), never a free-text code. A doctor is
    on duty and/or a specialist.
    """
    name = _one_line(full_name, 150)
    if name is None:
        raise StaffRefused(_("Enter the doctor's full name: patients see it."), "full_name")
    code = (specialty or "").strip() or None
    if code is not None and code not in {known for known, _name, _on in specialties("ru")}:
        raise StaffRefused(_("There is no specialty %(code)s: choose one from the list, or "
                             "add it on the specialties page first.", code=code), "specialty")
    known = tuple(current_app.config["LANGUAGES"])
    unknown = [lang for lang in languages or () if lang not in known]
    if unknown:
        raise StaffRefused(_("Unknown language: %(codes)s. Choose from %(known)s.",
                             codes=", ".join(unknown), known=", ".join(known)), "languages")
    spoken = ",".join(lang for lang in known if lang in set(languages or ())) or None
    if not (on_duty or code):
        raise StaffRefused(_("A doctor is on duty, a specialist, or both: say which."),
                           "on_duty")
    return {"full_name": name, "specialty": code, "languages": spoken,
            "pediatric": pediatric, "on_duty_doctor": on_duty,
            "profile_line": _one_line(profile_line, 200)}


def create_staff(email: str, role: str, *, full_name: str | None = None,
                 specialty: str | None = None, pediatric: bool = False,
                 on_duty: bool = False, language: str = "ru",
                 languages: Sequence[str] | None = None,
                 profile_line: str | None = None) -> User:
    """Create a staff account and send its set-password link; raises
    :class:`StaffRefused`.

    A doctor needs a full name, is on duty and/or has a specialty from the list, and
    may have the languages they speak and a short profile line.
    """
    if role not in STAFF_ROLES:
        raise StaffRefused(_("Choose a role: doctor, operator or admin."), "role")
    try:
        address = parse_email(email)
    except RuleError as exc:
        raise StaffRefused(str(exc)) from None
    if find_by_email(address) is not None:
        raise StaffRefused(_("Another account uses this email."))
    user = User(email=address, role=role, full_name=_one_line(full_name, 150),
                language=language, created_at=clock.now())
    if role == "doctor":
        for field, value in _doctor_profile(full_name, specialty, pediatric, on_duty,
                                            languages, profile_line).items():
            setattr(user, field, value)
    db.session.add(user)
    db.session.flush()
    send_password_link(user)
    return user


def update_staff_profile(user: User, *, full_name: str | None, specialty: str | None = None,
                         pediatric: bool = False, on_duty: bool = False,
                         languages: Sequence[str] | None = None,
                         profile_line: str | None = None) -> dict[str, Any]:
    """Change what others see of a staff member (for doctors, also what they do); returns
    ``{field: new value}`` of what changed (for the audit log). Raises
    :class:`StaffRefused`."""
    if user.role == "doctor":
        wanted = _doctor_profile(full_name, specialty, pediatric, on_duty, languages,
                                 profile_line)
    else:
        wanted = {"full_name": _one_line(full_name, 150)}
    changed = {field: value for field, value in wanted.items()
               if getattr(user, field) != value}
    for field, value in changed.items():
        setattr(user, field, value)
    db.session.flush()
    return changed
