"""Where encrypted files live: a small interface, and the local-disk store behind it.

A store keeps opaque blobs under random keys made here (never a name a user gave). The
local store writes under ``DOCUMENTS_DIR`` (outside ``static/``), two hex characters of
fan-out per level; a blob appears whole or not at all (written to a temporary name,
flushed to disk, then renamed). Another store (S3-compatible, say) plugs in by naming
its class in ``DOCUMENT_STORAGE=module:Class``; it is built with the app's config.
"""

from __future__ import annotations

import importlib
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol

_KEY = re.compile(r"^[0-9a-f]{32}$")


class BlobStore(Protocol):
    """What the documents need of a store."""

    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> int:
        """Store the blob made of ``chunks`` under ``key``, whole or not at all; returns
        its size. If iterating ``chunks`` raises, nothing is left behind. A chunk may be
        a view of a reused buffer: write or copy it before taking the next."""

    def open(self, key: str) -> BinaryIO:
        """The stored blob for reading; FileNotFoundError when there is none."""

    def delete(self, key: str) -> None:
        """Remove the blob; no error when it is already gone."""


def new_key() -> str:
    """A random blob key (128 bits, hex)."""
    return secrets.token_hex(16)


class LocalDiskStore:
    """Blobs as files under ``root``: ``root/ab/abcdef…``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):  # keys are made by new_key(); anything else is a bug
            raise ValueError("bad blob key")
        return self.root / key[:2] / key

    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_name(f".{key}.{secrets.token_hex(4)}.part")
        size = 0
        try:
            with open(partial, "xb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
                    del chunk  # not kept while the next chunk is made
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return size

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def from_config(config: Mapping[str, Any]) -> BlobStore:
    """The store named by ``DOCUMENT_STORAGE``: ``local`` (the default) or
    ``module:Class``, a class built with the app's config."""
    name = config.get("DOCUMENT_STORAGE") or "local"
    if name == "local":
        return LocalDiskStore(config["DOCUMENTS_DIR"])
    module, _, cls = name.partition(":")
    store: BlobStore = getattr(importlib.import_module(module), cls)(config)
    return store
