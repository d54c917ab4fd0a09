"""Uploaded files stream to disk, never into memory.

Werkzeug keeps an upload of up to 500 KB in memory and spools larger ones; this request
class writes every file part straight into an unnamed temporary file (``O_TMPFILE``
where the OS has it: no name on disk, gone when closed or when the process dies) in
``UPLOAD_TMP_DIR``, so a 20 MB upload costs the server its read buffers, not 20 MB.
"""

from __future__ import annotations

import tempfile
from typing import IO

from flask import Request, current_app


def temporary_file(spool: int = 0) -> IO[bytes]:
    """An unnamed temporary file in UPLOAD_TMP_DIR for plaintext health data (an upload,
    a re-encoded image, a document read back); held in memory up to ``spool`` bytes."""
    directory = current_app.config.get("UPLOAD_TMP_DIR") or None
    if spool:
        return tempfile.SpooledTemporaryFile(max_size=spool, dir=directory)
    return tempfile.TemporaryFile("w+b", dir=directory)


class StreamingRequest(Request):
    """The app's request class (see :func:`core.app.make_app`)."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None
                         ) -> IO[bytes]:
        return temporary_file()
