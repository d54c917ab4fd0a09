"""Encryption at rest for secrets the app must read back (TOTP keys, IINs; later,
files), and keyed lookup hashes for identifiers searched by value.

``DATA_KEYS`` is a comma-separated list of Fernet keys (AES-128-CBC + HMAC-SHA256):
the first encrypts, all decrypt, so a key can be rotated by putting a new one first.
Required outside demo and test mode; ``flask keys new`` (or Fernet.generate_key)
prints a fresh key.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class DecryptionError(ValueError):
    """The value was not encrypted with any configured key."""


@functools.lru_cache(maxsize=8)
def _fernet_for(data_keys: str) -> MultiFernet:
    keys = [k.strip() for k in data_keys.split(",") if k.strip()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def _fernet() -> MultiFernet:
    # Built once per DATA_KEYS value: chat messages are encrypted one by one.
    return _fernet_for(current_app.config["DATA_KEYS"])


def encrypt(plain: str) -> str:
    """Encrypt ``plain`` with the current key; returns ASCII text for a column."""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a value from :func:`encrypt`; raises :class:`DecryptionError`."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("not encrypted with any key in DATA_KEYS") from None


def encrypt_bytes(data: bytes, data_keys: str) -> bytes:
    """Encrypt ``data`` (a file) with the first of ``data_keys``; usable outside the app
    (the media worker gets DATA_KEYS in its environment)."""
    return _fernet_for(data_keys).encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    """Decrypt a file from :func:`encrypt_bytes`; raises :class:`DecryptionError` when
    it was altered or no configured key made it."""
    try:
        return _fernet().decrypt(token)
    except InvalidToken:
        raise DecryptionError("not encrypted with any key in DATA_KEYS") from None


def digest(token: str) -> str:
    """SHA-256 (hex) of a random token (links, session ids): stored instead of it."""
    return hashlib.sha256(token.encode()).hexdigest()


def lookup_hash(value: str, purpose: str) -> str:
    """A keyed hash (HMAC-SHA256, hex) to find a record by a personal identifier without
    storing it in clear. Keyed with ``ACTIVATION_CODE_KEY``, separated by ``purpose``."""
    key = current_app.config["ACTIVATION_CODE_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def new_key() -> str:
    return Fernet.generate_key().decode()
