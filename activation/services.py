"""Activation of a policy: the insurer's memo as code.

:func:`activate` validates, checks the code, applies the account and coverage rules,
records the activation and queues the emails. It flushes and never commits; the
caller commits on success, rolls back on refusal, except :class:`WrongCredentials`,
whose failure counter must be committed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import joinedload

from accounts import emails
from accounts import services as accounts
from accounts.models import User
from activation import coverage, mails, rules
from activation.codes import code_matches, hash_code
from activation.errors import (
    AlreadyActivated,
    Conflict,
    DeadlinePassed,
    FieldRefused,
    InvalidFields,
    Locked,
    WrongCredentials,
)
from activation.models import Activation, Insured, Policy
from core import clock, crypto
from core.db import rowcount
from core.extensions import db

_DUMMY_HASH = "0" * 64
MAX_NUMBER = 40
MAX_CODE = 64


@dataclass(frozen=True)
class ActivationRequest:
    """What a form or the API sent, not yet checked: any JSON value may be in a field."""

    policy_number: object
    activation_code: object
    iin: object
    full_name: object
    email: object
    consent: object


@dataclass(frozen=True)
class Valid:
    policy_number: str
    activation_code: str
    iin: rules.Iin
    full_name: str
    email: str


@dataclass(frozen=True)
class ActivationResult:
    """What an activation produced, as plain data that outlives the commit."""

    activation_id: int
    payload: dict[str, Any]  # the API's 201 body
    account_created: bool


def validate(req: ActivationRequest, today: date) -> Valid:
    """Check every field's form; raises :class:`InvalidFields` listing all problems."""
    errors: dict[str, list[str]] = {}
    number = req.policy_number.strip() if isinstance(req.policy_number, str) else ""
    if not number:
        errors["policy_number"] = [_("Enter the policy number.")]
    elif len(number) > MAX_NUMBER or not number.isascii() or not number.isprintable():
        errors["policy_number"] = [_("The policy number is incorrect.")]
    code = req.activation_code.strip() if isinstance(req.activation_code, str) else ""
    if not code:
        errors["activation_code"] = [_("Enter the activation code.")]
    elif len(code) > MAX_CODE or not code.isascii() or not code.isprintable():
        errors["activation_code"] = [_("The policy number or activation code is incorrect.")]
    values: dict[str, Any] = {}
    for field, parse in (
        ("iin", lambda v: rules.parse_iin(v, today)),
        ("full_name", rules.parse_full_name),
        ("email", emails.parse_email),
    ):
        try:
            values[field] = parse(getattr(req, field))
        except rules.RuleError as exc:
            errors[field] = [str(exc)]
    if req.consent is not True:
        errors["consent"] = [_("Consent to the processing of personal data is required.")]
    if errors:
        raise InvalidFields(errors)
    return Valid(number, code, values["iin"], values["full_name"], values["email"])


# Built once: the wrong-code path is the one attackers hammer, keep it lean.
_POLICY_BY_NUMBER = select(Policy).where(Policy.number == bindparam("number"))
_COUNT_WRONG_CODE = (
    update(Policy).where(Policy.id == bindparam("policy_id"))
    .values(failed_attempts=Policy.failed_attempts + 1)
    .returning(Policy.failed_attempts)
    .execution_options(synchronize_session=False)
)


def _register_wrong_code(policy: Policy, now: datetime) -> None:
    """Count a wrong code atomically; the 5th within a round locks the number."""
    cfg = current_app.config
    limit = cfg["ACTIVATION_MAX_WRONG_CODES"]
    if db.session.get_bind().dialect.name == "postgresql":
        # This transaction only counts a failure: if the server crashed in the next
        # moment, losing the count costs at most a few extra guesses, so it need not
        # wait for the WAL flush (the slowest part of a wrong-code attempt).
        db.session.execute(_SYNC_COMMIT_OFF)
    count = db.session.execute(_COUNT_WRONG_CODE, {"policy_id": policy.id}).scalar_one()
    if count >= limit:
        db.session.execute(
            update(Policy)
            .where(Policy.id == policy.id, Policy.failed_attempts >= limit)
            .values(failed_attempts=Policy.failed_attempts - limit,
                    locked_until=now + timedelta(minutes=cfg["ACTIVATION_LOCK_MINUTES"]))
        )


