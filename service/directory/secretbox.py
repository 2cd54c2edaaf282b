"""Encryption of secrets at rest (report passwords) with the settings' secret key."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from service.errors import SecretUnreadable

__all__ = ["SecretBox", "SecretUnreadable"]


class SecretBox:
    """Fernet (AES-128-CBC + HMAC) keyed by a SHA-256 stretch of the configured secret."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("an empty secret key cannot protect anything")
        digest = hashlib.sha256(secret_key.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def open(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            raise SecretUnreadable("a stored secret cannot be read with this key") from None
