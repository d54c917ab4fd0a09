"""The audit log: a hash chain that shows edits and deletions, append-only triggers,
one order under concurrent appends, `flask audit verify`, and the staff page."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from accounts.audit import (
    GENESIS,
    AuditEntry,
    AuditHead,
    append,
    append_now,
    entry_hash,
    install_append_only,
    remove_append_only,
    verify,
)
from accounts.audit_cli import audit as audit_cli
from accounts.audit_routes import bp as audit_bp
from core import clock
from core.db import writing
from core.extensions import db
from tests.fixtures import accounts as helpers

ENTRIES = AuditEntry.__table__
PASSWORD = "correct horse battery staple"


@pytest.fixture
def append_only(app):
    """The triggers the migration installs; dropped again so the harness can empty tables."""
    db.session.commit()
    with db.engine.begin() as conn:
        install_append_only(conn)
    try:
        yield
    finally:
        db.session.rollback()
        with db.engine.begin() as conn:
            remove_append_only(conn)


@pytest.fixture
def audit_app(app):
    """The app with the audit page and command (until the app factory registers them)."""
    if "audit" not in app.blueprints:
        app.register_blueprint(audit_bp)
    if "audit" not in app.cli.commands:
        app.cli.add_command(audit_cli)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def log(count, **kwargs):
    entries = [append("auth.sign_in", subject=f"user:{i}", **kwargs) for i in range(count)]
    db.session.commit()
    return entries


def tamper(statement):
    """What someone with direct database access does (no triggers in the way)."""
    db.session.execute(statement)
    db.session.commit()


# --- the chain -------------------------------------------------------------------------

def test_each_entry_links_to_the_previous_one_and_the_head_follows(app):
    first, second, third = log(3)
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert [e.id for e in (first, second, third)] == [1, 2, 3]
    assert third.hash == entry_hash(second.hash, 3, third.at, None, None, "auth.sign_in",
                                    "user:2", {}, None)
    head = db.session.get(AuditHead, 1)
    assert (head.last_id, head.last_hash) == (3, third.hash)


def test_append_records_who_what_when_and_from_where(app, frozen_clock, make_user):
    user = make_user("operator", email="op@insurer.kz")
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "10.1.2.3"}):
        entry = append("staff.role_changed", actor=user, subject="user:7",
                       details={"from": "doctor", "to": "admin"})
    assert (entry.actor_id, entry.actor_email, entry.ip) == (user.id, "op@insurer.kz",
                                                             "10.1.2.3")
    assert entry.at == clock.now()
    assert entry.details == {"from": "doctor", "to": "admin"}


def test_append_now_commits_on_its_own_inside_a_reading_request(app):
    log(1)
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "10.9.9.9"}):
        db.session.scalar(select(func.count()).select_from(AuditEntry))  # a reader now
        entry = append_now("patient.record_viewed", subject="consultation:1")
        db.session.rollback()  # the request's own transaction does not carry it
    assert (entry.id, entry.ip) == (2, "10.9.9.9")
    assert db.session.get(AuditEntry, 2).prev_hash == db.session.get(AuditEntry, 1).hash
    assert verify() == []


def test_verify_passes_on_an_intact_log_read_back_from_the_database(app):
    assert verify() == []
    log(2)
    append("patient.record_viewed", subject="consultation:5", ip="2001:db8::1",
           details={"fields": ("diagnosis", "notes"), "name": "Иванов", "n": 1.5})
    db.session.commit()
    db.session.expire_all()
    assert verify() == []


def test_the_log_outlives_the_account_it_names(app, make_user):
    user = make_user("doctor", email="gone@insurer.kz")
    append("auth.sign_in", actor=user)
    db.session.commit()
    db.session.delete(user)
    db.session.commit()
    assert verify() == []
    assert db.session.scalar(select(AuditEntry.actor_email)) == "gone@insurer.kz"


def test_verify_catches_an_edited_entry(app):
    log(5)
    tamper(update(ENTRIES).where(ENTRIES.c.id == 3).values(subject="user:999"))
    assert verify() == ["entry 3: content does not match its hash (edited)"]


def test_verify_catches_an_edited_entry_whose_hash_was_recomputed(app):
    entries = log(5)
    e = entries[2]
    forged = entry_hash(e.prev_hash, e.id, e.at, None, None, e.action, "user:999", {}, None)
    tamper(update(ENTRIES).where(ENTRIES.c.id == 3).values(subject="user:999", hash=forged))
    problems = verify()
    assert problems == ["entry 4: previous hash does not match entry 3 "
                        "(an entry before it was deleted or edited)"]


def test_verify_catches_a_deleted_middle_entry(app):
    log(5)
    tamper(delete(ENTRIES).where(ENTRIES.c.id == 3))
    problems = verify()
    assert "entry 3: missing (deleted)" in problems
    assert ("entry 4: previous hash does not match entry 2 "
            "(an entry before it was deleted or edited)") in problems


def test_verify_catches_deleted_first_entries(app):
    log(4)
    tamper(delete(ENTRIES).where(ENTRIES.c.id <= 2))
    problems = verify()
    assert "entries 1 to 2: missing (deleted)" in problems
    assert any(p.startswith("entry 3: previous hash does not match the start") for p in problems)


def test_verify_catches_deleted_last_entries(app):
    log(5)
    tamper(delete(ENTRIES).where(ENTRIES.c.id >= 4))
    assert verify() == ["head: last entry is 3 but the head says 5 "
                        "(the newest entries were deleted)"]


def test_verify_catches_an_edited_and_rehashed_last_entry(app):
    entries = log(3)
    e = entries[-1]
    forged = entry_hash(e.prev_hash, e.id, e.at, None, None, "auth.sign_out", e.subject, {},
                        None)
    tamper(update(ENTRIES).where(ENTRIES.c.id == 3).values(action="auth.sign_out",
                                                           hash=forged))
    problems = verify()
    assert len(problems) == 1 and problems[0].startswith("head: entry 3 does not match")


def test_verify_catches_a_deleted_head(app):
    log(2)
    tamper(delete(AuditHead))
    assert verify() == ["head: missing, but the log has 2 entries (the head was deleted)"]


# --- append-only -----------------------------------------------------------------------

def test_the_triggers_refuse_update_and_delete_but_not_append(app, append_only):
    log(2)
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(update(ENTRIES).where(ENTRIES.c.id == 1).values(action="x"))
    db.session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(delete(ENTRIES).where(ENTRIES.c.id == 2))
    db.session.rollback()
    log(1)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 3
    assert verify() == []


def test_the_triggers_are_removed_again(app, append_only):
    log(1)
    with db.engine.begin() as conn:
        remove_append_only(conn)
    tamper(delete(ENTRIES))
    with db.engine.begin() as conn:
        install_append_only(conn)  # the fixture drops them again: dropping is idempotent
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


# --- concurrency -----------------------------------------------------------------------

def test_concurrent_appends_from_several_threads_keep_one_valid_chain(app):
    threads, each = 8, 10

    def work(k: int) -> None:
        with app.app_context():
            for i in range(each):
                with writing():
                    append("auth.sign_in", subject=f"thread:{k}:{i}")
                    db.session.commit()

    db.session.commit()  # the test's own transaction must not hold the SQLite lock
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(work, k) for k in range(threads)]:
            future.result()
    db.session.expire_all()
    ids = list(db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    assert ids == list(range(1, threads * each + 1))
    assert verify() == []


# --- flask audit verify ----------------------------------------------------------------

def test_cli_verify_exits_0_on_an_intact_log(audit_app):
    log(3)
    result = audit_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit log intact: 3 entries" in result.output


def test_cli_verify_exits_1_and_lists_the_problems(audit_app):
    log(3)
    tamper(update(ENTRIES).where(ENTRIES.c.id == 2).values(ip="6.6.6.6"))
    result = audit_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "entry 2: content does not match its hash (edited)" in result.output


# --- the page --------------------------------------------------------------------------

def sign_in(client, user):
    """Through /login and, for staff, the second factor."""
    assert helpers.sign_in(client, user).status_code == 302


def test_an_operator_sees_entries_newest_first(audit_app, client, make_user):
    operator = make_user("operator", email="op@insurer.kz")
    append("patient.record_viewed", actor=operator, subject="consultation:5",
           details={"section": "notes"}, ip="10.0.0.7")
    append("staff.created", actor=operator, subject="user:42")
    db.session.commit()
    sign_in(client, operator)
    page = client.get("/staff/audit/").get_data(as_text=True)
    assert "consultation:5" in page and "10.0.0.7" in page and "op@insurer.kz" in page
    assert page.index("user:42") < page.index("consultation:5")
    assert 'class="table-wrap"' in page and '<caption id="audit-caption">' in page
    # Actions in words, not codes (the code stays only as the filter's value).
    assert "<td>Staff account created</td>" in page and ">staff.created<" not in page


def test_an_admin_may_see_the_log_and_a_patient_may_not(audit_app, client, make_user):
    admin = make_user("admin", email="admin@insurer.kz")
    patient = make_user("patient", email="patient@mail.kz")
    sign_in(client, admin)
    assert client.get("/staff/audit/").status_code == 200
    client.post("/logout")
    client.delete_cookie("session")
    sign_in(client, patient)
    assert client.get("/staff/audit/").status_code == 403


def test_filters_by_actor_action_and_subject(audit_app, client, make_user):
    operator = make_user("operator", email="op@insurer.kz")
    doctor = make_user("doctor", email="dr.house@clinic.kz")
    append("auth.sign_in", actor=doctor, subject="user:DOC")
    append("patient.record_viewed", actor=doctor, subject="consultation:AAA")
    append("patient.record_viewed", actor=operator, subject="consultation:BBB")
    db.session.commit()
    sign_in(client, operator)

    page = client.get("/staff/audit/?actor=HOUSE").get_data(as_text=True)
    assert "user:DOC" in page and "consultation:AAA" in page and "consultation:BBB" not in page
    page = client.get("/staff/audit/?action=patient.record_viewed").get_data(as_text=True)
    assert "consultation:AAA" in page and "consultation:BBB" in page and "user:DOC" not in page
    page = client.get("/staff/audit/?subject=consultation:BBB").get_data(as_text=True)
    assert "consultation:BBB" in page and "consultation:AAA" not in page


def test_dates_are_calendar_days_in_almaty(audit_app, client, make_user):
    operator = make_user("operator", email="op@insurer.kz")
    zone = clock.zone()
    for local, subject in [(datetime(2026, 3, 9, 23, 30), "late:9th"),
                           (datetime(2026, 3, 10, 0, 30), "early:10th"),
                           (datetime(2026, 3, 11, 0, 30), "early:11th")]:
        clock.freeze(local.replace(tzinfo=zone))
        append("auth.sign_in", subject=subject)
    db.session.commit()
    clock.reset()
    sign_in(client, operator)
    page = client.get("/staff/audit/?date_from=2026-03-10&date_to=2026-03-10").get_data(
        as_text=True)
    assert "early:10th" in page and "late:9th" not in page and "early:11th" not in page
    page = client.get("/staff/audit/?date_to=2026-03-09").get_data(as_text=True)
    assert "late:9th" in page and "early:10th" not in page


@pytest.mark.parametrize("query", ["date_from=10.03.2026", "date_to=soon",
                                   "action=drop.tables", "date_from=2026-03-11&date_to=2026-03-10",
                                   "page=-1", "page=abc", "page=99999999999999999999",
                                   "page=%D9%A3"])
def test_bad_filter_values_are_explained_and_ignored(audit_app, client, query, make_user):
    operator = make_user("operator", email="op@insurer.kz")
    append("auth.sign_in", subject="user:SEEN")
    db.session.commit()
    sign_in(client, operator)
    response = client.get(f"/staff/audit/?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'role="alert"' in page
    assert "user:SEEN" in page


def test_pages_hold_50_entries_and_link_to_older_ones(audit_app, client, make_user):
    operator = make_user("operator", email="op@insurer.kz")
    for i in range(55):
        append("staff.created", subject=f"item-{i:03d}")
    db.session.commit()
    sign_in(client, operator)
    first = client.get("/staff/audit/?action=staff.created").get_data(as_text=True)
    assert "item-054" in first and "item-005" in first and "item-004" not in first
    assert "page=2" in first and "action=staff.created" in first
    second = client.get("/staff/audit/?action=staff.created&page=2").get_data(as_text=True)
    assert "item-004" in second and "item-000" in second and "item-005" not in second


def test_every_action_the_app_writes_is_listed_for_the_filter():
    import re

    from accounts.audit import ACTIONS
    from tests.fixtures.app import REPO

    written = set()
    for path in (REPO / "accounts").glob("*.py"):
        written |= set(re.findall(r'audit\.append(?:_now)?\(\s*"([a-z_.]+)"', path.read_text()))
    assert written <= set(ACTIONS)
