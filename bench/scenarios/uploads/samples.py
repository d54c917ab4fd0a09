"""The files uploaded and thumbnailed: a ~20 MB PDF that does not compress, a 12 MP
photo (JPEG and HEIC), a 3 MP greyscale PNG scan and a 10-page PDF report."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont

BIG = 20_000_000  # bytes in "a 20 MB upload"
MB = 1_000_000


def _noise(size: tuple[int, int], seed: int) -> Any:
    """An RGB image of uniform random pixels (incompressible)."""
    w, h = size
    return Image.frombytes("RGB", size, hashlib.shake_256(seed.to_bytes(8, "big"))
                           .digest(w * h * 3))


def jpeg(image: Any, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def big_pdf(target: int = BIG) -> bytes:
    """A valid PDF of about ``target`` bytes: a text first page, then pages each with
    a distinct random-noise JPEG (fpdf2 keeps JPEGs as they are, so nothing shrinks)."""
    per_image = len(jpeg(_noise((700, 700), 0)))
    pages = max(1, round((target - 20_000) / per_image))
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    for line in range(30):
        pdf.cell(text=f"Scanned discharge summary, line {line + 1}: haemoglobin 131 g/L",
                 new_x="LMARGIN", new_y="NEXT")
    for n in range(pages):
        pdf.add_page()
        pdf.image(io.BytesIO(jpeg(_noise((700, 700), n + 1))), x=10, y=10, w=190)
    return bytes(pdf.output())


def random_bytes(size: int = BIG) -> bytes:
    return hashlib.shake_256(b"raw").digest(size)


def photo_image() -> Any:
    """A 4000x3000 'photo': smooth colour gradients and shapes under sensor-like noise,
    so it compresses like a real photo (a few MB as JPEG), not like a flat picture."""
    size = (4000, 3000)
    red = Image.linear_gradient("L").resize(size)
    green = Image.radial_gradient("L").resize(size)
    blue = Image.linear_gradient("L").rotate(90).resize(size)
    base = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(base)
    for i in range(40):
        x, y = (i * 997) % 3800, (i * 613) % 2800
        draw.ellipse((x, y, x + 200 + i * 7, y + 150 + i * 5),
                     fill=((i * 37) % 256, (i * 91) % 256, (i * 53) % 256))
    base = base.filter(ImageFilter.GaussianBlur(3))
    noise = Image.merge("RGB", [Image.effect_noise(size, 28) for _ in range(3)])
    return Image.blend(base, noise, 0.18)


def scan_png() -> bytes:
    """A 3 MP (1500x2000) greyscale PNG of a typed page, with a little scanner noise."""
    size = (1500, 2000)
    page = Image.new("L", size, 250)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=26)
    for line in range(60):
        draw.text((90, 80 + line * 30),
                  f"{line + 1:02d}  Haemoglobin 131 g/L   Leukocytes 6.2 x10^9/L   ESR 8 mm/h",
                  fill=20, font=font)
    page = Image.blend(page, Image.effect_noise(size, 30), 0.06)
    out = io.BytesIO()
    page.save(out, "PNG")
    return out.getvalue()


def heic_bytes(image: Any) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    # x265's fastest preset: the default takes tens of seconds on 12 MP of noise, and
    # quality 60 gives the size of a phone's HEIC (2-3 MB).
    image.save(out, "HEIF", quality=60, enc_params={"preset": "ultrafast"})
    return out.getvalue()


def report_pdf(photo: Any, pages: int = 10) -> bytes:
    """A 10-page lab report: text on every page, a small logo on the first."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for n in range(pages):
        pdf.add_page()
        if n == 0:
            logo = photo.resize((400, 300))
            pdf.image(io.BytesIO(jpeg(logo)), x=150, y=10, w=40)
        for line in range(45):
            pdf.cell(text=f"Page {n + 1} line {line + 1}: glucose 5.1 mmol/L, creatinine "
                          f"78 umol/L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def image_samples(pdf: bytes) -> list[tuple[str, str, bytes]]:
    """(label, kind, bytes) of the files whose thumbnails are timed, ``pdf`` last."""
    photo = photo_image()
    return [("12 MP JPEG photo (4000×3000)", "jpeg", jpeg(photo, 92)),
            ("3 MP PNG scan, greyscale text (1500×2000)", "png", scan_png()),
            ("12 MP HEIC photo (4000×3000)", "heif", heic_bytes(photo)),
            ("10-page PDF report", "pdf", report_pdf(photo)),
            (f"{len(pdf) / MB:.1f} MB PDF (text first page, noise images after)", "pdf", pdf)]
