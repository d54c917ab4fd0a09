"""Helpers for consultation tests: activated patients, doctors on shift, requests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from accounts.models import User
from accounts.passwords import hash_password
from activation.models import Insured
from core.extensions import db
from tests.accounts_helpers import PASSWORD, make_user
from tests.conftest import ADULT_IIN, activation_body, make_policy


def activated_patient(client: Any, *, iin: str = ADULT_IIN, product: str = "personal_doctor",
                      name: str = "Иванов Иван Иванович") -> tuple[User, Insured]:
    """A patient who activated a policy today (business clock), with PASSWORD set."""
    policy = make_policy(product=product)
    email = f"p-{uuid.uuid4().hex[:10]}@mail.kz"
    r = client.post("/api/v1/activations",
                    json=activation_body(policy, iin=iin, email=email, full_name=name))
    assert r.status_code == 201, r.json
    user = db.session.scalar(select(User).where(User.email == email))
    assert user is not None
    user.password_hash = hash_password(PASSWORD)
    db.session.commit()
    insured = db.session.scalar(select(Insured).where(Insured.account_id == user.id))
    assert insured is not None
    return user, insured


def on_shift_doctor(pediatric: bool = False, **fields: Any) -> User:
    """An on-duty doctor (TOTP enabled) whose shift has started."""
    from consult import services

    fields.setdefault("email", f"doctor-{uuid.uuid4().hex[:10]}@clinic.kz")
    doctor = make_user("doctor", on_duty_doctor=True, pediatric=pediatric,
                       full_name=fields.pop("full_name", "House"), **fields)
    services.start_shift(doctor)
    db.session.commit()
    return doctor


def request_body(insured: Insured, **changes: Any) -> dict[str, Any]:
    """A JSON request for an on-duty doctor, the red-flag checklist answered "no"."""
    body = {"insured_id": insured.id, "complaint": "Headache since yesterday, 38.2",
            "channel": "chat", "confirm_self_pay": True,
            "red_flags": {name.removeprefix("flag_"): False for name in NO_RED_FLAGS_FORM}}
    body.update(changes)
    return body


# The request form's red-flag checklist answered "no" throughout (the fever question is
# asked only for a child under 3 months, so it is left out).
NO_RED_FLAGS_FORM = {f"flag_{sign}": "no" for sign in (
    "chest_pain", "breathing", "stroke", "bleeding", "unconscious", "seizures", "self_harm")}


def answer_red_flags(page: Any, yes: tuple[str, ...] = ()) -> None:
    """In a browser: answer the request form's red-flag checklist, "yes" for the signs
    in ``yes`` and "no" for every other question shown."""
    for fieldset in page.locator("fieldset.yes-no:visible").all():
        name = (fieldset.get_attribute("id") or "").removeprefix("flag_")
        fieldset.locator(f"#flag_{name}-{'yes' if name in yes else 'no'}").check()
