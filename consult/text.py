"""Free text as people type it (complaints, messages, conclusions, document titles)."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import gettext as _

from consult.errors import ConsultRefused


def clean_text(value: Any, field: str, limit: int, *, required: bool = True) -> str:
    """Free text as people type it: trimmed, line breaks kept, control and formatting
    characters (NUL, bidi overrides, zero-width) refused. Raises ConsultRefused."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            msg = _("Please fill this in.")
            raise ConsultRefused(msg, errors={field: [msg]})
        return ""
    if len(text) > limit:
        msg = _("At most %(num)s characters.", num=limit)
        raise ConsultRefused(msg, errors={field: [msg]})
    for ch in text:
        if ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co"):
            msg = _("The text contains characters that cannot be shown.")
            raise ConsultRefused(msg, errors={field: [msg]})
    return text.replace("\r\n", "\n")


def clean_fields(values: dict[str, Any], limit: int, optional: tuple[str, ...] = ()
                 ) -> dict[str, str]:
    """Several fields cleaned at once (:func:`clean_text`); every field's error is
    collected into one refusal, "Some fields need correcting."."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for name, value in values.items():
        try:
            cleaned[name] = clean_text(value, name, limit, required=name not in optional)
        except ConsultRefused as exc:
            errors.update(exc.errors)
    if errors:
        raise ConsultRefused(_("Some fields need correcting."), errors=errors)
    return cleaned


def as_id(value: Any) -> int:
    """A positive row id from a client's value; 0 when it is not one."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0
