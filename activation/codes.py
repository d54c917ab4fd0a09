"""Activation codes are never stored in clear: a keyed hash (HMAC-SHA256)."""

from __future__ import annotations

import hmac

from core.crypto import lookup_hash


def normalise_code(code: str) -> str:
    """Codes are typed from a card: ignore case, spaces and hyphens."""
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def hash_code(code: str) -> str:
    """HMAC-SHA256 (hex) of the normalised code with ``ACTIVATION_CODE_KEY``."""
    return lookup_hash(normalise_code(code), "activation-code")


def code_matches(code: str, stored_hash: str) -> bool:
    """Constant-time comparison of ``code`` against a stored hash."""
    return hmac.compare_digest(hash_code(code), stored_hash)
