"""Endpoint secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with settings.DMS_ENCRYPTION_KEY.

Losing the key loses the stored passwords (endpoints keep working once a password is
entered again); changing it needs the old key to decrypt first.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret was encrypted with another DMS_ENCRYPTION_KEY."""


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return _fernet(settings.DMS_ENCRYPTION_KEY).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(settings.DMS_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The stored password cannot be decrypted with this DMS_ENCRYPTION_KEY: "
            "enter the password again (Modify endpoint)."
        ) from None