def _check_code(number: str, code: str, now: datetime) -> Policy:
    """The policy if number and code match; the same answer and work otherwise."""
    policy = db.session.scalar(_POLICY_BY_NUMBER, {"number": number})
    if policy is not None and policy.locked_until is not None and policy.locked_until > now:
        raise Locked(int((policy.locked_until - now).total_seconds()) + 1)
    ok = code_matches(code, policy.code_hash if policy else _DUMMY_HASH)
    if policy is None or not ok:
        if policy is not None:
            _register_wrong_code(policy, now)
        raise WrongCredentials
    if policy.failed_attempts:
        policy.failed_attempts = 0
    return policy


_CURRENT_END = (
    select(func.max(Activation.coverage_ends_on))
    .join(Insured, Activation.insured_id == Insured.id)
    .where(Insured.iin_hash == bindparam("iin"), Activation.product == bindparam("product"),
           Activation.account_id == bindparam("account_id"),
           Activation.coverage_ends_on >= bindparam("on"))
)


def _current_end(iin: str, product: str, account_id: int | None, on: date) -> date | None:
    if account_id is None:
        return None
    return db.session.scalar(_CURRENT_END, {"iin": iin, "product": product,
                                            "account_id": account_id, "on": on})


_COVERED_ELSEWHERE = (
    select(User.email)
    .join(Activation, Activation.account_id == User.id)
    .join(Insured, Activation.insured_id == Insured.id)
    .where(Insured.iin_hash == bindparam("iin"), Activation.product == bindparam("product"),
           Activation.coverage_ends_on >= bindparam("on"),
           User.id != bindparam("account_id"))
    .limit(1)
)


def _covered_elsewhere(iin: str, product: str, account_id: int | None, on: date) -> str | None:
    """The email of another account covering this person for this product, if any."""
    return db.session.scalar(_COVERED_ELSEWHERE, {
        "iin": iin, "product": product, "on": on,
        "account_id": account_id if account_id is not None else -1})


def _check_person(policy: Policy, valid: Valid, today: date) -> None:
    if policy.expected_iin_hash and not hmac.compare_digest(
            policy.expected_iin_hash, iin_lookup(valid.iin.value)):
        raise FieldRefused("iin", _("This policy was issued for another person: the IIN does "
                                    "not match the insurer's records."))
    age = coverage.age_on(valid.iin.birth_date, today)
    if policy.product == "personal_doctor" and age < 18:
        raise FieldRefused("iin", _("«Personal Doctor» covers adults (18 or over). For a "
                                    "child, use a «Child Doctor» policy."))
    if policy.product == "child_doctor" and age >= 18:
        raise FieldRefused("iin", _("«Child Doctor» covers children under 18. For an adult, "
                                    "use a «Personal Doctor» policy."))


def _email_of_other_product() -> Conflict:
    return Conflict(_("This email is already used for another product. Each product needs "
                      "its own email: please use a different address."),
                    {"email": [_("Use a different email for this product.")]})


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_SYNC_COMMIT_OFF = text("SET LOCAL synchronous_commit = off")
_CLAIM = (
    update(Policy).where(Policy.id == bindparam("policy_id"), Policy.activated_at.is_(None))
    .values(activated_at=bindparam("now")).execution_options(synchronize_session=False)
)
_INSURED_OF_ACCOUNT = select(Insured).where(Insured.account_id == bindparam("account_id"),
                                            Insured.iin_hash == bindparam("iin"))


def iin_lookup(iin: str) -> str:
    """The keyed hash by which an IIN is found (it is never stored in clear)."""
    return crypto.lookup_hash(iin, "iin")


