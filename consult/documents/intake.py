"""Turning an uploaded file into something safe to keep and show.

The type is decided by the file's first bytes, never by its name or the browser's
claim. Photos and scans (JPEG, PNG, HEIC) are decoded and written afresh: the stored
file holds pixels and nothing else (no EXIF, GPS or comments, and nothing appended
after the image), turned the way the camera meant. PDFs are kept as they are, after
PDFium opened them; they are never served inline, only rendered to page images here.
Everything else is refused with a message saying what is accepted.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from typing import IO

from flask_babel import gettext as _

from consult.documents.errors import DocumentRefused
from core.uploads import temporary_file

THUMB_SIZE = 320  # the longest side of a thumbnail, in pixels
PAGE_WIDTH = 1240  # a PDF page rendered for the viewer (about 150 dpi for A4)
# PDFium takes page sizes from the file as they are: bound what is accepted and drawn.
MAX_PAGE_POINTS = 14_400  # 200 inches, the largest page PDF viewers support
MAX_RENDER_PIXELS = 12_000_000  # one rendered page
# PDFium is not thread-safe: one document at a time per process (threads or greenlets).
_PDFIUM = threading.Lock()
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
                b"mif1", b"msf1"}


class Refused(DocumentRefused):
    """The file is not accepted; ``str(exc)`` says why, in the person's language (a
    refusal naming the ``file`` field)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors={"file": [detail]})


@dataclass
class Prepared:
    """What is kept: ``body`` (a temporary file, at position 0) and what the viewer
    needs. The caller closes ``body``."""

    content_type: str
    body: IO[bytes]
    size: int
    thumbnail: bytes  # JPEG
    width: int | None = None
    height: int | None = None
    page_count: int | None = None


