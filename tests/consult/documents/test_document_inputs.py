"""Bad uploads are refused with a clear message and leave no row and no file behind."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from consult.documents.models import Document
from core.extensions import db
from tests.fixtures.documents import jpeg_bytes, pdf_bytes, png_bytes, upload


def _nothing_stored(app) -> None:
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    root = Path(app.config["DOCUMENTS_DIR"])
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]


def _refused(r, status: int, text: str, field: str = "file") -> None:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.mimetype == "application/problem+json"
    assert text in " ".join(r.json["errors"][field]), r.json


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height`` pixels (a pixel flood)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


def test_an_oversized_file_is_refused(app, docs):
    app.config["DOCUMENT_MAX_BYTES"] = 100_000
    big = pdf_bytes() + b"%" + b"x" * 120_000 + b"\n%%EOF\n"
    _refused(upload(docs["pc"], big, "big.pdf", insured_id=docs["insured"].id), 422,
             "larger than")
    # Far past the limit, the body is not even read: 413 with the same message.
    huge = b"%PDF-1.4\n" + b"x" * 400_000
    _refused(upload(docs["pc"], huge, "huge.pdf", insured_id=docs["insured"].id), 413,
             "larger than")
    _nothing_stored(app)


@pytest.mark.parametrize(("content", "name"), [
    (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "photo.jpg"),
    (b"MZ\x90\x00" + b"\0" * 200, "report.pdf"),
    (b"PK\x03\x04" + b"\0" * 200, "scan.png"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
     "scan.svg"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.jpg"),
    (b"<html><body>%PDF-1.4 hello</body></html>", "html-then-pdf.pdf"),
    (b"GIF89a" + b"\0" * 100, "anim.gif"),
])
def test_a_file_that_is_not_an_accepted_type_is_refused_whatever_its_name(app, docs, content,
                                                                         name):
    r = upload(docs["pc"], content, name, insured_id=docs["insured"].id)
    _refused(r, 422, "This type of file is not accepted")
    _nothing_stored(app)


def test_a_jpeg_with_html_appended_is_stored_as_pixels_only(app, docs):
    polyglot = jpeg_bytes() + b"<html><script>alert(document.cookie)</script></html>"
    r = upload(docs["pc"], polyglot, "poly.jpg", insured_id=docs["insured"].id)
    assert r.status_code == 201
    served = docs["pc"].get(f"/documents/{r.json['id']}/image")
    assert b"<script" not in served.get_data() and b"<html" not in served.get_data()
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_a_pdf_header_on_something_else_is_refused(app, docs):
    fake = b"%PDF-1.7\n<html><script>alert(1)</script></html>\n%%EOF\n"
    _refused(upload(docs["pc"], fake, "fake.pdf", insured_id=docs["insured"].id), 422,
             "could not be read")
    _nothing_stored(app)


def test_a_pdf_polyglot_is_only_ever_served_as_an_attachment(app, docs):
    pdf = pdf_bytes()
    polyglot = pdf[:-6] + b"\n% <html><script>alert(1)</script></html>\n%%EOF\n"
    r = upload(docs["pc"], polyglot, "poly.pdf", insured_id=docs["insured"].id)
    assert r.status_code == 201, r.json
    download = docs["pc"].get(f"/documents/{r.json['id']}/file")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.mimetype == "application/pdf"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert docs["pc"].get(f"/documents/{r.json['id']}/image").status_code == 404


@pytest.mark.parametrize("content", [
    _png_claiming(100_000, 100_000),
    _png_claiming(10_000, 6_000),  # 60 MP: over DOCUMENT_MAX_PIXELS, under Pillow's limit
])
def test_a_pixel_flood_is_refused_before_it_is_decoded(app, docs, content):
    r = upload(docs["pc"], content, "flood.png", insured_id=docs["insured"].id)
    _refused(r, 422, "too many pixels")
    _nothing_stored(app)


def test_a_path_in_the_file_name_is_dropped(app, docs, tmp_path):
    for name in ("../../../../etc/cron.d/evil.jpg", "..\\..\\windows\\evil.jpg",
                 "/etc/passwd.jpg", "evil\x00.jpg"):
        r = upload(docs["pc"], jpeg_bytes(), name, insured_id=docs["insured"].id)
        assert r.status_code == 201, (name, r.json)
        document = db.session.get(Document, r.json["id"])
        assert "/" not in document.file_name and "\\" not in document.file_name
        assert "\x00" not in document.file_name
        download = docs["pc"].get(f"/documents/{document.id}/file")
        disposition = download.headers["Content-Disposition"]
        assert ".." not in disposition and "/" not in disposition.split("filename*")[0]
    root = Path(app.config["DOCUMENTS_DIR"]).resolve()
    for path in root.rglob("*"):
        assert path.resolve().is_relative_to(root)
        assert "evil" not in path.name and "passwd" not in path.name


def test_a_truncated_image_or_pdf_is_refused(app, docs):
    photo = jpeg_bytes(400, 300)
    _refused(upload(docs["pc"], photo[: len(photo) // 2], "cut.jpg",
                    insured_id=docs["insured"].id), 422, "damaged or incomplete")
    pdf = pdf_bytes()
    _refused(upload(docs["pc"], pdf[: len(pdf) // 2], "cut.pdf", insured_id=docs["insured"].id),
             422, "incomplete")
    png = png_bytes(200, 200)
    _refused(upload(docs["pc"], png[:-40], "cut.png", insured_id=docs["insured"].id), 422,
             "could not be read")
    _nothing_stored(app)


def test_an_upload_cut_off_in_transfer_stores_nothing(app, docs):
    boundary = "----pd-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nX\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + jpeg_bytes()
    r = docs["pc"].post("/documents/", input_stream=io.BytesIO(body), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(body) + 50_000), "Accept": "application/json"})
    assert r.status_code == 400
    assert "interrupted" in r.json["detail"]
    _nothing_stored(app)


def test_a_body_of_a_thousand_parts_is_refused(app, docs):
    data = {f"field{n}": "x" for n in range(1000)}
    data.update(title="x", document_date="2026-01-01", kind="other",
                insured_id=str(docs["insured"].id), file=(io.BytesIO(jpeg_bytes()), "a.jpg"))
    r = docs["pc"].post("/documents/", data=data, content_type="multipart/form-data",
                        headers={"Accept": "application/json"})
    _refused(r, 413, "Too many files or fields")
    _nothing_stored(app)


def test_missing_or_wrong_fields_are_each_named(app, docs):
    r = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id, title="  ",
               kind="x-ray", document_date="2999-01-01")
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"title", "kind", "document_date"}
    assert "future" in r.json["errors"]["document_date"][0]
    r = upload(docs["pc"], b"", "empty.pdf", insured_id=docs["insured"].id)
    _refused(r, 422, "empty")
    r = docs["pc"].post("/documents/", data={"title": "x", "kind": "other",
                                             "document_date": "2026-01-01",
                                             "insured_id": docs["insured"].id},
                        headers={"Accept": "application/json"})
    _refused(r, 422, "Choose a file")
    _nothing_stored(app)


def test_a_password_protected_pdf_is_refused(app, docs):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    writer.encrypt("secret-password")
    out = io.BytesIO()
    writer.write(out)
    _refused(upload(docs["pc"], out.getvalue(), "locked.pdf", insured_id=docs["insured"].id),
             422, "password")
    _nothing_stored(app)


def test_refusals_are_in_the_patients_language(app, docs):
    docs["pc"].set_cookie("lang", "ru")
    r = upload(docs["pc"], b"<html></html>", "x.jpg", insured_id=docs["insured"].id)
    assert r.status_code == 422
    assert "не принимается" in r.json["errors"]["file"][0]


def test_random_bytes_behind_an_accepted_signature_are_refused_never_crash(app):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from consult.documents import intake

    heads = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"\0\0\0\x18ftypheic", b"%PDF-1.4\n"]

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(head=st.sampled_from(heads), body=st.binary(max_size=3000),
           tail=st.sampled_from([b"", b"\n%%EOF\n"]))
    def check(head, body, tail):
        with app.test_request_context():
            try:
                prepared = intake.prepare(io.BytesIO(head + body + tail), 10**6, 10**6, 10)
            except intake.Refused:
                return
            prepared.body.close()  # a valid file by chance is fine too

    check()


def test_a_palette_png_keeps_its_transparency(app, docs):
    from PIL import Image

    image = Image.new("P", (20, 10), 0)
    image.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    image.paste(1, (0, 0, 10, 10))
    out = io.BytesIO()
    image.save(out, "PNG", transparency=0)
    r = upload(docs["pc"], out.getvalue(), "p.png", insured_id=docs["insured"].id)
    assert r.status_code == 201, r.json
    served = Image.open(io.BytesIO(docs["pc"].get(f"/documents/{r.json['id']}/image").data))
    assert served.mode == "RGBA"
    assert served.getpixel((15, 5))[3] == 0 and served.getpixel((5, 5)) == (0, 0, 255, 255)


def _pdf_with_pages(width: float, height: float, pages: int = 2) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format=(min(width, 14_400), min(height, 14_400)))
    pdf.set_font("helvetica", size=12)
    for _ in range(pages):
        pdf.add_page()
        pdf.cell(text="tall page")
    data = bytes(pdf.output())
    # fpdf2 keeps to PDF's limits; write the MediaBox a crafted file would carry.
    return data.replace(f"/MediaBox [0 0 {min(width, 14_400):.2f} {min(height, 14_400):.2f}]"
                        .encode(), f"/MediaBox [0 0 {width:.2f} {height:.2f}]".encode())


def test_a_pdf_page_flood_is_refused_and_tall_pages_render_within_bounds(app, docs):
    huge = _pdf_with_pages(300, 150_000)
    assert b"150000.00" in huge
    r = upload(docs["pc"], huge, "tall.pdf", insured_id=docs["insured"].id)
    _refused(r, 422, "impossible size")
    _nothing_stored(app)
    # The tallest page allowed is drawn within MAX_RENDER_PIXELS, thumbnail in its box.
    from consult.documents import intake

    tall = _pdf_with_pages(300, 14_400)
    r = upload(docs["pc"], tall, "tall.pdf", insured_id=docs["insured"].id)
    assert r.status_code == 201, r.json
    page = Image.open(io.BytesIO(docs["pc"].get(f"/documents/{r.json['id']}/pages/1").data))
    assert page.width * page.height <= intake.MAX_RENDER_PIXELS
    thumb = Image.open(io.BytesIO(docs["pc"].get(f"/documents/{r.json['id']}/thumbnail").data))
    assert max(thumb.size) <= intake.THUMB_SIZE
