"""The optional virus check: clamd's INSTREAM command over its Unix socket.

With ``CLAMD_SOCKET`` set, every upload is scanned before anyone can see it. When the
scanner cannot be reached the document stays ``pending`` (fail closed) and is scanned
again later (``flask documents scan``, also run by ``flask serve``).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable

CHUNK = 256 * 1024
TIMEOUT = 30.0


class ScannerUnavailable(OSError):
    """clamd did not answer (not running, timed out, or an error reply)."""


class ScanFailed(ScannerUnavailable):
    """clamd answered, but with an error about this file (over its size limit, out of
    memory...): no verdict for it, though others may get one."""


def scan(socket_path: str, chunks: Iterable[bytes]) -> str | None:
    """Stream ``chunks`` to clamd; None when clean, else the name of what it found.
    Raises :class:`ScannerUnavailable` when no verdict was given."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(socket_path)
            sock.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), CHUNK):
                    piece = chunk[start:start + CHUNK]
                    sock.sendall(struct.pack(">I", len(piece)) + piece)
            sock.sendall(struct.pack(">I", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                data = sock.recv(4096)
                if not data:
                    break
                reply += data
    except OSError as exc:
        raise ScannerUnavailable(f"clamd at {socket_path}: {exc}") from exc
    text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if text.endswith("OK"):
        return None
    if text.endswith("FOUND"):
        return text.removeprefix("stream:").removesuffix("FOUND").strip() or "unknown"
    raise ScanFailed(f"clamd at {socket_path} answered {text!r}")
