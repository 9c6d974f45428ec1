"""Binary log positions: "file:offset" text, as DMS writes MySQL CDC positions ("mysql-bin.000024:373").

Two kinds of position share the text form, and one order (file sequence number, then offset):

* a *boundary* is an offset between transactions: SHOW MASTER STATUS, a reader's consistent
  snapshot (binlog_snapshot_file/position), the end of a transaction seen on an idle stream.
  Everything committed before it lies before it; a transaction committed later starts at or
  after it.
* a *transaction position* is the end offset of the transaction's first event (its GTID, or
  BEGIN where the server writes no GTID) - the event's end_log_pos in the binlog header. It is
  known as soon as the transaction starts (so every piece of a large transaction carries it),
  it sorts after the boundary the transaction starts at, and the stream can be reopened there:
  it then replays the rest of that transaction, which the applier skips as already applied.

So "transaction T is in a snapshot taken at boundary S" is exactly position(T) < S, and a
transaction starting right at S (the next commit after the snapshot) sorts after S.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pymysql.connections import Connection

from ..errors import EngineError, ErrorKind
from .connection import is_mariadb, server_version

# A binlog file name ends in a dot and a sequence number; the offset is a byte offset in it.
_POSITION = re.compile(r"^(?P<file>[^\s:/\\]+\.(?P<seq>\d+)):(?P<offset>\d+)$")
# The first event of every binlog file (the format description) starts here.
FILE_START = 4


@dataclass(frozen=True, order=False)
class BinlogPosition:
    file: str
    offset: int

    def __str__(self) -> str:
        return f"{self.file}:{self.offset}"

    @property
    def sequence(self) -> int:
        return int(self.file.rpartition(".")[2])

    @property
    def key(self) -> tuple[int, int]:
        return (self.sequence, self.offset)


def parse_position(text: str) -> BinlogPosition:
    """A 'file:offset' position; a CONFIGURATION error naming the expected form otherwise."""
    match = _POSITION.match((text or "").strip())
    if match is None:
        raise EngineError(f"{text!r} is not a MySQL binary log position: give it as file:offset, as SHOW MASTER "
                          "STATUS reports it (e.g. mysql-bin.000024:373). GTID sets are not accepted as a start "
                          "position (as in AWS DMS).", kind=ErrorKind.CONFIGURATION)
    return BinlogPosition(match["file"], int(match["offset"]))


def position_key(text: str) -> tuple[int, int]:
    """(file sequence number, offset): the order of positions in the binary log."""
    return parse_position(text).key


def current_position(raw: Connection) -> BinlogPosition:
    """The end of the binary log now (a boundary): SHOW MASTER STATUS or its newer names."""
    if is_mariadb(raw):
        statement = "SHOW BINLOG STATUS" if server_version(raw) >= (10, 5, 2) else "SHOW MASTER STATUS"
    else:
        statement = "SHOW BINARY LOG STATUS" if server_version(raw) >= (8, 4) else "SHOW MASTER STATUS"
    with raw.cursor() as cursor:
        cursor.execute(statement)
        row = cursor.fetchone()
    if not row or not row[0]:
        raise EngineError("Binary logging is off on this server (SHOW MASTER STATUS is empty): CDC reads the "
                          "binary log. Start the server with log_bin (e.g. log_bin=mysql-bin) and restart it.",
                          kind=ErrorKind.CONFIGURATION)
    return BinlogPosition(str(row[0]), int(row[1]))


def binary_logs(raw: Connection) -> list[tuple[str, int]]:
    """(file, size) of every binary log the server still has, oldest first."""
    with raw.cursor() as cursor:
        cursor.execute("SHOW BINARY LOGS")
        return [(str(row[0]), int(row[1])) for row in cursor.fetchall()]


def check_available(raw: Connection, position: BinlogPosition) -> None:
    """Refuse a position the server can no longer (or never could) stream from, saying why."""
    logs = dict(binary_logs(raw))
    if position.file not in logs:
        oldest = min(logs, key=lambda name: BinlogPosition(name, 0).key, default=None)
        raise EngineError(f"Binary log {position.file} no longer exists on the server (the oldest one kept is "
                          f"{oldest}): changes from {position} were purged (binlog_expire_logs_seconds). Reload "
                          "the task (restart with reload-target), and keep binary logs longer.",
                          kind=ErrorKind.CONFIGURATION)
    if position.offset < FILE_START or position.offset > logs[position.file]:
        raise EngineError(f"Position {position} is outside binary log {position.file} ({logs[position.file]} "
                          f"bytes): give an offset SHOW MASTER STATUS or SHOW BINLOG EVENTS reported.",
                          kind=ErrorKind.CONFIGURATION)
