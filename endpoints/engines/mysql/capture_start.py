"""Before a task reads the binary log: is the server ready, and where does the stream start.

Readiness is checked up front, because a wrong setting does not fail later, it loses data:
STATEMENT/MIXED logging writes statements instead of rows, a MINIMAL row image leaves columns
out of updates and deletes, and without binlog_row_metadata=FULL rows arrive without column
names and nothing would be applied. Each failure says which setting to change or which GRANT
to run. The grant names come from readiness.py (MariaDB 10.5.2 renamed REPLICATION CLIENT).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pymysql.connections import Connection

from ..base import CaptureStart
from ..catalog import SourceTable
from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from .connection import is_mariadb, session
from .positions import check_available, current_position, parse_position
from .readiness import global_privileges, required_privileges
from .sqlfiles import sql

log = logging.getLogger(__name__)

# (variable, value CDC needs, what goes wrong otherwise)
_REQUIRED = (
    ("binlog_format", "ROW", "STATEMENT and MIXED logging write statements, not the rows they changed"),
    ("binlog_row_image", "FULL", "other row images leave columns out of updates and deletes"),
    ("binlog_row_metadata", "FULL", "without it rows arrive without column names, and nothing would be applied"),
)


def check_capture_ready(raw: Connection) -> None:
    """Raise EngineError (CONFIGURATION or PRIVILEGE) naming the first thing to fix."""
    with raw.cursor() as cursor:
        cursor.execute(sql("server_variables"))
        settings = {str(name).lower(): str(value) for name, value in cursor.fetchall()}
        cursor.execute("SHOW GLOBAL VARIABLES LIKE 'binlog_transaction_compression'")
        compression = cursor.fetchone()
    if settings.get("log_bin", "OFF").upper() not in ("ON", "1"):
        raise EngineError("Binary logging is off (log_bin=OFF): CDC reads the binary log. Start the server with "
                          "log_bin (e.g. log_bin=mysql-bin in my.cnf) and restart it.", kind=ErrorKind.CONFIGURATION)
    for name, wanted, why in _REQUIRED:
        have = settings.get(name)
        if have is None:
            server = "MariaDB 10.5" if is_mariadb(raw) else "MySQL 8.0.1"
            raise EngineError(f"This server has no {name} setting (it came with {server}): {why}. Upgrade the "
                              "server to use CDC.", kind=ErrorKind.CONFIGURATION)
        if have.upper() != wanted:
            raise EngineError(f"{name}={have}: CDC needs {name}={wanted} ({why}). Set it in my.cnf and with SET "
                              f"GLOBAL {name}='{wanted}', then reconnect the applications (sessions keep the "
                              "value they started with).", kind=ErrorKind.CONFIGURATION)
    if int(settings.get("server_id", "0") or 0) < 1:
        raise EngineError("server_id=0: a server without a server id cannot serve its binary log. Set server_id "
                          "(1 or more) in my.cnf and restart the server.", kind=ErrorKind.CONFIGURATION)
    if compression is not None and str(compression[1]).upper() in ("ON", "1"):
        raise EngineError("binlog_transaction_compression=ON: compressed transactions cannot be read (as in AWS "
                          "DMS). SET GLOBAL binlog_transaction_compression=OFF.", kind=ErrorKind.CONFIGURATION)
    _check_privileges(raw)


def _check_privileges(raw: Connection) -> None:
    with raw.cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER()")
        account = str(cursor.fetchone()[0])
        cursor.execute("SHOW GRANTS")
        granted = global_privileges(str(row[0]) for row in cursor.fetchall())
    if "ALL PRIVILEGES" in granted:
        return
    if not is_mariadb(raw) and "SUPER" in granted:
        granted.add("REPLICATION CLIENT")  # MySQL's SUPER covers the binary log status statements
    missing = [p for p in required_privileges(raw) if p not in granted]
    if missing:
        user, _, host = account.rpartition("@")
        grantee = f"{_literal(user)}@{_literal(host)}"
        raise EngineError(f"User {grantee} lacks {' and '.join(missing)}, which CDC needs to read the binary log. "
                          f"Run: GRANT {', '.join(missing)} ON *.* TO {grantee};", kind=ErrorKind.PRIVILEGE)


@contextmanager
def begin_capture(conninfo: ConnectionInfo, task_id: str, tables: Sequence[SourceTable], *, start: str | None,
                  with_snapshot: bool) -> Iterator[CaptureStart]:
    """Check the server, fix the start (`start`, else the end of the binary log now).

    MySQL cannot share a snapshot between connections, so there is none (snapshot None):
    each full-load reader takes its own and reports its position on its first batch."""
    position = parse_position(start) if start is not None else None
    with session(conninfo, "preparing change data capture") as raw:
        check_capture_ready(raw)
        if position is None:
            position = current_position(raw)
        else:
            check_available(raw, position)
    views = [t.qualified for t in tables if t.kind != "table"]
    if views:
        log.warning("View(s) %s have no binary log changes: they are loaded but not replicated.", ", ".join(views))
    yield CaptureStart(position=str(position), snapshot=None, snapshot_position=None)


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
