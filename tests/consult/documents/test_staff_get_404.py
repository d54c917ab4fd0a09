"""Operators and admins get the same 404 as anyone else for a document (the README's
promise), never a 403 that tells them the address is a document; nothing is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.audit import AuditEntry
from core.extensions import db
from tests.fixtures.documents import jpeg_bytes, upload


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_staff_get_404_for_a_document_like_a_stranger(app, docs, make_user,
                                                      signed_in_clients, role):
    doc_id = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id).json["id"]
    (staff,) = signed_in_clients(make_user(role))
    for path in ("", "/file", "/image", "/thumbnail", "/pages/1"):
        assert staff.get(f"/documents/{doc_id}{path}").status_code == 404, path
        assert docs["oc"].get(f"/documents/{doc_id}{path}").status_code == 404, path
    r = staff.get(f"/api/v1/documents/{doc_id}")
    assert r.status_code == 404 and r.json["status"] == 404
    assert docs["oc"].get(f"/api/v1/documents/{doc_id}").status_code == 404
    db.session.commit()
    assert not db.session.scalars(select(AuditEntry).where(
        AuditEntry.subject == f"document:{doc_id}",
        AuditEntry.action.in_(("document.viewed", "document.downloaded")))).all()
