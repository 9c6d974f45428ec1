"""Target tables on MySQL/MariaDB: database, CREATE TABLE as DMS makes it, deferred keys.

DMS creates the columns, NOT NULL (never on LOB columns) and the primary key, or a
unique index when the source had none; InnoDB, utf8mb4. Two MySQL limits shape the
DDL beyond the planned types:
- an index holds at most 3072 bytes, and TEXT/BLOB columns cannot be indexed whole:
  key columns of those types become VARCHAR/VARBINARY sized to share the 3072 bytes
  (a longer value then fails loudly, never silently);
- a row holds at most 65,535 bytes outside TEXT/BLOB: when the planned VARCHAR and
  VARBINARY columns would pass it, the widest non-key ones become MEDIUMTEXT/MEDIUMBLOB.
Text key columns use a binary no-pad collation, so keys that differ only in case or
trailing spaces (distinct in PostgreSQL and SQL Server) stay distinct.
"""

from __future__ import annotations

import logging
import re

from pymysql.connections import Connection

from ..conninfo import ConnectionInfo
from ..plan import PrepMode, TablePlan
from .attributes import specific_database
from .connection import is_mariadb, server_version
from .sqltext import column_list, qualified, quote

log = logging.getLogger(__name__)

INDEX_MAX_BYTES = 3072
ROW_MAX_BYTES = 65535
KEY_INDEX_NAME = "awsdms_key"
_TYPE = re.compile(r"^\s*([a-z]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+))?\s*\))?", re.IGNORECASE)
_TEXT_NAMES = {"text", "tinytext", "mediumtext", "longtext", "json"}
_BLOB_NAMES = {"blob", "tinyblob", "mediumblob", "longblob"}
_FIXED_BYTES = {"tinyint": 1, "smallint": 2, "mediumint": 3, "int": 4, "integer": 4, "bigint": 8, "float": 4,
                "double": 8, "real": 8, "date": 3, "time": 6, "datetime": 8, "timestamp": 7, "year": 1,
                "boolean": 1, "bool": 1, "bit": 8, "enum": 2, "set": 8, "decimal": 30, "numeric": 30}
_LOB_POINTER_BYTES = 12


def target_database(conn: ConnectionInfo, plan: TablePlan) -> str:
    """targetDbType=specific-database puts every table in the endpoint's database."""
    if conn.database and specific_database(conn):
        return conn.database
    return plan.target_schema


def prepare_table(raw: Connection, database: str, plan: TablePlan, mode: PrepMode, *, create_key: bool) -> None:
    table = qualified(database, plan.target_table)
    with raw.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote(database)} CHARACTER SET utf8mb4", ())
        if mode is PrepMode.DROP_AND_CREATE:
            cursor.execute(f"DROP TABLE IF EXISTS {table}", ())
        cursor.execute(create_table_sql(plan, database, create_key=create_key, bin_collation=bin_collation(raw)), ())
        if mode is PrepMode.TRUNCATE_BEFORE_LOAD:
            cursor.execute(f"TRUNCATE TABLE {table}", ())


def create_table_sql(plan: TablePlan, database: str, *, create_key: bool, bin_collation: str) -> str:
    """CREATE TABLE IF NOT EXISTS with the planned columns and, when asked, the key."""
    types = column_types(plan)
    key = set(plan.key)
    lines = []
    for column, native in zip(plan.columns, types, strict=True):
        line = f"{quote(column.name)} {native}"
        if column.name in key and _base(native) in ("varchar", "char"):
            line += f" COLLATE {bin_collation}"
        if not column.nullable and not column.dms_type.is_lob:
            line += " NOT NULL"
        lines.append(line)
    if create_key and plan.key:
        lines.append(key_clause(plan))
    body = ",\n  ".join(lines)
    return (f"CREATE TABLE IF NOT EXISTS {qualified(database, plan.target_table)} (\n  {body}\n) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")


def key_clause(plan: TablePlan) -> str:
    if plan.key_origin == "primary-key":
        return f"PRIMARY KEY ({column_list(plan.key)})"
    return f"UNIQUE KEY {quote(KEY_INDEX_NAME)} ({column_list(plan.key)})"


def finish_table(raw: Connection, database: str, plan: TablePlan) -> None:
    """Add the planned key when the table does not have it yet (CreatePkAfterFullLoad)."""
    if not plan.key or _has_key(raw, database, plan):
        return
    with raw.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {qualified(database, plan.target_table)} ADD {key_clause(plan)}", ())


def _has_key(raw: Connection, database: str, plan: TablePlan) -> bool:
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR '\\n') "
            "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND NON_UNIQUE = 0 "
            "GROUP BY INDEX_NAME", (database, plan.target_table))
        return any(columns == "\n".join(plan.key) for _name, columns in cursor.fetchall())


def bin_collation(raw: Connection) -> str:
    """A binary collation without trailing-space padding, where the server has one."""
    if is_mariadb(raw):
        return "utf8mb4_nopad_bin"
    return "utf8mb4_0900_bin" if server_version(raw) >= (8, 0) else "utf8mb4_bin"


# ---- fitting the planned types into MySQL's limits ----------------------------------------------

def column_types(plan: TablePlan) -> list[str]:
    types = [c.target_type for c in plan.columns]
    key_index = [i for i, c in enumerate(plan.columns) if c.name in set(plan.key)]
    if key_index:
        share = INDEX_MAX_BYTES // len(key_index)
        for i in key_index:
            types[i] = _indexable(types[i], share)
    _fit_row(plan, types, set(key_index))
    return types


def _base(native: str) -> str:
    match = _TYPE.match(native)
    return match.group(1).lower() if match else native.strip().lower()


def _length(native: str) -> int | None:
    match = _TYPE.match(native)
    return int(match.group(2)) if match and match.group(2) else None


def _indexable(native: str, share: int) -> str:
    base, length = _base(native), _length(native)
    chars = share // 4
    if base in _TEXT_NAMES or (base in ("varchar", "char") and (length or 0) > chars):
        return f"VARCHAR({chars})"
    if base in _BLOB_NAMES or (base in ("varbinary", "binary") and (length or 0) > share):
        return f"VARBINARY({share})"
    return native


def _row_bytes(native: str) -> int:
    base, length = _base(native), _length(native) or 1
    if base in ("varchar", "char"):
        return 4 * length + 2
    if base in ("varbinary", "binary"):
        return length + 2
    if base in _TEXT_NAMES or base in _BLOB_NAMES:
        return _LOB_POINTER_BYTES
    return _FIXED_BYTES.get(base, 8)


def _fit_row(plan: TablePlan, types: list[str], keys: set[int]) -> None:
    total = sum(_row_bytes(t) for t in types)
    while total > ROW_MAX_BYTES:
        candidates = [i for i, t in enumerate(types)
                      if i not in keys and _base(t) in ("varchar", "varbinary", "char", "binary")]
        if not candidates:
            return  # nothing left to move off the row: MySQL will say what is wrong
        widest = max(candidates, key=lambda i: _row_bytes(types[i]))
        wider = "MEDIUMTEXT" if _base(types[widest]) in ("varchar", "char") else "MEDIUMBLOB"
        log.warning("Table %s.%s: column %s %s becomes %s so the row fits MySQL's 65,535-byte limit",
                    plan.target_schema, plan.target_table, plan.columns[widest].name, types[widest], wider)
        total -= _row_bytes(types[widest]) - _LOB_POINTER_BYTES
        types[widest] = wider
