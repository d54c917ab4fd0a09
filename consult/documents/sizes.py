"""File sizes in words, as people read them, in the page's language."""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _

KB = 1024
MB = 1024 * 1024


def file_size(size_bytes: int) -> str:
    """``46 KB`` under a megabyte (at least 1 KB, so a small file never reads 0),
    ``1.5 MB`` from a megabyte on (one decimal, the locale's separator)."""
    if size_bytes < MB:
        return _("%(num)s KB", num=max(1, round(size_bytes / KB)))
    return _("%(num)s MB", num=format_decimal(round(size_bytes / MB, 1), "#,##0.0"))
