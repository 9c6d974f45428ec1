"""The one error type engines raise, worded for a DBA.

Jobs use `permanent` to decide between retrying (network blips, a target
that is restarting) and failing the task (bad password, missing table).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    AUTH = "auth"  # login refused
    UNKNOWN_DATABASE = "unknown-database"
    UNREACHABLE = "unreachable"  # DNS, refused, no route
    TIMEOUT = "timeout"
    TLS = "tls"
    PRIVILEGE = "privilege"  # connected, but missing a right the task needs
    CONFIGURATION = "configuration"  # a server setting must change (wal_level, binlog_format, ...)
    DRIVER = "driver"  # client library or ODBC driver missing
    UNSUPPORTED = "unsupported"
    DATA = "data"  # a row or value the target refused
    DUPLICATE = "duplicate"  # a row with the same key already exists (apply of an insert)
    SCHEMA = "schema"  # missing table/column, incompatible definition
    CONNECTION_LOST = "connection-lost"
    OTHER = "other"


# Kinds that a retry may cure; everything else needs a person to act.
_TRANSIENT = {ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT, ErrorKind.CONNECTION_LOST}


class EngineError(Exception):
    def __init__(self, message: str, *, kind: ErrorKind = ErrorKind.OTHER, permanent: bool | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.permanent = kind not in _TRANSIENT if permanent is None else permanent

    def __str__(self) -> str:
        return self.message
