"""POST /api/v1/activations: every rule of the activation memo."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import User
from activation.models import Activation, Policy
from core import clock
from core.extensions import db
from core.outbox import OutboxMessage, materialise
from tests.fixtures.activation import (
    ADULT_IIN,
    ADULT_IIN_2,
    CHILD_IIN,
    activation_body,
    iin_for,
)

URL = "/api/v1/activations"


def post(client, body, lang="en"):
    return client.post(URL, json=body, headers={"Accept-Language": lang})


def counts():
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (User, Activation, OutboxMessage))


def test_activation_returns_201_with_coverage_dates_in_almaty(client, frozen_clock, make_policy):
    # 2026-03-10 23:30 in Almaty is still 18:30 UTC the same day: use Almaty's date.
    clock.freeze(datetime(2026, 3, 10, 18, 30, tzinfo=UTC))
    policy = make_policy()
    r = post(client, activation_body(policy, email="Ivanov@Mail.KZ"))
    assert r.status_code == 201, r.json
    assert r.json == {
        "policy_number": policy.number,
        "product": "personal_doctor",
        "insured": {"full_name": "Иванов Иван Иванович", "birth_date": "1987-10-08",
                    "sex": "female"},
        "activated_on": "2026-03-10",
        "coverage_starts_on": "2026-03-25",
        "coverage_ends_on": "2027-03-24",
        "account": {"email": "ivanov@mail.kz", "created": True},
    }


def test_activation_date_is_the_almaty_calendar_date_not_utc(client, make_policy):
    clock.freeze(datetime(2026, 3, 10, 19, 30, tzinfo=UTC))  # 00:30 on 11 March in Almaty
    r = post(client, activation_body(make_policy()))
    assert r.json["activated_on"] == "2026-03-11"


def test_consent_is_stored_with_version_and_time(client, frozen_clock, app, make_policy):
    post(client, activation_body(make_policy()))
    a = db.session.scalar(select(Activation))
    assert a.consent_version == app.config["CONSENT_VERSION"]
    assert a.consent_given_at == clock.now()


def test_unknown_number_and_wrong_code_get_the_same_answer(client, make_policy):
    policy = make_policy()
    unknown = post(client, activation_body(policy, policy_number="NO-SUCH-NUMBER"))
    wrong = post(client, activation_body(policy, activation_code="WRONG-CODE"))
    assert unknown.status_code == wrong.status_code == 422
    assert unknown.json == wrong.json
    assert unknown.mimetype == "application/problem+json"


def test_code_is_compared_ignoring_case_spaces_and_hyphens(client, make_policy):
    policy = make_policy(code="AB12-CD34")
    assert post(client, activation_body(policy, activation_code=" ab12 cd34 ")).status_code == 201


def test_five_wrong_codes_lock_the_number_for_15_minutes(client, frozen_clock, make_policy):
    policy = make_policy()
    for _ in range(5):
        assert post(client, activation_body(policy, activation_code="WRONG")).status_code == 422
    locked = post(client, activation_body(policy))  # even the right code
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    clock.shift(timedelta(minutes=14, seconds=59))
    assert post(client, activation_body(policy)).status_code == 429
    clock.shift(timedelta(seconds=2))
    assert post(client, activation_body(policy)).status_code == 201


def test_a_right_code_resets_the_wrong_code_count(client, frozen_clock, make_policy):
    policy = make_policy()
    for _ in range(4):
        post(client, activation_body(policy, activation_code="WRONG"))
    post(client, activation_body(policy, email="bad"))  # invalid field: code not even checked
    assert db.session.get(Policy, policy.id).failed_attempts == 4


def test_unknown_numbers_create_no_rows(client, make_policy):
    policy = make_policy()
    before = counts()
    for n in range(20):
        r = post(client, activation_body(policy, policy_number=f"UNKNOWN-{n}"))
        assert r.status_code == 422
    assert counts() == before
    assert db.session.scalar(select(func.count()).select_from(Policy)) == 1


def test_already_activated_is_revealed_only_with_the_right_code(client, make_policy):
    policy = make_policy()
    assert post(client, activation_body(policy)).status_code == 201
    again = post(client, activation_body(policy, email="other@mail.kz"))
    assert again.status_code == 409
    wrong = post(client, activation_body(policy, activation_code="WRONG", email="o@mail.kz"))
    assert wrong.status_code == 422
    assert "activated" not in wrong.json["detail"]


def test_deadline_passed_is_revealed_only_with_the_right_code(client, frozen_clock, make_policy):
    policy = make_policy(activate_by=date(2026, 3, 9))
    wrong = post(client, activation_body(policy, activation_code="WRONG"))
    assert wrong.status_code == 422 and "deadline" not in wrong.json["detail"]
    late = post(client, activation_body(policy))
    assert late.status_code == 422
    assert "deadline" in late.json["detail"]


def test_activation_on_the_deadline_day_is_allowed(client, frozen_clock, make_policy):
    policy = make_policy(activate_by=date(2026, 3, 10))
    assert post(client, activation_body(policy)).status_code == 201


def test_policy_with_known_iin_accepts_only_that_iin(client, make_policy):
    policy = make_policy(iin=ADULT_IIN_2)
    r = post(client, activation_body(policy, iin=ADULT_IIN))
    assert r.status_code == 422 and "iin" in r.json["errors"]
    assert post(client, activation_body(policy, iin=ADULT_IIN_2)).status_code == 201


def test_personal_doctor_refuses_a_child(client, frozen_clock, make_policy):
    r = post(client, activation_body(make_policy(), iin=CHILD_IIN))
    assert r.status_code == 422 and "iin" in r.json["errors"]


def test_child_doctor_refuses_an_adult(client, make_policy):
    r = post(client, activation_body(make_policy(product="child_doctor"), iin=ADULT_IIN))
    assert r.status_code == 422 and "iin" in r.json["errors"]


def test_child_doctor_age_edge_the_day_before_and_on_the_18th_birthday(client, frozen_clock,
                                                                       make_policy):
    on_birthday = iin_for(date(2008, 3, 10), serial=11)
    day_before = iin_for(date(2008, 3, 11), serial=12)
    r = post(client, activation_body(make_policy(product="child_doctor"), iin=on_birthday))
    assert r.status_code == 422
    ok = post(client, activation_body(make_policy(product="child_doctor"), iin=day_before,
                                      email="child@mail.kz"))
    assert ok.status_code == 201, ok.json


def test_every_bad_field_is_reported_at_once_and_nothing_changes(client, make_policy):
    policy = make_policy()
    before = counts()
    r = post(client, {"policy_number": "", "activation_code": "", "iin": "123",
                      "full_name": "<script>", "email": "x", "consent": False})
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"policy_number", "activation_code", "iin", "full_name",
                                     "email", "consent"}
    assert r.json["status"] == 422 and r.json["title"] and r.json["detail"]
    assert counts() == before
    assert db.session.get(Policy, policy.id).activated_at is None


@pytest.mark.parametrize("body", [None, [], "text", 5])
def test_non_object_bodies_get_400_problem(client, body):
    r = client.post(URL, json=body)
    assert r.status_code == 400 and r.mimetype == "application/problem+json"


def test_consent_must_be_literally_true(client, make_policy):
    r = post(client, activation_body(make_policy(), consent="yes"))
    assert r.status_code == 422 and "consent" in r.json["errors"]


def test_errors_come_in_the_requested_language(client, make_policy):
    r = post(client, activation_body(make_policy(), iin="123"), lang="ru")
    en = post(client, activation_body(make_policy(), iin="123"), lang="en")
    assert r.json["errors"]["iin"] != en.json["errors"]["iin"]
    assert any("\u0400" <= ch <= "\u04ff" for ch in r.json["errors"]["iin"][0])


def test_same_product_email_adds_the_policy_to_the_existing_account(client, make_policy):
    first = post(client, activation_body(make_policy()))
    second = post(client, activation_body(make_policy(), iin=ADULT_IIN_2,
                                          full_name="Петров Пётр"))
    assert first.json["account"]["created"] is True
    assert second.status_code == 201
    assert second.json["account"] == {"email": "ivanov@mail.kz", "created": False}
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    templates = [m.template for m in db.session.scalars(select(OutboxMessage))]
    assert sorted(templates) == ["activation", "activation", "policy_added", "set_password"]


def test_email_of_the_other_product_is_refused_with_409(client, make_policy):
    post(client, activation_body(make_policy()))
    child = make_policy(product="child_doctor")
    before = counts()
    r = post(client, activation_body(child, iin=CHILD_IIN))
    assert r.status_code == 409 and "email" in r.json["errors"]
    assert counts() == before
    assert db.session.get(Policy, child.id).activated_at is None


def test_person_covered_in_another_account_is_sent_there_with_masked_email(client, make_policy):
    post(client, activation_body(make_policy(), email="aigerim@mail.kz"))
    r = post(client, activation_body(make_policy(), email="other@mail.kz"))
    assert r.status_code == 409
    assert "a***@mail.kz" in r.json["detail"]
    assert "aigerim" not in r.json["detail"]


def test_second_policy_for_the_same_person_continues_without_gap_or_waiting(client, frozen_clock,
                                                                            make_policy):
    first = post(client, activation_body(make_policy())).json
    clock.shift(timedelta(days=200))
    second = post(client, activation_body(make_policy())).json
    end = date.fromisoformat(first["coverage_ends_on"])
    assert second["coverage_starts_on"] == (end + timedelta(days=1)).isoformat()
    assert second["coverage_ends_on"] == date(end.year + 1, end.month, end.day).isoformat()


def test_activation_after_coverage_ended_has_a_new_waiting_period(client, frozen_clock,
                                                                  make_policy):
    post(client, activation_body(make_policy()))
    clock.shift(timedelta(days=400))
    second = post(client, activation_body(make_policy())).json
    assert date.fromisoformat(second["coverage_starts_on"]) - date.fromisoformat(
        second["activated_on"]) == timedelta(days=15)


def test_activation_queues_appendix_and_set_password_mail(client, make_policy):
    post(client, activation_body(make_policy()))
    mails = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [m.to_addr for m in mails] == ["ivanov@mail.kz", "ivanov@mail.kz"]
    assert mails[0].attachments == [{"kind": "appendix1", "ref": str(
        db.session.scalar(select(Activation.id)))}]
    assert [m.template for m in mails] == ["activation", "set_password"]
    assert mails[0].subject is None  # rendered at delivery, not in the request
    assert "/password/set/" in materialise(mails[1]).text_body


def test_activation_code_is_never_stored_in_clear(client, make_policy):
    policy = make_policy(code="SECRET-CODE-77")
    stored = db.session.get(Policy, policy.id).code_hash
    assert "SECRET" not in stored and len(stored) == 64


def test_per_ip_limit_answers_429_problem(client, app, make_policy):
    app.config["RATELIMIT_ACTIVATION"] = "3 per minute"
    policy = make_policy()
    codes = [post(client, activation_body(policy, activation_code="W")).status_code
             for _ in range(4)]
    assert codes[:3] == [422, 422, 422]
    assert codes[3] == 429
    r = post(client, activation_body(policy))
    assert r.status_code == 429 and r.mimetype == "application/problem+json"
    assert int(r.headers["Retry-After"]) > 0
    assert r.json["status"] == 429 and r.json["detail"]


def test_the_iin_is_never_stored_in_clear(client, make_policy):
    from sqlalchemy import text

    from activation.models import Insured

    policy = make_policy(iin=ADULT_IIN)
    assert post(client, activation_body(policy)).status_code == 201
    dump = " ".join(str(v) for table in ("insured", "policy", "activation")
                    for row in db.session.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
                    for v in row)
    assert ADULT_IIN not in dump
    assert db.session.scalar(select(Insured)).iin == ADULT_IIN  # decrypted on demand
