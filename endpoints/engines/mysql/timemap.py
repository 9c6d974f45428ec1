"""CdcStartTime: the binary log position of a moment, found by reading the binary log's own timestamps.

The answer is the boundary just before the first transaction committed at or after the time
(commit = its XID/COMMIT event's timestamp, whole seconds). The binary log files kept are
ordered by creation (the timestamp of their first event), so a bisection over SHOW BINARY
LOGS finds the file to start from, and one scan of that file (and later ones when needed)
finds the transaction; scans read only event headers and transaction boundaries (about
270 MB/s here). A time before the oldest kept file, or after the server's clock, is refused:
the position would not be exact.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pymysqlreplication.event import (
    FormatDescriptionEvent,
    GtidEvent,
    MariadbGtidEvent,
    QueryEvent,
    RotateEvent,
    XidEvent,
)

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from . import binlog, statements
from .connection import session
from .positions import FILE_START, BinlogPosition, binary_logs, current_position

# Scans decode no table: this schema name cannot exist (it is longer than MySQL allows).
_NO_SCHEMA = "-" * 80
_SCAN_EVENTS = (MariadbGtidEvent, GtidEvent, XidEvent, QueryEvent, RotateEvent)


def position_at(conn: ConnectionInfo, when: datetime) -> str:
    seconds = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    with session(conn, "mapping CdcStartTime to a binary log position") as raw:
        logs = [name for name, _ in binary_logs(raw)]
        end = current_position(raw)
        with raw.cursor() as cursor:
            cursor.execute("SELECT UNIX_TIMESTAMP()")
            now = float(cursor.fetchone()[0])
    if not logs:
        raise EngineError("The server keeps no binary logs: CdcStartTime cannot be mapped.",
                          kind=ErrorKind.CONFIGURATION)
    if seconds > now:
        raise EngineError(f"CdcStartTime {when.isoformat()} is later than the source server's clock "
                          f"({datetime.fromtimestamp(now, UTC).isoformat()}): give a time that has passed.",
                          kind=ErrorKind.CONFIGURATION)
    first = file_created(conn, logs[0])
    if first >= seconds:
        raise EngineError(f"CdcStartTime {when.isoformat()} is before the oldest binary log the server keeps "
                          f"({logs[0]}, started {datetime.fromtimestamp(first, UTC).isoformat()}): the changes of "
                          "that time were purged, so no exact start position exists. Give a later time.",
                          kind=ErrorKind.CONFIGURATION)
    # The last file created before the time: every transaction of earlier files committed before it.
    low, high = 0, len(logs) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if file_created(conn, logs[middle]) < seconds:
            low = middle
        else:
            high = middle - 1
    position, found = _scan(conn, BinlogPosition(logs[low], FILE_START), seconds)
    # Nothing committed since the time: everything up to the end of the log is before it.
    return str(position if found else max(position, end, key=lambda p: p.key))


def file_created(conn: ConnectionInfo, name: str) -> float:
    """The timestamp of a binary log file's first event (its format description)."""
    reader = binlog.open_reader(conn, BinlogPosition(name, FILE_START), server_id=0, schemas=[_NO_SCHEMA],
                                tables=None, blocking=False, events=(FormatDescriptionEvent,))
    try:
        for event in reader:
            if isinstance(event, FormatDescriptionEvent):
                return float(event.timestamp)
    except Exception as exc:
        raise binlog.stream_error(exc, conn, f"reading the start of binary log {name}") from None
    finally:
        reader.close()
    raise EngineError(f"Binary log {name} has no format description event.", kind=ErrorKind.OTHER)


def _scan(conn: ConnectionInfo, start: BinlogPosition, seconds: float) -> tuple[BinlogPosition, bool]:
    """(the boundary before the first transaction from `start` on whose commit is at or after `seconds`,
    True), else (the end of the last transaction the scan saw, False)."""
    reader = binlog.open_reader(conn, start, server_id=0, schemas=[_NO_SCHEMA], tables=None, blocking=False,
                                events=_SCAN_EVENTS)
    file, begin = start.file, None  # begin: the offset where the open transaction starts
    last = start
    try:
        for event in reader:
            packet = event.packet
            if isinstance(event, RotateEvent):
                file = event.next_binlog
                continue
            event_start = packet.log_pos - packet.event_size
            if isinstance(event, MariadbGtidEvent | GtidEvent):
                begin = event_start
                continue
            if isinstance(event, QueryEvent):
                kind = statements.parse(event.query).kind
                if kind in (statements.Kind.BEGIN, statements.Kind.CONTROL, statements.Kind.DML):
                    begin = event_start if begin is None and kind is statements.Kind.BEGIN else begin
                    continue  # inside a transaction: XID or COMMIT ends it
                if begin is None:  # a statement on its own (no GTID events on this server)
                    begin = event_start
            if begin is not None and event.timestamp >= seconds:
                return BinlogPosition(file, begin), True
            begin = None
            last = BinlogPosition(file, packet.log_pos)
    except Exception as exc:
        raise binlog.stream_error(exc, conn, f"scanning the binary log from {start}") from None
    finally:
        reader.close()
    return last, False
