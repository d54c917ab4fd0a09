"""Background upkeep of documents: rescanning those kept pending while clamd was down,
and sealing files again with the current key after a rotation. Plain functions over
the session: they flush; the callers (``flask documents``, ``flask serve``) commit."""

from __future__ import annotations

import logging
from functools import partial

from flask import current_app
from sqlalchemy import select

from consult.documents import scan, vault
from consult.documents.models import Document
from consult.documents.services import discard, open_content
from core.extensions import db

log = logging.getLogger(__name__)


def scan_pending(limit: int = 100) -> dict[str, int]:
    """Scan documents left pending while the scanner was down: ``ready`` when clean,
    ``rejected`` (file deleted) when flagged. Stops at the first scanner failure (fail
    closed: they stay pending). Returns counts; flushes."""
    counts = {"ready": 0, "rejected": 0, "pending": 0}
    socket_path = current_app.config.get("CLAMD_SOCKET")
    pending = db.session.scalars(select(Document).where(Document.status == "pending")
                                 .order_by(Document.id).limit(limit)).all()
    if not socket_path:
        counts["pending"] = len(pending)
        return counts
    for index, document in enumerate(pending):
        try:
            with open_content(document) as body:
                found = scan.scan(socket_path, iter(partial(body.read, scan.CHUNK), b""))
        except scan.ScanFailed as exc:  # this file only: it stays pending, go on
            log.error("clamd cannot scan document %s, it stays pending: %s", document.id, exc)
            counts["pending"] += 1
            continue
        except scan.ScannerUnavailable as exc:
            log.warning("virus scanner unavailable, %d documents stay pending: %s",
                        len(pending) - index, exc)
            counts["pending"] += len(pending) - index
            break
        except vault.Damaged:
            log.error("pending document %s failed its integrity check", document.id)
            found = "damaged"
        if found is None:
            document.status = "ready"
            counts["ready"] += 1
        else:
            log.warning("document %s rejected by the virus scanner: %s", document.id, found)
            discard(document)
            document.status, document.blob_key, document.thumb_key = "rejected", None, None
            counts["rejected"] += 1
    db.session.flush()
    return counts


def sealed_with_old_keys(limit: int = 100, skip: frozenset[int] = frozenset()
                         ) -> list[Document]:
    """Documents sealed with a key other than the current one (after a rotation), but
    those in ``skip`` (found damaged)."""
    current = vault.keyring().current
    query = select(Document).where(Document.key_id != current, Document.blob_key.is_not(None))
    if skip:
        query = query.where(Document.id.not_in(skip))
    return list(db.session.scalars(query.order_by(Document.id).limit(limit)))


def rekey(document: Document) -> tuple[str | None, str | None]:
    """Seal the document's file and thumbnail again with the current key (flushes);
    returns the old blob keys, for the caller to delete once it has committed."""
    old = (document.blob_key, document.thumb_key)
    with open_content(document) as body:
        blob_key, key_id, sha = vault.put(body)
    try:
        with open_content(document, "thumb") as body:
            thumb_key, _kid, thumb_sha = vault.put(body)
    except BaseException:
        vault.delete(blob_key)
        raise
    document.blob_key, document.thumb_key, document.key_id = blob_key, thumb_key, key_id
    db.session.flush()
    return old
