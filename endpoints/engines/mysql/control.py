"""DMS control tables on a MySQL/MariaDB target (ControlTablesSettings; default schema awsdms_control).

Column names are DMS's own (TASK_NAME, ...). `awsdms_txn_state` is our checkpoint table:
the applier writes the last applied source position there in the same transaction as
the changes it covers; `awsdms_table_state` holds each table's state and positions,
written in the same transactions (apply_state.py).
"""

from __future__ import annotations

from pymysql.connections import Connection

from .sqltext import qualified, quote

DEFAULT_CONTROL_SCHEMA = "awsdms_control"
APPLY_EXCEPTIONS = "awsdms_apply_exceptions"
STATUS = "awsdms_status"
SUSPENDED_TABLES = "awsdms_suspended_tables"
HISTORY = "awsdms_history"
TXN_STATE = "awsdms_txn_state"
TABLE_STATE = "awsdms_table_state"  # ours too: each table's load and apply progress, committed with its data

# table -> ((column, type), ...), primary key columns
CONTROL_TABLES: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    APPLY_EXCEPTIONS: ((
        ("TASK_NAME", "VARCHAR(128) NOT NULL"),
        ("TABLE_OWNER", "VARCHAR(128) NOT NULL"),
        ("TABLE_NAME", "VARCHAR(128) NOT NULL"),
        ("ERROR_TIME", "DATETIME(6) NOT NULL"),
        ("STATEMENT", "LONGTEXT NOT NULL"),
        ("ERROR", "LONGTEXT NOT NULL"),
    ), ()),
    STATUS: ((
        ("SERVER_NAME", "VARCHAR(128) NOT NULL"),
        ("TASK_NAME", "VARCHAR(128) NOT NULL"),
        ("TASK_STATUS", "VARCHAR(32)"),
        ("STATUS_TIME", "DATETIME(6)"),
        ("PENDING_CHANGES", "BIGINT"),
        ("DISK_SWAP_SIZE", "BIGINT"),
        ("TASK_MEMORY", "BIGINT"),
        ("SOURCE_CURRENT_POSITION", "VARCHAR(128)"),
        ("SOURCE_CURRENT_TIMESTAMP", "DATETIME(6)"),
        ("SOURCE_TAIL_POSITION", "VARCHAR(128)"),
        ("SOURCE_TAIL_TIMESTAMP", "DATETIME(6)"),
        ("SOURCE_TIMESTAMP_APPLIED", "DATETIME(6)"),
    ), ("SERVER_NAME", "TASK_NAME")),
    SUSPENDED_TABLES: ((
        ("SERVER_NAME", "VARCHAR(128) NOT NULL"),
        ("TASK_NAME", "VARCHAR(128) NOT NULL"),
        ("TABLE_OWNER", "VARCHAR(128) NOT NULL"),
        ("TABLE_NAME", "VARCHAR(128) NOT NULL"),
        ("SUSPEND_REASON", "VARCHAR(1024)"),
        ("SUSPEND_TIMESTAMP", "DATETIME(6)"),
    ), ("SERVER_NAME", "TASK_NAME", "TABLE_OWNER", "TABLE_NAME")),
    HISTORY: ((
        ("SERVER_NAME", "VARCHAR(128) NOT NULL"),
        ("TASK_NAME", "VARCHAR(128) NOT NULL"),
        ("TIMESLOT_TYPE", "VARCHAR(32) NOT NULL"),
        ("TIMESLOT", "DATETIME(6) NOT NULL"),
        ("TIMESLOT_DURATION", "BIGINT"),
        ("TIMESLOT_LATENCY", "BIGINT"),
        ("RECORDS", "BIGINT"),
        ("TIMESLOT_VOLUME", "BIGINT"),
    ), ("SERVER_NAME", "TASK_NAME", "TIMESLOT_TYPE", "TIMESLOT")),
    TXN_STATE: ((
        ("TASK_NAME", "VARCHAR(255) NOT NULL"),
        ("CHECKPOINT", "TEXT NOT NULL"),
        ("COMMIT_POSITION", "TEXT"),
        ("COMMIT_TIME", "DATETIME(6)"),
        ("UPDATED_AT", "DATETIME(6) NOT NULL"),
    ), ("TASK_NAME",)),
}


# Created by the applier (CDC tasks), next to the DMS control tables.
APPLIER_TABLES: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    # 3 x 255 utf8mb4 characters is 3,060 bytes: the key fits InnoDB's 3,072-byte index limit.
    TABLE_STATE: ((
        ("TASK_NAME", "VARCHAR(255) NOT NULL"),
        ("TABLE_OWNER", "VARCHAR(255) NOT NULL"),
        ("TABLE_NAME", "VARCHAR(255) NOT NULL"),
        ("STATE", "VARCHAR(32) NOT NULL"),
        ("SNAPSHOT_POSITION", "TEXT"),
        ("APPLIED_POSITION", "TEXT"),
        ("UPDATED_AT", "DATETIME(6) NOT NULL"),
    ), ("TASK_NAME", "TABLE_OWNER", "TABLE_NAME")),
}


def ensure_applier_tables(raw: Connection, schema: str = DEFAULT_CONTROL_SCHEMA) -> None:
    """The control tables plus the applier's own (awsdms_table_state); existing ones are left alone."""
    ensure_control_tables(raw, schema)
    with raw.cursor() as cursor:
        for table, (columns, key) in APPLIER_TABLES.items():
            cursor.execute(_create_sql(schema, table, columns, key), ())


def ensure_control_tables(raw: Connection, schema: str = DEFAULT_CONTROL_SCHEMA) -> None:
    """Create the control database and any missing control table; existing ones are left as they are."""
    with raw.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote(schema)} CHARACTER SET utf8mb4", ())
        for table in CONTROL_TABLES:
            cursor.execute(control_table_sql(schema, table), ())


def control_table_sql(schema: str, table: str) -> str:
    columns, key = CONTROL_TABLES[table]
    return _create_sql(schema, table, columns, key)


def _create_sql(schema: str, table: str, columns: tuple[tuple[str, str], ...], key: tuple[str, ...]) -> str:
    lines = [f"{quote(name)} {kind}" for name, kind in columns]
    if key:
        lines.append(f"PRIMARY KEY ({', '.join(quote(k) for k in key)})")
    return (f"CREATE TABLE IF NOT EXISTS {qualified(schema, table)} (\n  " + ",\n  ".join(lines)
            + "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
