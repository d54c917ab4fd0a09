"""Helpers for document tests: sample files made on the spot, and a consultation with
a signed-in patient and doctor."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest

from consult import services
from core import clock
from core.extensions import db
from tests.accounts_helpers import sign_in
from tests.consult_helpers import activated_patient, on_shift_doctor

SECRET_TEXT = "Haemoglobin 131 g/L PATIENT-SECRET-42"


def jpeg_bytes(width: int = 64, height: int = 48, *, orientation: int | None = None,
               comment: bytes | None = None, colour: str = "red") -> bytes:
    """A JPEG; with EXIF (an orientation and a GPS-looking maker note) when asked."""
    from PIL import Image

    image = Image.new("RGB", (width, height), colour)
    image.paste((0, 0, 255), (0, 0, width // 2, height // 4))
    out = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation  # Orientation
        exif[0x010F] = "SECRET-CAMERA-MAKER"  # Make
        kwargs["exif"] = exif.tobytes()
    if comment is not None:
        kwargs["comment"] = comment
    image.save(out, "JPEG", quality=90, **kwargs)
    return out.getvalue()


def png_bytes(width: int = 40, height: int = 30, text: bytes | None = None) -> bytes:
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Comment", text.decode())
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 128, 0, 200)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def heic_bytes() -> bytes:
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (64, 32), "yellow").save(out, "HEIF")
    return out.getvalue()


def pdf_bytes(text: str = SECRET_TEXT, pages: int = 2) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=14)
    for n in range(pages):
        pdf.add_page()
        pdf.cell(text=f"{text} page {n + 1}")
    return bytes(pdf.output())


def upload(client: Any, content: bytes, name: str = "scan.jpg", *, json: bool = True,
           **fields: Any) -> Any:
    """POST one file to /documents/ as the page's script does (CSRF off in these tests)."""
    data = {"title": "Blood test", "document_date": clock.today().isoformat(),
            "kind": "lab_result", **fields, "file": (io.BytesIO(content), name)}
    headers = {"Accept": "application/json"} if json else {}
    return client.post("/documents/", data=data, headers=headers,
                       content_type="multipart/form-data")


@pytest.fixture
def docs(app: Any, no_csrf: Any) -> dict[str, Any]:
    """A patient with an insured person, an on-duty doctor holding a consultation with
    them, a client signed in for each, and a second patient with their own client."""
    from tests.conftest import ADULT_IIN_2
    from tests.socket_helpers import COVERED

    app.config.update(RATELIMIT_LOGIN_ACCOUNT_IP="1000 per minute",
                      RATELIMIT_SECOND_FACTOR="1000 per minute")
    patient_client, doctor_client, other_client = (app.test_client() for _ in range(3))
    for c in (patient_client, doctor_client, other_client):
        c.set_cookie("lang", "en")
    clock.freeze(COVERED - timedelta(days=20))
    patient, insured = activated_patient(patient_client)
    other, other_insured = activated_patient(other_client, iin=ADULT_IIN_2, name="Other One")
    clock.freeze(COVERED)
    doctor = on_shift_doctor(full_name="Aigerim Sadykova")
    consultation = services.request_consultation(
        patient, services.ConsultationRequest(insured.id, "Cough", "chat"), "en")
    services.take(doctor, consultation.id)
    db.session.commit()
    for c, user in ((patient_client, patient), (doctor_client, doctor), (other_client, other)):
        assert sign_in(c, user).status_code == 302
    return {"patient": patient, "insured": insured, "doctor": doctor,
            "consultation": consultation, "other": other, "other_insured": other_insured,
            "pc": patient_client, "dc": doctor_client, "oc": other_client}
