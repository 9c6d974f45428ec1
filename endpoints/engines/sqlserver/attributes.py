"""DMS's extra connection attributes for SQL Server, and what this engine does with each.

DMS reads the SQL Server log itself (fn_dblog) and protects unread log with its
safeguard; this engine reads MS-CDC change tables instead, so some attributes are
accepted because MS-CDC already gives what they ask for, and some are refused with
the reason, never silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind

EXTRA_ATTRIBUTES = MappingProxyType({
    "multiSubnetFailover": "Y: for an Always On listener, try every address of the listener at once and use "
                           "the first that answers.",
    "applicationIntent": "ReadOnly: connect to a readable secondary replica of an availability group "
                         "(full load only; MS-CDC needs the primary).",
    "readBackupOnly": "Refused when Y: this engine reads MS-CDC change tables, never log backups.",
    "tlogAccessMode": "PreferTlog or TlogOnly accepted (MS-CDC reads the active log); PreferBackup and "
                      "BackupOnly are refused.",
    "safeguardPolicy": "RELY_ON_SQL_SERVER_REPLICATION_AGENT accepted (the MS-CDC capture job keeps unread "
                       "changes until its retention ends); EXCLUSIVE_AUTOMATIC_TRUNCATION is refused.",
    "setUpMsCdcForTables": "Y: enable MS-CDC on the database and on each selected table when missing (needs "
                           "sysadmin for the database, db_owner for the tables).",
    "pollingInterval": "Source CDC: seconds between reads of the MS-CDC change tables (default 5, the capture "
                       "job's own default).",
    "fatalOnSimpleModel": "Y: refuse CDC when the database uses the SIMPLE recovery model (default: a warning).",
    "trimSpaceInChar": "Y (default, as DMS): trim trailing spaces of char and nchar values when reading.",
    "snapshotIsolation": "Y: read each table under SNAPSHOT isolation (the database must have "
                         "ALLOW_SNAPSHOT_ISOLATION ON).",
    "useBcpFullLoad": "Accepted for DMS compatibility; bulk loads always use parameter arrays "
                      "(fast_executemany) or multi-row INSERT, never bcp.",
    "executeTimeout": "Seconds a catalog or control statement may run before it is cancelled (default 60; 0: none).",
    "controlTablesFileGroup": "Target: the filegroup the control tables (awsdms_*) are created on (default: the "
                              "database's default filegroup).",
    "authenticationMethod": "password (the default, SQL Server authentication); kerberos is not supported.",
    "odbcDriver": "The ODBC driver to use (a name from odbcinst.ini or a library path) instead of the automatic "
                  "choice: ODBC Driver 18/17 for SQL Server, else FreeTDS.",
})

SAFEGUARD_ACCEPTED = "RELY_ON_SQL_SERVER_REPLICATION_AGENT"
DEFAULT_POLLING_SECONDS = 5.0
DEFAULT_EXECUTE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Settings:
    multi_subnet_failover: bool = False
    read_only_intent: bool = False
    set_up_cdc: bool = False
    polling_interval: float = DEFAULT_POLLING_SECONDS
    fatal_on_simple_model: bool = False
    trim_space_in_char: bool = True
    snapshot_isolation: bool = False
    execute_timeout: float = DEFAULT_EXECUTE_TIMEOUT
    odbc_driver: str | None = None
    control_filegroup: str | None = None


def settings(conn: ConnectionInfo) -> Settings:
    """Read and check the endpoint's attributes; a refused or malformed one raises CONFIGURATION/UNSUPPORTED."""
    _refuse_log_backups(conn)
    _check_safeguard(conn)
    _check_authentication(conn)
    return Settings(
        multi_subnet_failover=conn.flag("multiSubnetFailover"),
        read_only_intent=_intent(conn),
        set_up_cdc=conn.flag("setUpMsCdcForTables"),
        polling_interval=_number(conn, "pollingInterval", DEFAULT_POLLING_SECONDS, minimum=0.1),
        fatal_on_simple_model=conn.flag("fatalOnSimpleModel"),
        trim_space_in_char=conn.flag("trimSpaceInChar", default=True),
        snapshot_isolation=conn.flag("snapshotIsolation"),
        execute_timeout=_number(conn, "executeTimeout", DEFAULT_EXECUTE_TIMEOUT, minimum=0),
        odbc_driver=(conn.attr("odbcDriver") or "").strip() or None,
        control_filegroup=(conn.attr("controlTablesFileGroup") or "").strip() or None,
    )


def _refuse_log_backups(conn: ConnectionInfo) -> None:
    if conn.flag("readBackupOnly"):
        raise EngineError("Extra connection attribute readBackupOnly=Y is not supported: this engine reads "
                          "changes from MS-CDC change tables, which the capture job fills from the active log, "
                          "never from log backups. Remove the attribute (or set it to N).",
                          kind=ErrorKind.UNSUPPORTED)
    mode = (conn.attr("tlogAccessMode") or "PreferTlog").strip()
    if mode.lower() in {"preferbackup", "backuponly"}:
        raise EngineError(f"Extra connection attribute tlogAccessMode={mode} is not supported: MS-CDC reads the "
                          "active transaction log, not log backups. Use PreferTlog or TlogOnly.",
                          kind=ErrorKind.UNSUPPORTED)
    if mode.lower() not in {"prefertlog", "tlogonly"}:
        raise EngineError(f"Extra connection attribute tlogAccessMode={mode!r} is not valid: use PreferTlog or "
                          "TlogOnly.", kind=ErrorKind.CONFIGURATION)


def _check_safeguard(conn: ConnectionInfo) -> None:
    policy = (conn.attr("safeguardPolicy") or SAFEGUARD_ACCEPTED).strip()
    if policy.upper().replace("-", "_") == SAFEGUARD_ACCEPTED:
        return
    if policy.upper().replace("-", "_") == "EXCLUSIVE_AUTOMATIC_TRUNCATION":
        raise EngineError("Extra connection attribute safeguardPolicy=EXCLUSIVE_AUTOMATIC_TRUNCATION is not "
                          "supported: it marks the log as read with sp_repldone, which would break the MS-CDC "
                          "capture job this engine relies on. Remove it or use "
                          "RELY_ON_SQL_SERVER_REPLICATION_AGENT.", kind=ErrorKind.UNSUPPORTED)
    raise EngineError(f"Extra connection attribute safeguardPolicy={policy!r} is not valid: use "
                      f"{SAFEGUARD_ACCEPTED}.", kind=ErrorKind.CONFIGURATION)


def _check_authentication(conn: ConnectionInfo) -> None:
    method = (conn.attr("authenticationMethod") or "password").strip().lower()
    if method == "kerberos":
        raise EngineError("Extra connection attribute authenticationMethod=kerberos is not supported: this engine "
                          "logs in with SQL Server authentication. Use a SQL Server login and password.",
                          kind=ErrorKind.UNSUPPORTED)
    if method != "password":
        raise EngineError(f"Extra connection attribute authenticationMethod={method!r} is not valid: use password.",
                          kind=ErrorKind.CONFIGURATION)


def _intent(conn: ConnectionInfo) -> bool:
    value = (conn.attr("applicationIntent") or "ReadWrite").strip().lower()
    if value not in {"readonly", "readwrite"}:
        raise EngineError(f"Extra connection attribute applicationIntent={value!r} is not valid: use ReadOnly "
                          "or ReadWrite.", kind=ErrorKind.CONFIGURATION)
    return value == "readonly"


def _number(conn: ConnectionInfo, name: str, default: float, *, minimum: float) -> float:
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
