"""Opening python-mysql-replication's BinLogStreamReader the way capture needs it, and its errors.

The reader connects as a replica (COM_BINLOG_DUMP from a file:offset) with a server id of its
own: the server keeps one dump per id and ends an older dump when a newer one arrives with the
same id, so each task gets a stable id of its own (a restarted task replaces its dead stream;
two tasks never replace each other). One-off scans use id 0, which never replaces anyone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

import pymysql
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import (
    GtidEvent,
    HeartbeatLogEvent,
    MariadbGtidEvent,
    NotImplementedEvent,
    QueryEvent,
    RotateEvent,
    XAPrepareEvent,
    XidEvent,
)
from pymysqlreplication.row_event import DeleteRowsEvent, TableMapEvent, UpdateRowsEvent, WriteRowsEvent

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from .attributes import number
from .connection import ssl_options
from .errors import translate, where
from .positions import BinlogPosition

# Every event capture reads. NotImplementedEvent carries MySQL's anonymous GTID events (the start
# of every transaction when gtid_mode is OFF) and compressed transactions, which capture refuses.
CAPTURE_EVENTS = (WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, TableMapEvent, QueryEvent, XidEvent, RotateEvent,
                  MariadbGtidEvent, GtidEvent, HeartbeatLogEvent, NotImplementedEvent, XAPrepareEvent)
# Task server ids are drawn from [ID_BASE, 2**32): far above the small ids servers usually get.
ID_BASE = 1_000_000_000
DEFAULT_HEARTBEAT = 5.0  # eventsPollInterval: seconds of silence before the server sends a heartbeat
# A stream hears at least a heartbeat this often; silence for this many heartbeats means a dead connection.
SILENT_HEARTBEATS = 6
MIN_READ_TIMEOUT = 30.0

# Server errors on a binlog dump that no retry cures, with the DBA's way out.
_PERMANENT = {
    1236: "the server cannot send the binary log from this position (purged, or not a valid position): reload "
          "the task, and keep binary logs longer (binlog_expire_logs_seconds)",
    1227: "the user lacks REPLICATION SLAVE: GRANT REPLICATION SLAVE ON *.* TO the user",
    1045: "the login was refused",
}


def server_id_for(conn: ConnectionInfo, task_id: str, taken: Iterable[int] = ()) -> int:
    """The task's replica id: stable per server, database and task, never one in `taken`."""
    digest = hashlib.sha256(f"{conn.host}:{conn.port}/{conn.database}\0{task_id}".encode()).digest()
    span = 2**32 - ID_BASE
    candidate = ID_BASE + int.from_bytes(digest[:8], "big") % span
    taken = set(taken)
    while candidate in taken:
        candidate = ID_BASE + (candidate - ID_BASE + 1) % span
    return candidate


def replica_name(task_id: str) -> str:
    """How the task's reader shows in SHOW SLAVE HOSTS."""
    return f"dms-task-{task_id}"[:60]


def ids_in_use(raw: pymysql.connections.Connection, task_id: str) -> set[int]:
    """The server's own id and those of the replicas registered now, except this task's own (a stream
    left behind by a killed run, which the new one should replace)."""
    with raw.cursor() as cursor:
        cursor.execute("SELECT @@GLOBAL.server_id")
        taken = {int(cursor.fetchone()[0])}
        try:
            cursor.execute("SHOW SLAVE HOSTS")
            rows = cursor.fetchall()
        except pymysql.MySQLError:
            return taken  # not allowed to list replicas (MariaDB: REPLICATION MASTER ADMIN): the id range helps
    mine = replica_name(task_id)
    return taken | {int(row[0]) for row in rows if row[1] != mine}


def heartbeat_seconds(conn: ConnectionInfo) -> float:
    """eventsPollInterval: how long an idle stream waits for a heartbeat (default 5 s)."""
    return number(conn, "eventsPollInterval", DEFAULT_HEARTBEAT, minimum=0.1)


