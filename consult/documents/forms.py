"""Labels of the document types, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "lab_result": _l("Lab result"),
    "discharge_summary": _l("Discharge summary"),
    "prescription": _l("Prescription"),
    "imaging_report": _l("Imaging report"),
    "other": _l("Other"),
}
