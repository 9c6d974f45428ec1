"""Where the change stream starts relative to the full load.

A MySQL/MariaDB snapshot lives in one connection's transaction and cannot be shared,
so every reader takes its own (reader.begin_snapshot) and reports its position on its
first batch. `snapshot_position()` gives the task a binary log position at or before
every later reader's snapshot: CDC starts there, and the changes a reader's snapshot
already contains are applied again idempotently (upserts, delete-if-exists).

MariaDB ties a snapshot to its binlog position (binlog_snapshot_file/position). MySQL
can only do so under FLUSH TABLES WITH READ LOCK, as mysqldump does; we do not take it:
FLUSH TABLES waits for every running query on the tables, including our own segment
readers' long SELECTs, so parallel segments would load one after another (and every
writer on the server would wait meanwhile). MySQL readers report no position.
"""

from __future__ import annotations

from pymysql.connections import Connection

from ..base import Snapshot
from .connection import is_mariadb, server_version
from .reader import begin_snapshot


class PositionSnapshot(Snapshot):
    """No shared read view (token None), only the binary log position (None when logging is off)."""

    def __init__(self, position: str | None):
        self.token = None
        self.position = position


def snapshot_position(raw: Connection) -> str | None:
    """'file:pos' of the binary log now (MariaDB: of a fresh consistent snapshot)."""
    if is_mariadb(raw):
        position = begin_snapshot(raw)
        raw.rollback()
        return position
    statement = "SHOW BINARY LOG STATUS" if server_version(raw) >= (8, 4) else "SHOW MASTER STATUS"
    with raw.cursor() as cursor:
        cursor.execute(statement)
        row = cursor.fetchone()
    return f"{row[0]}:{row[1]}" if row else None


def position_key(position: str) -> tuple:
    """'mysql-bin.000012:345' sorts by file number, then offset."""
    name, _, offset = position.rpartition(":")
    stem, _, number = name.rpartition(".")
    return (stem, int(number) if number.isdigit() else 0, int(offset) if offset.isdigit() else 0)