def connection_settings(conn: ConnectionInfo, *, read_timeout: float | None) -> dict[str, Any]:
    """PyMySQL keyword arguments for the reader's two connections (dump and control)."""
    return {
        "host": conn.host,
        "port": conn.port,
        "user": conn.username,
        "password": conn.password,
        "charset": "utf8mb4",
        "connect_timeout": 30,
        "read_timeout": read_timeout,
        "write_timeout": read_timeout,
        **ssl_options(conn),
    }


def open_reader(conn: ConnectionInfo, start: BinlogPosition, *, server_id: int, schemas: list[str] | None,
                tables: list[str] | None, blocking: bool = True, heartbeat: float | None = None,
                events: Iterable[type] = CAPTURE_EVENTS, report_as: str | None = None,
                connector: Callable[..., pymysql.connections.Connection] | None = None) -> BinLogStreamReader:
    """A reader streaming from `start` (it connects on its first fetch).

    file:offset mode on MariaDB too (is_mariadb=False: the package's MariaDB mode means GTID
    auto-positioning). freeze_schema: a table map is decoded once per table id; the server
    gives a table a new id when ALTER TABLE changes it (and ids restart only with a new file).
    only_schemas/only_tables keep other tables' rows from being decoded; the package matches
    table names without their schema, so capture filters again.
    `report_as` registers the reader under that name (SHOW SLAVE HOSTS lists it; no password is
    sent). `connector` opens the connections (the package reconnects by itself after a lost one)."""
    read_timeout = max(MIN_READ_TIMEOUT, SILENT_HEARTBEATS * heartbeat) if heartbeat else None
    return BinLogStreamReader(
        connection_settings=connection_settings(conn, read_timeout=read_timeout),
        server_id=server_id,
        resume_stream=True,
        blocking=blocking,
        log_file=start.file,
        log_pos=start.offset,
        only_events=list(events),
        filter_non_implemented_events=False,
        only_schemas=schemas,
        only_tables=tables,
        slave_heartbeat=heartbeat,
        is_mariadb=False,
        freeze_schema=True,
        enable_logging=False,
        pymysql_wrapper=connector or connect,
        report_slave=report_as,
    )


def connect(**settings: Any) -> pymysql.connections.Connection:
    """How the package opens its connections, in today's PyMySQL keywords (it passes `db`)."""
    if "db" in settings:
        settings["database"] = settings.pop("db")
    return pymysql.connect(**settings)


def stream_error(exc: BaseException, conn: ConnectionInfo, doing: str) -> EngineError:
    """An EngineError for a failure while streaming: a lost connection is CONNECTION_LOST (the task
    resumes from its checkpoint); purged logs and missing grants need a person."""
    if isinstance(exc, EngineError):
        return exc
    code = exc.args[0] if isinstance(exc, pymysql.MySQLError) and exc.args and isinstance(exc.args[0], int) else None
    text = str(exc.args[1]) if code is not None and len(exc.args) > 1 else str(exc)
    if code in _PERMANENT:
        kind = ErrorKind.PRIVILEGE if code in (1227, 1045) else ErrorKind.CONFIGURATION
        return EngineError(f"The MySQL server at {where(conn)} stopped the binary log stream while {doing}: {text} "
                           f"({_PERMANENT[code]}).", kind=kind)
    if code == 4052 or (code == 1236 and "same server" in text):
        return EngineError(f"The MySQL server at {where(conn)} ended the binary log stream while {doing}: another "
                           f"stream with the same server id took over ({text}). Stop the other copy of the task; "
                           "this one retries.", kind=ErrorKind.CONNECTION_LOST)
    translated = translate(exc, conn, doing)
    if translated.kind in (ErrorKind.PRIVILEGE, ErrorKind.AUTH, ErrorKind.CONFIGURATION, ErrorKind.TLS):
        return translated
    if isinstance(exc, pymysql.OperationalError | pymysql.InterfaceError | OSError) or code in (2006, 2013, 2003):
        return EngineError(f"The binary log stream from the MySQL server at {where(conn)} was lost while {doing}: "
                           f"{text or 'connection closed'}.", kind=ErrorKind.CONNECTION_LOST)
    return translated
