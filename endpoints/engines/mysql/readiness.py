"""Is a MySQL/MariaDB source ready for change data capture? Warnings a DBA can act on.

DMS needs row-based binary logging with full row images, a server id, and a user
allowed to read the binary log. MariaDB 10.5.2 renamed REPLICATION CLIENT to
BINLOG MONITOR (SHOW GRANTS prints the new name), so the grant to run differs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pymysql.connections import Connection

from .connection import is_mariadb, server_version
from .sqlfiles import sql

_GLOBAL_GRANT = re.compile(r"^GRANT (.+?) ON \*\.\* TO ", re.IGNORECASE)
_MIN_RETENTION_SECONDS = 24 * 3600


def cdc_warnings(raw: Connection) -> list[str]:
    """Everything that stands between this server and binlog CDC, one warning each."""
    with raw.cursor() as cursor:
        cursor.execute(sql("server_variables"))
        settings = {name.lower(): str(value) for name, value in cursor.fetchall()}
    return cdc_setting_warnings(settings) + _privilege_warnings(raw)


def target_warnings(raw: Connection) -> list[str]:
    """What makes this server a slower or failing full-load target."""
    with raw.cursor() as cursor:
        cursor.execute("SHOW GLOBAL VARIABLES WHERE Variable_name = 'local_infile'")
        settings = {name.lower(): str(value) for name, value in cursor.fetchall()}
    return target_setting_warnings(settings)


def target_setting_warnings(settings: dict[str, str]) -> list[str]:
    if settings.get("local_infile", "ON").upper() in {"OFF", "0"}:
        return ["local_infile=OFF: full loads will use multi-row INSERT, about half as fast as LOAD DATA LOCAL. "
                "Set local_infile=ON (SET GLOBAL local_infile=ON and in my.cnf) to load faster."]
    return []


def cdc_setting_warnings(settings: dict[str, str]) -> list[str]:
    warnings = []
    if settings.get("log_bin", "OFF").upper() not in {"ON", "1"}:
        warnings.append("Binary logging is off (log_bin=OFF): CDC reads the binary log. Start the server with "
                        "log_bin (e.g. log_bin=mysql-bin in my.cnf) and restart it.")
    wanted = (("binlog_format", "ROW", "STATEMENT or MIXED logging loses row values"),
              ("binlog_row_image", "FULL", "other images leave columns out of updates and deletes"),
              ("binlog_row_metadata", "FULL", "without it rows arrive without column names"))
    for name, value, why in wanted:
        have = settings.get(name)
        if have is not None and have.upper() != value:
            warnings.append(f"{name}={have}: CDC needs {name}={value} ({why}). Set it in my.cnf (or "
                            f"SET GLOBAL {name}='{value}') and restart the server or reconnect clients.")
    if int(settings.get("server_id", "0") or 0) < 1:
        warnings.append("server_id=0: CDC needs a server id of at least 1. Set server_id in my.cnf and restart.")
    retention = _retention_seconds(settings)
    if retention and retention < _MIN_RETENTION_SECONDS:
        warnings.append(f"Binary logs are kept only {retention // 3600} h: keep them at least 24 h "
                        "(binlog_expire_logs_seconds=86400 or more) so a stopped task can resume.")
    return warnings


def _retention_seconds(settings: dict[str, str]) -> int:
    seconds = int(float(settings.get("binlog_expire_logs_seconds", "0") or 0))
    if not seconds:
        seconds = int(float(settings.get("expire_logs_days", "0") or 0) * 86400)
    return seconds


def required_privileges(raw: Connection) -> tuple[str, ...]:
    if is_mariadb(raw) and server_version(raw) >= (10, 5, 2):
        return ("REPLICATION SLAVE", "BINLOG MONITOR")
    return ("REPLICATION SLAVE", "REPLICATION CLIENT")


def _privilege_warnings(raw: Connection) -> list[str]:
    with raw.cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER()")
        account = cursor.fetchone()[0]
        cursor.execute("SHOW GRANTS")
        granted = global_privileges(row[0] for row in cursor.fetchall())
    if "ALL PRIVILEGES" in granted:
        return []
    if not is_mariadb(raw) and "SUPER" in granted:
        granted.add("REPLICATION CLIENT")  # MySQL's SUPER covers the binlog status statements
    missing = [p for p in required_privileges(raw) if p not in granted]
    if not missing:
        return []
    user, _, host = account.rpartition("@")
    grantee = f"{_literal(user)}@{_literal(host)}"
    return [f"User {grantee} lacks {' and '.join(missing)}: CDC cannot read the binary log. Run: "
            f"GRANT {', '.join(missing)} ON *.* TO {grantee};"]


def global_privileges(grant_lines: Iterable[str]) -> set[str]:
    """Privileges granted ON *.* in SHOW GRANTS output (the password hash is never looked at)."""
    privileges: set[str] = set()
    for line in grant_lines:
        match = _GLOBAL_GRANT.match(line)
        if match:
            privileges.update(p.strip().upper() for p in match.group(1).split(","))
    return privileges


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
