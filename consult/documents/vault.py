"""Documents' files in and out of the blob store: sealed on the way in (the current
DOCUMENT_KEYS key), opened and checked against their SHA-256 on every way out."""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Iterator
from typing import IO

from flask import current_app

from core import storage
from core.sealed import Keyring, SealError, seal, unseal
from core.uploads import temporary_file

# A file read back is held in memory up to this size, then in an unnamed temporary file.
SPOOL_BYTES = 1024 * 1024


class Damaged(Exception):
    """A stored file failed its integrity check (altered, cut, or its key is missing)."""


@functools.lru_cache(maxsize=8)
def _keyring_for(spec: str) -> Keyring:
    return Keyring.parse(spec)


def keyring() -> Keyring:
    return _keyring_for(current_app.config["DOCUMENT_KEYS"])


def store() -> storage.BlobStore:
    """The app's blob store, built once per app."""
    ext = current_app.extensions
    if "document_store" not in ext:
        ext["document_store"] = storage.from_config(current_app.config)
    return ext["document_store"]


def put(source: IO[bytes]) -> tuple[str, str, str]:
    """Seal ``source`` (read from where it stands to its end) into a new blob; returns
    the blob key, the key id that sealed it and the plaintext's SHA-256 (hex)."""
    ring = keyring()
    sha = hashlib.sha256()
    key = storage.new_key()
    store().put(key, seal(source, ring, digest=sha))
    return key, ring.current, sha.hexdigest()


def put_bytes(data: bytes) -> tuple[str, str, str]:
    return put(io.BytesIO(data))


def open_verified(blob_key: str, sha256: str) -> IO[bytes]:
    """The plaintext of a blob, checked whole before the caller sees a byte; raises
    :class:`Damaged`. The caller closes the returned file (positioned at 0)."""
    out = temporary_file(SPOOL_BYTES)
    sha = hashlib.sha256()
    try:
        with store().open(blob_key) as sealed:
            for piece in unseal(sealed, keyring()):
                sha.update(piece)
                out.write(piece)
    except (SealError, FileNotFoundError) as exc:
        out.close()
        raise Damaged(f"blob {blob_key}: {exc}") from exc
    if sha.hexdigest() != sha256:
        out.close()
        raise Damaged(f"blob {blob_key}: SHA-256 differs from the recorded one")
    out.seek(0)
    return out


def stream(body: IO[bytes], chunk: int = 256 * 1024) -> Iterator[bytes]:
    """Yield ``body`` in chunks, closing it at the end (for a streamed response)."""
    try:
        while data := body.read(chunk):
            yield data
    finally:
        body.close()


def delete(*blob_keys: str | None) -> None:
    for key in blob_keys:
        if key:
            store().delete(key)