def _lock_person(iin: str, product: str) -> None:
    """Serialise activations for one person and product until this transaction ends,
    so two at once cannot both pass the "covered elsewhere" check or both extend the
    same coverage. SQLite already runs writers one at a time."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"{product}:{iin}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    db.session.execute(_ADVISORY_LOCK, {"key": key})


def activate(req: ActivationRequest, *, client_ip: str | None, locale: str) -> ActivationResult:
    """Activate a policy once; raises an :class:`ActivationRefused` subclass otherwise."""
    now = clock.now()
    today = clock.local(now).date()
    valid = validate(req, today)
    policy = _check_code(valid.policy_number, valid.activation_code, now)
    if policy.activated_at is not None:
        raise AlreadyActivated
    if policy.activate_by is not None and today > policy.activate_by:
        raise DeadlinePassed(format_date(policy.activate_by, "long"))
    _check_person(policy, valid, today)

    iin_key = iin_lookup(valid.iin.value)
    _lock_person(iin_key, policy.product)
    user = accounts.find_by_email(valid.email)
    if user is not None and (user.role != "patient" or user.product_line != policy.product):
        raise _email_of_other_product()
    other = _covered_elsewhere(iin_key, policy.product, user.id if user else None, today)
    if other is not None:
        raise Conflict(_("This person is already covered by this product in another account. "
                         "Please sign in there: %(email)s.", email=emails.mask_email(other)))

    claimed = db.session.execute(_CLAIM, {"policy_id": policy.id, "now": now})
    if rowcount(claimed) != 1:
        raise AlreadyActivated

    created = False
    if user is None:
        user, created = accounts.create_patient(valid.email, policy.product, locale)
        if not created and user.product_line != policy.product:  # lost a race
            raise _email_of_other_product()
    # A brand-new account has no insured people and no coverage yet: skip the lookups.
    insured = None if created else db.session.scalar(
        _INSURED_OF_ACCOUNT, {"account_id": user.id, "iin": iin_key})
    if insured is None:
        insured = Insured(account_id=user.id, iin_hash=iin_key,
                          iin_encrypted=crypto.encrypt(valid.iin.value),
                          full_name=valid.full_name, birth_date=valid.iin.birth_date,
                          sex=valid.iin.sex)
        db.session.add(insured)
    else:
        insured.full_name = valid.full_name
    current_end = None if created else _current_end(iin_key, policy.product, user.id, today)
    cov = coverage.coverage_for(today, current_end)
    activation = Activation(
        policy_id=policy.id, insured=insured, account_id=user.id, product=policy.product,
        activated_at=now, activated_on=today, coverage_starts_on=cov.starts_on,
        coverage_ends_on=cov.ends_on, consent_version=current_app.config["CONSENT_VERSION"],
        consent_given_at=now, client_ip=client_ip, locale=locale,
    )
    db.session.add(activation)
    db.session.flush()  # the one flush: the activation id names the Appendix 1 attachment
    mails.queue(activation, user, created)
    if created:
        accounts.send_password_link(user)
    return ActivationResult(activation.id, _payload(activation, policy, insured, user, created),
                            created)


def _payload(a: Activation, policy: Policy, insured: Insured, user: User,
             created: bool) -> dict[str, Any]:
    return {
        "policy_number": policy.number,
        "product": a.product,
        "insured": {
            "full_name": insured.full_name,
            "birth_date": insured.birth_date.isoformat(),
            "sex": insured.sex,
        },
        "activated_on": a.activated_on.isoformat(),
        "coverage_starts_on": a.coverage_starts_on.isoformat(),
        "coverage_ends_on": a.coverage_ends_on.isoformat(),
        "account": {"email": user.email, "created": created},
    }


def policies_of(user: User) -> list[Activation]:
    """The account's activations with their policy and insured, newest coverage first
    (loaded in the same query: the account page shows both for every row)."""
    return list(db.session.scalars(
        select(Activation).where(Activation.account_id == user.id)
        .options(joinedload(Activation.policy), joinedload(Activation.insured))
        .order_by(Activation.coverage_starts_on.desc())
    ))


def activation_of(user: User, number: str) -> Activation | None:
    """The account's activation of policy ``number``, or None if it is not theirs."""
    return db.session.scalar(
        select(Activation).join(Policy).where(Activation.account_id == user.id,
                                              Policy.number == number)
    )


__all__ = ["ActivationRequest", "ActivationResult", "activate", "hash_code", "policies_of"]
