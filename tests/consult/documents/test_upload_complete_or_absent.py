"""An upload is complete or absent: when the transaction that would keep the row rolls
back after the file was sealed (a failing audit, a failing commit), neither the sealed
file nor the row remains."""

from typing import Any

from flask import Flask
from sqlalchemy import event, func, select

from accounts import audit
from consult.documents import uploads
from consult.documents.models import Document
from core.extensions import db
from tests.consult.documents.test_documents import _blobs
from tests.fixtures.documents import jpeg_bytes, upload


def _documents() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Document)) or 0


def test_an_upload_failing_after_sealing_leaves_no_file(app: Flask, docs: dict[str, Any],
                                                         monkeypatch: Any) -> None:
    def audit_down(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("audit down")

    monkeypatch.setattr(audit, "append", audit_down)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id).status_code == 500
    assert _blobs(app) == []
    assert _documents() == 0


def test_an_upload_whose_commit_fails_leaves_no_file(app: Flask, docs: dict[str, Any],
                                                     monkeypatch: Any) -> None:
    real = uploads.add_document

    def add_then_break_the_commit(*args: Any, **kwargs: Any) -> Document:
        document = real(*args, **kwargs)

        def disk_full(_session: Any) -> None:
            raise RuntimeError("disk full")

        event.listen(db.session(), "before_commit", disk_full, once=True)
        return document

    monkeypatch.setattr(uploads, "add_document", add_then_break_the_commit)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id).status_code == 500
    assert _blobs(app) == []
    assert _documents() == 0
