"""Migrations: one head, and upgrading an empty database reaches exactly the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from core.extensions import db
from tests.fixtures.app import REPO, fresh_database, make_app


def test_there_is_exactly_one_head():
    from alembic.config import Config

    config = Config(str(REPO / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(REPO / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


@pytest.fixture
def empty_database(tmp_path):
    with fresh_database(tmp_path, "pd_migr") as url:
        yield url


def test_upgrade_of_an_empty_database_matches_the_models(empty_database):
    app = make_app(empty_database)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == []


def test_migrated_audit_log_refuses_update_and_delete(empty_database):
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    from accounts import audit

    app = make_app(empty_database)
    with app.app_context():
        upgrade()
        audit.append("auth.sign_in", subject="user:1", ip="127.0.0.1")
        db.session.commit()
        for statement in ("UPDATE audit_entry SET action = 'x'", "DELETE FROM audit_entry"):
            with pytest.raises(DatabaseError):
                db.session.execute(text(statement))
            db.session.rollback()
        assert audit.verify() == []
        db.session.remove()
        db.engine.dispose()
