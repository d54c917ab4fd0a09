"""Why a document action is refused: a :class:`consult.errors.ConsultRefused` whose
problem document, under ``/api/``, is titled "Document refused"."""

from __future__ import annotations

from flask_babel import gettext as _

from consult.errors import ConsultRefused


class DocumentRefused(ConsultRefused):
    """``status`` (HTTP), ``detail`` (translated) and optional field ``errors``."""

    @property
    def title(self) -> str:
        return _("Document refused")
