"""An exported snapshot shared by the loaders of one task (pg_export_snapshot)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from ..base import Snapshot
from ..conninfo import ConnectionInfo
from .connection import connect, translate_error


class PgSnapshot(Snapshot):
    def __init__(self, token: str, conn: psycopg.Connection):
        self.token = token
        self.position = None
        self._conn = conn

    def close(self) -> None:
        self._conn.close()


@contextmanager
def open_snapshot(conninfo: ConnectionInfo, *, timeout: float = 30.0) -> Iterator[Snapshot]:
    """A REPEATABLE READ transaction kept open while the context lasts; readers join it by its token.

    The snapshot is valid only while this transaction is open, so loaders must have
    started their reads (SET TRANSACTION SNAPSHOT) before the context exits.
    """
    conn = connect(conninfo, timeout=timeout)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        token = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
    except psycopg.Error as exc:
        conn.close()
        raise translate_error(exc, conninfo, doing="exporting a snapshot") from None
    snapshot = PgSnapshot(token, conn)
    try:
        yield snapshot
    finally:
        snapshot.close()
