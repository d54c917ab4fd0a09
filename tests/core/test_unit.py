"""The unit of work: one commit per request, CLI command or socket event; work after
the commit; the early end of an upload's reading transaction."""

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from core import clock, unit
from core.extensions import db
from core.outbox import OutboxMessage
from tests.fixtures.documents import jpeg_bytes, upload


def _outbox() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def _message() -> OutboxMessage:
    now = clock.now()
    return OutboxMessage(to_addr="a@example.kz", template="set_password", context={},
                         locale="en", attachments=[], created_at=now, next_attempt_at=now,
                         status="pending", attempts=0)


def test_work_after_commit_waits_for_the_commit_and_is_dropped_on_rollback(app: Flask
                                                                           ) -> None:
    done: list[str] = []
    with unit.transaction():
        db.session.add(_message())
        unit.after_commit(lambda: done.append(f"after {_outbox()}"))
        assert done == []
    assert done == ["after 1"]

    def refused() -> None:
        with unit.transaction():
            db.session.add(_message())
            unit.after_commit(lambda: done.append("never"))
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        refused()
    assert done == ["after 1"] and _outbox() == 1


def test_a_transaction_inside_another_joins_it(app: Flask) -> None:
    def outer_fails() -> None:
        with unit.transaction():
            with unit.transaction():
                db.session.add(_message())
            raise RuntimeError("the outer unit fails")

    with pytest.raises(RuntimeError):
        outer_fails()
    assert _outbox() == 0


def test_outside_a_unit_of_work_the_work_runs_at_once(app: Flask) -> None:
    done: list[int] = []
    unit.after_commit(lambda: done.append(1))
    assert done == [1]


def test_an_upload_after_half_a_minute_idle_is_stored(app: Flask, docs: dict[str, Any]
                                                      ) -> None:
    """Signing in again notes the session's activity (a write) before the upload ends
    its reading transaction: that write is committed, not refused."""
    clock.shift(timedelta(seconds=45))
    response = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]


def test_the_connection_test_after_half_a_minute_idle_says_no_worker(
        app: Flask, docs: dict[str, Any]) -> None:
    app.config["MEDIA_WORKER_URLS"] = ""
    clock.shift(timedelta(seconds=45))
    response = docs["pc"].post("/consult/check/offer", json={"sdp": "v=0", "type": "offer"})
    assert response.status_code == 503


@pytest.mark.parametrize(("referrer", "expected"), [
    ("http://localhost/consult/desk?x=1", "/consult/desk?x=1"),
    ("http://evil.example/consult/desk", "/fallback"),
    ("http://localhost//evil.example/", "/fallback"),
    (None, "/fallback"),
])
def test_a_refusal_goes_back_only_to_a_page_of_this_site(app: Flask, referrer: str | None,
                                                          expected: str) -> None:
    headers = {"Referer": referrer} if referrer else {}
    with app.test_request_context("/x", method="POST", headers=headers):
        assert unit.back("/fallback") == expected
