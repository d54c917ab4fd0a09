"""Files encrypted at rest: a streaming AES-256-GCM format with a key id per file.

A sealed file is a header, then the plaintext cut into segments of ``segment`` bytes,
each encrypted on its own with AES-GCM (``cryptography``'s AESGCM) so that a file of
any size is sealed and opened in constant memory::

    b"PDS1" | len(key_id) (1 byte) | key_id | salt (32 bytes) | segment (4 bytes)
    segment 0 | segment 1 | ... | last segment          (each: ciphertext + 16-byte tag)

Each file is encrypted with its own key, derived from the configured key and the file's
random salt with HKDF-SHA256 (as Tink's AES-GCM-HKDF streaming AEAD does), so nonces
never repeat under one AES key however many files there are. The nonce of segment *i*
is *i* (7 zero bytes, then 4 bytes) and a last-segment flag (1 byte); the header is
authenticated with every segment. So a segment cannot be altered, moved, dropped or cut
off the end without the tag failing, and a file cannot be grafted onto another header
(the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár). Opening also
hashes the plaintext for the caller's SHA-256 check.

Keys come from configuration as ``id:base64key,...`` (32-byte keys): the first seals,
all open, so keys rotate by putting a new one first and keeping the old ones after.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"PDS1"
SEGMENT = 1024 * 1024  # plaintext bytes per segment
TAG = 16
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class Digest(Protocol):
    """A hashlib object, as far as :func:`seal` uses it."""

    def update(self, data: memoryview, /) -> None: ...


class SealError(ValueError):
    """The file is not a sealed file of a configured key, or it was altered or cut."""


@dataclass(frozen=True)
class Keyring:
    """The configured file keys: ``current`` seals; every key in ``keys`` opens."""

    current: str
    keys: dict[str, bytes]

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """Read ``id:base64key,...``; raises ValueError naming what is wrong."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            if not sep or not _KEY_ID.match(key_id):
                raise ValueError("each key must be written id:base64key, the id in [A-Za-z0-9_-]")
            try:
                key = base64.urlsafe_b64decode(encoded.encode() + b"=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"key {key_id!r} is not base64") from exc
            if len(key) != 32:
                raise ValueError(f"key {key_id!r} must be 32 bytes (AES-256), not {len(key)}")
            if key_id in keys:
                raise ValueError(f"key id {key_id!r} appears twice")
            keys[key_id] = key
            order.append(key_id)
        if not order:
            raise ValueError("no key given")
        return cls(order[0], keys)


def new_key(key_id: str) -> str:
    """A fresh ``id:key`` entry for the configuration."""
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"


SALT = 32
_PREFIX = bytes(7)


def _nonce(index: int, last: bool) -> bytes:
    return _PREFIX + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


def _file_cipher(master: bytes, key_id: bytes, salt: bytes) -> AESGCM:
    """The AES-256-GCM of one file: its key derived from ``master`` and its salt."""
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                       info=MAGIC + key_id).derive(master))


def seal(source: IO[bytes], keyring: Keyring, segment: int = SEGMENT,
         digest: Digest | None = None) -> Iterator[bytes | memoryview]:
    """Yield the sealed form of ``source`` (read to its end) with the current key,
    updating ``digest`` (a hashlib object) with the plaintext on the way.

    Two buffers of a segment each are allocated once and reused, so memory stays the
    same whatever the file's size: **each chunk yielded is valid only until the next
    is asked for**; write it (or copy it) at once.
    """
    key_id = keyring.current.encode()
    salt = os.urandom(SALT)
    header = MAGIC + bytes([len(key_id)]) + key_id + salt + struct.pack(">I", segment)
    aead = _file_cipher(keyring.keys[keyring.current], key_id, salt)
    yield header
    plain = bytearray(segment + 1)  # a segment and one byte of look-ahead: is it the last?
    view = memoryview(plain)
    sealed = memoryview(bytearray(segment + TAG))
    have = _fill(source, view)
    index = 0
    while True:
        last = have <= segment
        size = min(have, segment)
        chunk = view[:size]
        if digest is not None:
            digest.update(chunk)
        nonce = _nonce(index, last)
        if hasattr(aead, "encrypt_into"):  # cryptography 46+: no new buffer per segment
            aead.encrypt_into(nonce, chunk, header, sealed[:size + TAG])
            yield sealed[:size + TAG]
        else:  # pragma: no cover - older cryptography
            yield aead.encrypt(nonce, bytes(chunk), header)
        if last:
            return
        index += 1
        if index >= 2**32 - 1:
            raise SealError("file too large to seal")
        plain[0] = plain[segment]  # the look-ahead byte starts the next segment
        have = 1 + _fill(source, view[1:])


def _fill(source: IO[bytes], target: memoryview) -> int:
    """Read into ``target`` until it is full or the source ends; the bytes read."""
    got = 0
    readinto = getattr(source, "readinto", None)
    while got < len(target):
        if readinto is not None:
            n = readinto(target[got:])
        else:
            data = source.read(len(target) - got)
            n = len(data)
            target[got:got + n] = data
        if not n:
            break
        got += n
    return got


def _read_full(source: BinaryIO, size: int) -> bytes:
    """``size`` bytes, fewer only at the end (a stream may return short reads)."""
    data = source.read(size)
    if len(data) in (0, size):
        return data
    parts = [data]
    got = len(data)
    while got < size and (more := source.read(size - got)):
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def read_header(sealed: BinaryIO) -> tuple[bytes, str, bytes, int]:
    """The header bytes, key id, salt and segment size of a sealed file."""
    start = _read_full(sealed, 5)
    if len(start) != 5 or start[:4] != MAGIC:
        raise SealError("not a sealed file")
    rest = _read_full(sealed, start[4] + SALT + 4)
    if len(rest) != start[4] + SALT + 4:
        raise SealError("the header is cut short")
    key_id = rest[: start[4]].decode("ascii", "replace")
    segment = struct.unpack(">I", rest[-4:])[0]
    if not 0 < segment <= 64 * 1024 * 1024:
        raise SealError("bad segment size")
    return start + rest, key_id, rest[start[4]:start[4] + SALT], segment


def unseal(sealed: BinaryIO, keyring: Keyring) -> Iterator[bytes]:
    """Yield the plaintext of a sealed file, one authenticated segment at a time.

    Raises :class:`SealError` (possibly after some segments were yielded) when the key
    id is unknown, a segment was altered, or the file was cut or extended: callers who
    must not release unverified data collect it first (see :func:`unseal_to`).
    """
    header, key_id, salt, segment = read_header(sealed)
    key = keyring.keys.get(key_id)
    if key is None:
        raise SealError(f"no configured key has the id {key_id!r}")
    aead = _file_cipher(key, key_id.encode(), salt)
    size = segment + TAG
    index = 0
    chunk = _read_full(sealed, size)
    while True:
        following = _read_full(sealed, size) if len(chunk) == size else b""
        last = not following
        try:
            yield aead.decrypt(_nonce(index, last), chunk, header)
        except InvalidTag:
            raise SealError(f"segment {index} failed authentication") from None
        if last:
            return
        chunk = following
        index += 1


def unseal_to(sealed: BinaryIO, keyring: Keyring, target: BinaryIO) -> tuple[int, str]:
    """Write the plaintext into ``target``; returns its size and SHA-256 (hex)."""
    sha = hashlib.sha256()
    size = 0
    for piece in unseal(sealed, keyring):
        sha.update(piece)
        size += len(piece)
        target.write(piece)
    return size, sha.hexdigest()
