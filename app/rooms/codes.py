"""Room codes and tokens: a short code people type, a secret token kept only as its hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read off a projector
CODE_LENGTH = 5


def new_code(taken: Any) -> str:
    """A fresh room code: short, unambiguous letters and digits."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code


def normalise_code(code: str) -> str:
    """Room codes are case-insensitive for people typing them."""
    return code.strip().upper()


def new_token() -> str:
    """A presenter's token: shown once, sent over the socket, never put in a URL."""
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> bytes:
    """What a room keeps of its token (in this process, or hex-encoded in Redis)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def token_matches(stored_hash: bytes, token: str) -> bool:
    """Does `token` open the room whose token hashed to `stored_hash`? (constant time)"""
    return hmac.compare_digest(stored_hash, token_hash(token))
