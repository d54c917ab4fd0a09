"""Documents: upload, the viewer's files, who sees them, review, audit, encryption."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from accounts.audit import AuditEntry
from consult.documents.models import Document
from consult.duty.closing import Conclusion, close
from core.extensions import db
from tests.fixtures.documents import (
    SECRET_TEXT,
    heic_bytes,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    upload,
)


def _blobs(app) -> list[Path]:
    root = Path(app.config["DOCUMENTS_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _audit(action: str, document_id: int) -> list[AuditEntry]:
    db.session.commit()
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.subject == f"document:{document_id}")))


def test_a_photo_is_stored_sealed_and_comes_back_re_encoded_without_exif(app, docs):
    photo = jpeg_bytes(60, 40, orientation=6, comment=b"<script>alert(1)</script>")
    r = upload(docs["pc"], photo, "IMG_0001.JPG", insured_id=docs["insured"].id)
    assert r.status_code == 201, r.json
    document = db.session.get(Document, r.json["id"])
    assert (document.content_type, document.status, document.kind) == (
        "image/jpeg", "ready", "lab_result")
    # Orientation 6 (rotate 90° clockwise) was applied: 60x40 became 40x60.
    assert (document.width, document.height) == (40, 60)
    stored = b"".join(p.read_bytes() for p in _blobs(app))
    assert len(_blobs(app)) == 2  # the file and its thumbnail
    for plain in (b"\xff\xd8\xff", b"SECRET-CAMERA-MAKER", b"<script>", b"Blood test"):
        assert plain not in stored
    r = docs["pc"].get(f"/documents/{document.id}/image")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Disposition"].startswith("inline;")
    assert "sandbox" in r.headers["Content-Security-Policy"]
    served = r.get_data()
    assert b"SECRET-CAMERA-MAKER" not in served and b"<script>" not in served
    image = Image.open(io.BytesIO(served))
    assert image.size == (40, 60)
    assert not image.getexif()


def test_a_pdf_is_kept_as_it_is_and_shown_as_page_images_only(app, docs):
    content = pdf_bytes(pages=3)
    r = upload(docs["pc"], content, "result.pdf", insured_id=docs["insured"].id,
               kind="discharge_summary")
    assert r.status_code == 201, r.json
    document = db.session.get(Document, r.json["id"])
    assert (document.content_type, document.page_count) == ("application/pdf", 3)
    stored = b"".join(p.read_bytes() for p in _blobs(app))
    assert b"%PDF" not in stored and SECRET_TEXT.encode() not in stored
    r = docs["pc"].get(f"/documents/{document.id}/file")
    assert r.status_code == 200 and r.get_data() == content
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.mimetype == "application/pdf"
    page = docs["pc"].get(f"/documents/{document.id}/pages/2")
    assert page.status_code == 200 and page.mimetype == "image/png"
    assert Image.open(io.BytesIO(page.get_data())).width > 1000
    assert docs["pc"].get(f"/documents/{document.id}/pages/4").status_code == 404
    assert docs["pc"].get(f"/documents/{document.id}/image").status_code == 404
    viewer = docs["pc"].get(f"/documents/{document.id}").get_data(as_text=True)
    assert viewer.count('class="page"') == 3 and "<iframe" not in viewer and "<embed" not in viewer


def test_png_and_heic_are_accepted(app, docs):
    r = upload(docs["pc"], png_bytes(text=b"SECRET-PNG-TEXT"), "x.png",
               insured_id=docs["insured"].id)
    assert r.status_code == 201, r.json
    png = docs["pc"].get(f"/documents/{r.json['id']}/image")
    assert png.mimetype == "image/png" and b"SECRET-PNG-TEXT" not in png.get_data()
    r = upload(docs["pc"], heic_bytes(), "IMG_1.HEIC", insured_id=docs["insured"].id)
    assert r.status_code == 201, r.json
    heic = docs["pc"].get(f"/documents/{r.json['id']}/image")
    assert heic.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(heic.get_data())).size == (64, 32)


def test_another_patient_and_staff_get_404_and_nothing_is_audited(app, docs):
    r = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id)
    doc_id = r.json["id"]
    for path in ("", "/file", "/image", "/thumbnail", "/pages/1"):
        assert docs["oc"].get(f"/documents/{doc_id}{path}").status_code == 404, path
    # The other patient cannot upload for someone else's insured person either.
    r = upload(docs["oc"], jpeg_bytes(), insured_id=docs["insured"].id)
    assert r.status_code == 422 and "insured_id" in r.json["errors"]
    r = upload(docs["oc"], jpeg_bytes(), consultation_id=docs["consultation"].id)
    assert r.status_code == 404
    assert _audit("document.viewed", doc_id) == []
    assert _audit("document.downloaded", doc_id) == []


def test_a_doctor_sees_documents_only_while_holding_the_consultation(app, docs):
    doc_id = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id).json["id"]
    other_doc = upload(docs["oc"], jpeg_bytes(), insured_id=docs["other_insured"].id).json["id"]
    dc = docs["dc"]
    assert dc.get(f"/documents/{doc_id}").status_code == 200
    assert dc.get(f"/documents/{doc_id}/image").status_code == 200
    assert dc.get(f"/documents/{other_doc}").status_code == 404
    panel = dc.get(f"/documents/consultation/{docs['consultation'].id}").get_data(as_text=True)
    assert f'data-document="{doc_id}"' in panel and "unreviewed" in panel
    close(docs["doctor"], docs["consultation"].id, Conclusion(
        "Cough", "Healthy", "Rest", ""))
    db.session.commit()
    assert dc.get(f"/documents/{doc_id}").status_code == 404
    assert dc.get(f"/documents/{doc_id}/file").status_code == 404


def test_every_view_and_download_is_audited(app, docs):
    doc_id = upload(docs["pc"], pdf_bytes(), "a.pdf", insured_id=docs["insured"].id).json["id"]
    assert len(_audit("document.uploaded", doc_id)) == 1
    dc = docs["dc"]
    for path in ("", "/thumbnail", "/pages/1", "/pages/2"):
        assert dc.get(f"/documents/{doc_id}{path}").status_code == 200
    assert dc.get(f"/documents/{doc_id}/file").status_code == 200
    viewed = _audit("document.viewed", doc_id)
    assert sorted((e.details["part"], e.details.get("page")) for e in viewed) == [
        ("page", 1), ("page", 2), ("thumbnail", None), ("viewer", None)]
    assert {e.actor_id for e in viewed} == {docs["doctor"].id}
    assert len(_audit("document.downloaded", doc_id)) == 1


def test_the_doctor_reviews_and_the_patient_sees_who_when_and_the_comment(app, docs):
    doc_id = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id,
                    consultation_id=docs["consultation"].id).json["id"]
    r = docs["dc"].post(f"/documents/{doc_id}/review",
                        data={"comment": "Haemoglobin is normal; repeat in a year."})
    assert r.status_code == 302
    page = docs["pc"].get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Reviewed by Dr Aigerim Sadykova, on-duty doctor on" in page
    assert "Haemoglobin is normal; repeat in a year." in page
    listing = docs["pc"].get("/documents/").get_data(as_text=True)
    assert "Reviewed by Dr Aigerim Sadykova" in listing
    assert len(_audit("document.reviewed", doc_id)) == 1
    stored = db.session.get(Document, doc_id)
    assert "Haemoglobin" not in stored.review_comment_encrypted
    # Patients and other doctors cannot review.
    assert docs["pc"].post(f"/documents/{doc_id}/review").status_code == 403
    r = docs["dc"].post(f"/documents/{doc_id}/review", data={"comment": "x" * 2001})
    assert r.status_code == 302
    db.session.commit()
    assert db.session.get(Document, doc_id).review_comment.startswith("Haemoglobin")


def test_a_plain_form_upload_redirects_to_the_viewer(app, docs):
    r = upload(docs["pc"], jpeg_bytes(), json=False, insured_id=docs["insured"].id)
    assert r.status_code == 302 and "/documents/" in r.headers["Location"]
    r = upload(docs["pc"], b"<svg/>", "x.svg", json=False, insured_id=docs["insured"].id)
    assert r.status_code == 302
    page = docs["pc"].get("/documents/").get_data(as_text=True)
    assert "This type of file is not accepted" in page
    assert db.session.scalar(select(func.count()).select_from(Document)) == 1


def test_a_tampered_file_is_refused_with_an_error(app, docs):
    doc_id = upload(docs["pc"], pdf_bytes(), "a.pdf", insured_id=docs["insured"].id).json["id"]
    document = db.session.get(Document, doc_id)
    path = Path(app.config["DOCUMENTS_DIR"]) / document.blob_key[:2] / document.blob_key
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    r = docs["pc"].get(f"/documents/{doc_id}/file")
    assert r.status_code == 500 and b"%PDF" not in r.get_data()
    assert "failed the integrity check" in r.get_data(as_text=True)
    assert docs["pc"].get(f"/documents/{doc_id}/pages/1").status_code == 500
    assert _audit("document.downloaded", doc_id) == []


def test_keys_rotate_and_rekey_moves_every_file_to_the_new_key(app, docs):
    from core.sealed import new_key

    doc_id = upload(docs["pc"], pdf_bytes(), "a.pdf", insured_id=docs["insured"].id).json["id"]
    before = docs["pc"].get(f"/documents/{doc_id}/file").get_data()
    old = db.session.get(Document, doc_id)
    old_blobs = {old.blob_key, old.thumb_key}
    app.config["DOCUMENT_KEYS"] = f"{new_key('k2')},{app.config['DOCUMENT_KEYS']}"
    assert docs["pc"].get(f"/documents/{doc_id}/file").get_data() == before  # old key opens
    result = app.test_cli_runner().invoke(args=["documents", "rekey"])
    assert "1 documents sealed again" in result.output, result.output
    db.session.commit()
    moved = db.session.get(Document, doc_id)
    db.session.refresh(moved)
    assert moved.key_id == "k2" and not old_blobs & {moved.blob_key, moved.thumb_key}
    assert {p.name for p in _blobs(app)} == {moved.blob_key, moved.thumb_key}
    app.config["DOCUMENT_KEYS"] = app.config["DOCUMENT_KEYS"].split(",")[0]  # old key gone
    assert docs["pc"].get(f"/documents/{doc_id}/file").get_data() == before


def test_both_pages_of_the_room_hear_of_an_upload_and_a_review(room):
    import requests

    base = room["server"].url
    doctor, patient = room["connect"](room["doctor"]), room["connect"](room["patient"])
    for peer in (doctor, patient):
        assert peer.call("join", {"consultation": room["id"], "after": 0})["ok"]
    cookie = room["cookie"](room["patient"])
    r = requests.post(f"{base}/documents/", headers={"Cookie": cookie,
                                                      "Accept": "application/json"},
                      data={"title": "ECG", "document_date": "2026-03-01", "kind": "other",
                            "consultation_id": room["id"]},
                      files={"file": ("ecg.pdf", pdf_bytes(), "application/pdf")}, timeout=30)
    assert r.status_code == 201, r.text
    assert doctor.expect("documents") == {"consultation": room["id"]}
    patient.expect("documents")
    doctor_cookie = room["cookie"](room["doctor"])
    panel = requests.get(f"{base}/documents/consultation/{room['id']}",
                         headers={"Cookie": doctor_cookie}, timeout=10).text
    assert f'data-document="{r.json()["id"]}"' in panel and "unreviewed" in panel
    review = requests.post(f"{base}/documents/{r.json()['id']}/review",
                           headers={"Cookie": doctor_cookie}, data={"comment": "Normal"},
                           allow_redirects=False, timeout=10)
    assert review.status_code == 302
    assert patient.expect("documents") == {"consultation": room["id"]}


def test_the_api_lists_uploads_shows_and_reviews_documents(app, docs):
    r = docs["pc"].post("/api/v1/documents", data={
        "title": "MRI report", "document_date": "2026-03-01", "kind": "imaging_report",
        "insured_id": docs["insured"].id, "file": (io.BytesIO(pdf_bytes()), "mri.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    doc_id = r.json["id"]
    assert r.json["links"]["page"] == f"/documents/{doc_id}/pages/{{n}}"
    listed = docs["pc"].get("/api/v1/documents").json["items"]
    assert [d["id"] for d in listed] == [doc_id] and listed[0]["review"] is None
    assert docs["oc"].get(f"/api/v1/documents/{doc_id}").status_code == 404
    r = docs["dc"].post(f"/api/v1/documents/{doc_id}/review", json={"comment": "Fine"})
    assert r.status_code == 200, r.json
    got = docs["pc"].get(f"/api/v1/documents/{doc_id}").json
    assert got["review"]["by"] == "Dr Aigerim Sadykova, on-duty doctor"
    assert got["review"]["comment"] == "Fine"
    r = docs["pc"].post("/api/v1/documents", data={
        "title": "x", "document_date": "2026-03-01", "kind": "other",
        "insured_id": docs["insured"].id, "file": (io.BytesIO(b"<svg/>"), "x.svg")},
        content_type="multipart/form-data")
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert "not accepted" in r.json["errors"]["file"][0]


def test_a_patient_deletes_a_mistaken_upload_but_not_a_reviewed_one(app, docs):
    first = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id).json["id"]
    second = upload(docs["pc"], pdf_bytes(), "b.pdf", insured_id=docs["insured"].id).json["id"]
    assert docs["oc"].post(f"/documents/{first}/delete").status_code == 404
    assert docs["dc"].post(f"/documents/{first}/delete").status_code == 403
    assert docs["pc"].post(f"/documents/{first}/delete").status_code == 302
    db.session.commit()
    assert db.session.get(Document, first) is None
    assert len(_blobs(app)) == 2  # only the second document's file and thumbnail
    assert len(_audit("document.deleted", first)) == 1
    docs["dc"].post(f"/documents/{second}/review", data={"comment": ""})
    r = docs["pc"].post(f"/documents/{second}/delete", follow_redirects=True)
    assert "stays in your medical record" in r.get_data(as_text=True)
    assert db.session.get(Document, second) is not None and len(_blobs(app)) == 2


def test_the_desk_shows_how_many_documents_wait_for_review(app, docs):
    upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id)
    upload(docs["pc"], pdf_bytes(), "b.pdf", insured_id=docs["insured"].id)
    upload(docs["oc"], jpeg_bytes(), insured_id=docs["other_insured"].id)
    desk = docs["dc"].get("/consult/desk").get_data(as_text=True)
    assert "2 documents not reviewed" in desk


def test_the_api_refuses_what_another_sites_page_sends(app, docs):
    doc_id = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id).json["id"]
    r = docs["dc"].post(f"/api/v1/documents/{doc_id}/review", data={"comment": "x"})
    assert r.status_code == 415
    r = docs["dc"].post(f"/api/v1/documents/{doc_id}/review", json={},
                        headers={"Origin": "https://evil.example"})
    assert r.status_code == 415
    r = docs["pc"].post("/api/v1/documents", headers={"Origin": "https://evil.example"},
                        data={"title": "x", "document_date": "2026-03-01", "kind": "other",
                              "insured_id": docs["insured"].id,
                              "file": (io.BytesIO(jpeg_bytes()), "a.jpg")},
                        content_type="multipart/form-data")
    assert r.status_code == 403
    db.session.commit()
    assert db.session.get(Document, doc_id).reviewed_at is None
    assert db.session.scalar(select(func.count()).select_from(Document)) == 1


def test_a_review_committed_while_a_delete_reads_wins(app, docs):
    from sqlalchemy.orm.attributes import set_committed_value

    from consult.documents import services
    from consult.errors import ConsultRefused

    doc_id = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id).json["id"]
    docs["dc"].post(f"/documents/{doc_id}/review", data={"comment": "Seen"})
    db.session.commit()
    stale = db.session.get(Document, doc_id)
    set_committed_value(stale, "reviewed_at", None)  # as the delete read it, a moment ago
    patient = db.session.get(type(docs["patient"]), docs["patient"].id)
    with pytest.raises(ConsultRefused) as refused:
        services.remove(patient, doc_id)
    assert refused.value.status == 409
    db.session.rollback()
    assert db.session.get(Document, doc_id) is not None
