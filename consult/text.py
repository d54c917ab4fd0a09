"""Free text as people type it (complaints, messages, conclusions, document titles), and
ids and paging cursors as clients send them (bounded to their columns)."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import gettext as _

from consult.errors import ConsultRefused
from core.routing import ID_MAX

MESSAGE_ID_MAX = 2**63 - 1
"""The largest chat message id (a ``BigInteger`` column on PostgreSQL); other ids are
``Integer`` columns (:data:`core.routing.ID_MAX`)."""


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


def whole_number(value: Any, maximum: int = ID_MAX) -> int | None:
    """A client's value as a whole number from 0 to ``maximum``: an int (not a bool)
    or a string of ASCII digits; None for anything else (negative, too large, a float,
    ``"1e3"``, ``" 7"``, ``"null"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if not isinstance(value, int):
        return None
    return value if 0 <= value <= maximum else None


def as_id(value: Any, maximum: int = ID_MAX) -> int:
    """A row id from a client's value (a path, a form, JSON, a socket event), within
    its column (1 to ``maximum``); 0 when it is not one, so the lookup finds nothing
    and the caller says "not found" (404) or names the field (422)."""
    return whole_number(value, maximum) or 0


def as_cursor(value: Any, field: str, *, minimum: int = 0, maximum: int = ID_MAX
              ) -> int | None:
    """A paging cursor (``before``, ``after``) from a query parameter or an event:
    None when absent; else a whole number from ``minimum`` to ``maximum``, or
    ConsultRefused 422 naming ``field``."""
    if value is None:
        return None
    number = whole_number(value, maximum)
    if number is None or number < minimum:
        msg = _("Expected a whole number from %(min)s to %(max)s.", min=minimum, max=maximum)
        raise ConsultRefused(msg, errors={field: [msg]})
    return number
