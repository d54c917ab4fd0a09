"""Appendix 1 to the policy, "Information provided at activation", as a PDF.

Rendered outside the request (by the outbox sender, or on download) in the
recipient's language, with an embedded font that covers Kazakh letters.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from fpdf import FPDF, FontFace

from activation.models import Activation
from core.extensions import db
from core.outbox import RenderedAttachment

FONTS = Path(__file__).parent / "fonts"


def product_name(product: str) -> str:
    """The product's name in the current language."""
    return {"personal_doctor": _("Personal Doctor"), "child_doctor": _("Child Doctor")}.get(
        product, product)


def sex_name(sex: str) -> str:
    return {"male": _("male"), "female": _("female")}.get(sex, sex)


def filename(activation: Activation) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in activation.policy.number)
    return f"appendix-1-{safe}.pdf"


def render(activation: Activation, locale: str) -> bytes:
    """The PDF bytes of Appendix 1 for ``activation`` in ``locale``."""
    cfg = current_app.config
    with force_locale(locale):
        pdf = FPDF(format="A4")
        pdf.set_title(_("Appendix 1 to policy %(number)s", number=activation.policy.number))
        pdf.set_author(cfg["INSURER_NAME"])
        pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        pdf.set_margins(18, 18, 18)
        pdf.add_page()
        pdf.set_font("DejaVu", "B", 15)
        pdf.multi_cell(0, 8, _("Appendix 1 to policy %(number)s",
                               number=activation.policy.number),
                       new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 12)
        pdf.multi_cell(0, 7, _("Information provided at activation"),
                       new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        rows = [
            (_("Insurer"), cfg["INSURER_NAME"]),
            (_("Product"), product_name(activation.product)),
            (_("Policy number"), activation.policy.number),
            (_("Insured person"), activation.insured.full_name),
            (_("Date of birth"), format_date(activation.insured.birth_date, "long")),
            (_("Sex"), sex_name(activation.insured.sex)),
            (_("Activation date"), format_date(activation.activated_on, "long")),
            (_("Waiting period ends"), _waiting_end(activation)),
            (_("Coverage starts"), format_date(activation.coverage_starts_on, "long")),
            (_("Coverage ends"), format_date(activation.coverage_ends_on, "long")),
        ]
        pdf.set_font("DejaVu", "", 10)
        with pdf.table(col_widths=(42, 58), text_align="LEFT", borders_layout="HORIZONTAL_LINES",
                       first_row_as_headings=False, line_height=6, padding=1.5) as table:
            for label, value in rows:
                row = table.row()
                row.cell(label, style=FontFace(emphasis="BOLD"))
                row.cell(value)
        pdf.ln(4)
        paragraphs = [
            (_("How to consult a doctor"),
             _("Sign in at %(url)s with your email. On-duty doctors answer around the clock "
               "by chat, audio or video; specialists at the time the on-duty doctor assigns. "
               "Please make sure your device has a camera and a microphone.",
               url=cfg["BASE_URL"])),
            (_("During the waiting period"),
             _("Until coverage starts you may already consult doctors, but you pay for those "
               "consultations yourself (%(price)s ₸ each).", price=cfg["SELF_PAY_PRICE_KZT"])),
            (_("Contact centre"), cfg["CONTACT_CENTRE_PHONE"]),
        ]
        for title, text in paragraphs:
            pdf.set_font("DejaVu", "B", 11)
            pdf.multi_cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("DejaVu", "", 10)
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        return bytes(pdf.output())


def _waiting_end(activation: Activation) -> str:
    if activation.continues_coverage:
        return _("none: continues your current coverage")
    return format_date(activation.coverage_starts_on - timedelta(days=1), "long")


def render_attachment(ref: str, locale: str) -> RenderedAttachment:
    """Outbox renderer for kind ``appendix1``: ``ref`` is the activation id."""
    activation = db.session.get(Activation, int(ref))
    if activation is None:
        raise LookupError(f"activation {ref} not found")
    return RenderedAttachment(filename(activation), "application/pdf",
                              render(activation, locale))
