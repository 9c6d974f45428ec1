"""Reading settings from the environment, with errors that name the variable.

Every helper raises ImproperlyConfigured with the variable's name and what was
expected, so a misconfigured deployment fails at start-up with a sentence an
operator can act on rather than a stack trace from deep inside a library.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required but not set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off."
    )


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name}={raw!r} is not a whole number.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_database(name: str, default: str) -> dict[str, Any]:
    """The console's own database from a URL: sqlite:///path or postgresql://user:pass@host:port/db."""
    import dj_database_url

    raw = os.environ.get(name) or default
    scheme = urlparse(raw).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"Environment variable {name}={_redact(raw)!r} is not a supported database URL: "
            "use sqlite:///path/to/db.sqlite3 or postgresql://user:password@host:5432/dbname."
        )
    try:
        config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj_database_url raises several types for malformed URLs
        raise ImproperlyConfigured(f"Environment variable {name} is malformed: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"Environment variable {name}={_redact(raw)!r} names no database.")
    return config


def env_redis_url(name: str, default: str) -> str:
    raw = os.environ.get(name) or default
    parsed = urlparse(raw)
    if parsed.scheme not in {"redis", "rediss", "unix"} or (parsed.scheme != "unix" and not parsed.hostname):
        raise ImproperlyConfigured(
            f"Environment variable {name}={_redact(raw)!r} is not a Redis URL: use redis://host:6379/0."
        )
    return raw


def env_fernet_key(name: str) -> str:
    """A Fernet key: 32 bytes, url-safe base64 (see the README for how to generate one)."""
    raw = env_str(name)
    try:
        decoded = base64.urlsafe_b64decode(raw.encode())
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 32:
        raise ImproperlyConfigured(
            f"Environment variable {name} is malformed: it must be 32 bytes in url-safe base64 "
            "(44 characters). Generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    return raw


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url
