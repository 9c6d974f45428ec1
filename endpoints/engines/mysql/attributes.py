"""DMS's extra connection attributes for MySQL-compatible endpoints, and how we read them."""

from __future__ import annotations

from types import MappingProxyType

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind

EXTRA_ATTRIBUTES = MappingProxyType({
    "eventsPollInterval": "Source CDC: seconds between binary log polls while the database is idle (default 5).",
    "serverTimezone": "Source: the server's time zone (e.g. US/Pacific); filter values on TIMESTAMP columns are "
                      "read in this zone. TIMESTAMP values themselves are always read in UTC.",
    "afterConnectScript": "SQL run right after connecting (several statements separated by ';'); a failing "
                          "statement is logged and the task goes on, as DMS does.",
    "cleanSourceMetadataOnMismatch": "Source CDC: rebuild a table's cached metadata when the binary log shows a "
                                     "different shape (Y/N).",
    "executeTimeout": "Client statement timeout in seconds for catalog and control statements (default 60).",
    "targetDbType": "Target: multiple-databases (default) puts each source schema in its own database; "
                    "specific-database puts every table in the endpoint's database.",
    "parallelLoadThreads": "Target: threads loading one table's data (default 1).",
    "maxFileSize": "Target: largest chunk, in KB, sent in one LOAD DATA LOCAL INFILE statement (default 32768).",
    "initstmt": "Target: SQL run on every new connection, e.g. SET FOREIGN_KEY_CHECKS=0; it must succeed.",
    "skipTableSuspensionForPartitionDdl": "Source CDC: do not suspend a table on partition DDL (Y/N).",
})

DEFAULT_EXECUTE_TIMEOUT = 60.0
DEFAULT_MAX_FILE_KB = 32 * 1024


def number(conn: ConnectionInfo, name: str, default: float, *, minimum: float = 0) -> float:
    """A numeric attribute, with a CONFIGURATION error naming it when it is not a number."""
    raw = conn.attr(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise EngineError(f"Extra connection attribute {name}={raw!r} is not valid: give a number of at least "
                          f"{minimum:g}.", kind=ErrorKind.CONFIGURATION)
    return value


def execute_timeout(conn: ConnectionInfo) -> float:
    return number(conn, "executeTimeout", DEFAULT_EXECUTE_TIMEOUT, minimum=1)


def max_file_bytes(conn: ConnectionInfo) -> int:
    return int(number(conn, "maxFileSize", DEFAULT_MAX_FILE_KB, minimum=1) * 1024)


def specific_database(conn: ConnectionInfo) -> bool:
    value = (conn.attr("targetDbType") or "multiple-databases").strip().lower()
    if value not in {"specific-database", "multiple-databases"}:
        raise EngineError(f"Extra connection attribute targetDbType={value!r} is not valid: use "
                          "specific-database or multiple-databases.", kind=ErrorKind.CONFIGURATION)
    return value == "specific-database"
