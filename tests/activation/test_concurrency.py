"""Concurrent requests over real sockets: one activation per policy, exact counters."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from accounts.models import User
from activation.models import Activation, Policy
from core.extensions import db
from core.outbox import OutboxMessage
from tests.fixtures.activation import activation_body


def _fire(url: str, bodies: list[dict]) -> list[int]:
    def one(body: dict) -> int:
        with requests.Session() as s:
            return s.post(url + "/api/v1/activations", json=body, timeout=60).status_code

    # End this thread's transaction: on SQLite it would hold the write lock.
    db.session.rollback()
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, bodies))


def test_twenty_concurrent_correct_activations_give_one_201(live_server, make_policy):
    policy = make_policy()
    statuses = _fire(live_server.url, [activation_body(policy)] * 20)
    assert sorted(statuses) == [201] + [409] * 19
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert db.session.scalar(select(func.count()).select_from(Activation)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_concurrent_wrong_codes_are_all_counted_and_lock_the_number(live_server, make_policy):
    policy = make_policy()
    statuses = _fire(live_server.url, [activation_body(policy, activation_code="W")] * 8)
    db.session.expire_all()
    fresh = db.session.get(Policy, policy.id)
    # 8 wrong codes: the 5th locks; the rest count towards the next round or meet the lock.
    assert statuses.count(422) >= 5
    assert set(statuses) <= {422, 429}
    assert fresh.locked_until is not None
    assert fresh.failed_attempts == statuses.count(422) - 5


def test_two_policies_activated_at_once_with_one_new_email_share_one_account(live_server,
                                                                             make_policy):
    from tests.fixtures.activation import ADULT_IIN_2

    a, b = make_policy(), make_policy()
    statuses = _fire(live_server.url, [activation_body(a),
                                       activation_body(b, iin=ADULT_IIN_2,
                                                       full_name="Петров Пётр")])
    assert statuses == [201, 201]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_one_person_activated_at_once_under_two_emails_gets_one_account(live_server, make_policy):
    a, b = make_policy(), make_policy()
    statuses = _fire(live_server.url, [activation_body(a, email="one@mail.kz"),
                                       activation_body(b, email="two@mail.kz")])
    assert sorted(statuses) == [201, 409]


def test_two_policies_for_one_person_at_once_give_consecutive_coverage(live_server, make_policy):
    policies = [make_policy() for _ in range(3)]
    statuses = _fire(live_server.url, [activation_body(p) for p in policies])
    assert statuses == [201, 201, 201]
    db.session.expire_all()
    periods = sorted((a.coverage_starts_on, a.coverage_ends_on)
                     for a in db.session.scalars(select(Activation)))
    for (_, end), (start, _) in zip(periods, periods[1:], strict=False):
        assert (start - end).days == 1  # no gap, no overlap