def sniff(head: bytes) -> str | None:
    """The accepted type of a file from its first bytes: ``jpeg``, ``png``, ``heif``,
    ``pdf``, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "heif"
    if head.startswith(b"%PDF-"):
        return "pdf"
    return None


def prepare(upload: IO[bytes], max_bytes: int, max_pixels: int, max_pages: int) -> Prepared:
    """Check ``upload`` (a seekable file) and make what is kept; raises :class:`Refused`."""
    upload.seek(0, io.SEEK_END)
    size = upload.tell()
    upload.seek(0)
    if size == 0:
        raise Refused(_("The file is empty."))
    if size > max_bytes:
        raise Refused(_("The file is larger than %(num)s MB.", num=max_bytes // (1024 * 1024)))
    kind = sniff(upload.read(32))
    upload.seek(0)
    if kind is None:
        raise Refused(_("This type of file is not accepted. Upload a photo or scan (JPEG, "
                        "PNG, HEIC) or a PDF."))
    if kind == "pdf":
        return _prepare_pdf(upload, size, max_pages)
    return _prepare_image(upload, kind, max_pixels)


# --- images ----------------------------------------------------------------------------

def _open_image(upload: IO[bytes], kind: str, max_pixels: int):
    from PIL import Image

    if kind == "heif":
        import pillow_heif

        pillow_heif.register_heif_opener()
    formats = {"jpeg": ["JPEG"], "png": ["PNG"], "heif": ["HEIF"]}[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(upload, formats=formats)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Refused(_too_many_pixels()) from None
        except Exception:  # noqa: BLE001 - any decoder error means "not a usable image"
            raise Refused(_("The image could not be read: the file is damaged or not "
                            "really an image.")) from None
    width, height = image.size
    if width * height > max_pixels or width <= 0 or height <= 0:
        raise Refused(_too_many_pixels())
    return image


def _too_many_pixels() -> str:
    return _("The image has too many pixels to be a photo or scan. Take a smaller photo "
             "and try again.")


def _prepare_image(upload: IO[bytes], kind: str, max_pixels: int) -> Prepared:
    from PIL import ImageOps

    image = _open_image(upload, kind, max_pixels)
    try:
        image.load()
        image = ImageOps.exif_transpose(image) or image
    except Exception:  # noqa: BLE001 - truncated data, bad chunks, broken EXIF
        raise Refused(_("The image could not be read: the file is damaged or incomplete."
                        )) from None
    # Only the colour profile survives: EXIF (GPS, camera), comments, text chunks and
    # XMP are dropped, whatever Pillow would otherwise carry over when saving.
    if kind == "png":
        image = _png_mode(image)  # before the info goes: it holds the transparency
    icc = _colour_profile(image.info.get("icc_profile"))
    image.info = {"icc_profile": icc} if icc else {}
    body = temporary_file()
    if kind == "png":
        content_type = "image/png"
        image.save(body, "PNG", compress_level=6)
    else:
        if image.mode != "RGB":
            image = _flatten(image)
        content_type = "image/jpeg"
        image.save(body, "JPEG", quality=90, **({"icc_profile": icc} if icc else {}))
    size = body.tell()
    body.seek(0)
    thumb = _thumbnail(image)
    width, height = image.size
    image.close()
    return Prepared(content_type, body, size, thumb, width=width, height=height)


def _colour_profile(icc: bytes | None) -> bytes | None:
    """The embedded ICC profile when it is a real, modest one (it is copied byte for
    byte, so it must not be a place to hide other data); else None."""
    if not icc or len(icc) > 512 * 1024:
        return None
    try:
        from PIL import ImageCms

        ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except Exception:  # noqa: BLE001 - anything unparsable is dropped
        return None
    return icc


def _png_mode(image):
    """PNG keeps grey, colour and transparency; palettes and odd modes become RGB(A)."""
    if image.mode in ("1", "L", "LA", "RGB", "RGBA", "I;16"):
        return image
    has_alpha = image.mode in ("PA", "RGBa", "La") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _flatten(image):
    """RGB on white: JPEG has no transparency, and scans look right on paper white."""
    from PIL import Image

    if image.mode in ("I;16", "I", "F"):
        image = image.convert("L")
    rgba = image.convert("RGBA")
    base = Image.new("RGB", rgba.size, "white")
    base.paste(rgba, mask=rgba.getchannel("A"))
    return base


def _thumbnail(image) -> bytes:
    small = image.copy()
    small.thumbnail((THUMB_SIZE, THUMB_SIZE), reducing_gap=3.0)
    if small.mode != "RGB":
        small = _flatten(small)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


# --- PDFs ------------------------------------------------------------------------------

def _prepare_pdf(upload: IO[bytes], size: int, max_pages: int) -> Prepared:
    import pypdfium2 as pdfium

    upload.seek(max(0, size - 1024))
    if b"%%EOF" not in upload.read():
        raise Refused(_("The PDF is incomplete: its end is missing. Upload it again."))
    upload.seek(0)
    with _PDFIUM:
        return _open_pdf(pdfium, upload, size, max_pages)


def _open_pdf(pdfium, upload: IO[bytes], size: int, max_pages: int) -> Prepared:
    try:
        pdf = pdfium.PdfDocument(upload, autoclose=False)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise Refused(_("The PDF is protected by a password. Save it without the "
                            "password and upload it again.")) from None
        raise Refused(_("The PDF could not be read: the file is damaged or not really a "
                        "PDF.")) from None
    try:
        pages = len(pdf)
        if pages == 0:
            raise Refused(_("The PDF has no pages."))
        if pages > max_pages:
            raise Refused(_("The PDF has more than %(num)s pages.", num=max_pages))
        for index in range(pages):
            width, height = pdf.get_page_size(index)
            if not (0 < width <= MAX_PAGE_POINTS and 0 < height <= MAX_PAGE_POINTS):
                raise Refused(_("The PDF has a page of an impossible size."))
        thumb = _page_image(pdf, 0, THUMB_SIZE, "JPEG", fit=True)
    except Refused:
        raise
    except (pdfium.PdfiumError, OSError, ValueError, MemoryError):
        raise Refused(_("The PDF could not be read: the file is damaged or not really a "
                        "PDF.")) from None
    finally:
        pdf.close()
    upload.seek(0)
    return Prepared("application/pdf", upload, size, thumb, page_count=pages)


def _page_image(pdf, index: int, width: int, fmt: str,
                fit: bool = False) -> bytes:
    """Page ``index`` drawn ``width`` pixels wide (``fit``: within a square of that
    side), never above MAX_RENDER_PIXELS nor 4x the page's own size."""
    page = pdf[index]
    try:
        page_width, page_height = max(page.get_width(), 1.0), max(page.get_height(), 1.0)
        scale = min(width / page_width, 4.0,
                    (MAX_RENDER_PIXELS / (page_width * page_height)) ** 0.5)
        if fit:
            scale = min(scale, width / page_height)
        bitmap = page.render(scale=scale, may_draw_forms=True)
        image = bitmap.to_pil()
        if image.mode != "RGB":
            image = image.convert("RGB")
        out = io.BytesIO()
        if fmt == "JPEG":
            image.save(out, "JPEG", quality=80)
        else:
            image.save(out, "PNG", compress_level=3)
        return out.getvalue()
    finally:
        page.close()


def render_page(pdf_file: IO[bytes], index: int) -> bytes:
    """Page ``index`` (from 0) of a PDF as a PNG for the viewer; IndexError when the PDF
    has no such page."""
    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = pdfium.PdfDocument(pdf_file, autoclose=False)
        try:
            if not 0 <= index < len(pdf):
                raise IndexError(index)
            return _page_image(pdf, index, PAGE_WIDTH, "PNG")
        finally:
            pdf.close()
