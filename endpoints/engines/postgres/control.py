"""DMS control tables on a PostgreSQL target (ControlTablesSettings; default schema public).

Column names are PostgreSQL's lower-case spelling of DMS's (TASK_NAME -> task_name), so
unquoted SQL written for DMS (SELECT TASK_NAME FROM awsdms_apply_exceptions) works as is.
`awsdms_txn_state` is our checkpoint table: the applier writes the last applied source
position there in the same transaction as the changes it covers, and each table's
progress in `awsdms_table_state`.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from ..conninfo import ConnectionInfo
from .connection import connect, translate_error

APPLY_EXCEPTIONS = "awsdms_apply_exceptions"
STATUS = "awsdms_status"
SUSPENDED_TABLES = "awsdms_suspended_tables"
HISTORY = "awsdms_history"
TXN_STATE = "awsdms_txn_state"
TABLE_STATE = "awsdms_table_state"

# table -> ((column, type), ...), primary key columns
CONTROL_TABLES: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    APPLY_EXCEPTIONS: ((
        ("task_name", "character varying(128) NOT NULL"),
        ("table_owner", "character varying(128) NOT NULL"),
        ("table_name", "character varying(128) NOT NULL"),
        ("error_time", "timestamp without time zone NOT NULL"),
        ("statement", "text NOT NULL"),
        ("error", "text NOT NULL"),
    ), ()),
    STATUS: ((
        ("server_name", "character varying(128) NOT NULL"),
        ("task_name", "character varying(128) NOT NULL"),
        ("task_status", "character varying(32)"),
        ("status_time", "timestamp without time zone"),
        ("pending_changes", "bigint"),
        ("disk_swap_size", "bigint"),
        ("task_memory", "bigint"),
        ("source_current_position", "character varying(128)"),
        ("source_current_timestamp", "timestamp without time zone"),
        ("source_tail_position", "character varying(128)"),
        ("source_tail_timestamp", "timestamp without time zone"),
        ("source_timestamp_applied", "timestamp without time zone"),
    ), ("server_name", "task_name")),
    SUSPENDED_TABLES: ((
        ("server_name", "character varying(128) NOT NULL"),
        ("task_name", "character varying(128) NOT NULL"),
        ("table_owner", "character varying(128) NOT NULL"),
        ("table_name", "character varying(128) NOT NULL"),
        ("suspend_reason", "character varying(1024)"),
        ("suspend_timestamp", "timestamp without time zone"),
    ), ("server_name", "task_name", "table_owner", "table_name")),
    HISTORY: ((
        ("server_name", "character varying(128) NOT NULL"),
        ("task_name", "character varying(128) NOT NULL"),
        ("timeslot_type", "character varying(32) NOT NULL"),
        ("timeslot", "timestamp without time zone NOT NULL"),
        ("timeslot_duration", "bigint"),
        ("timeslot_latency", "bigint"),
        ("records", "bigint"),
        ("timeslot_volume", "bigint"),
    ), ("server_name", "task_name", "timeslot_type", "timeslot")),
    TXN_STATE: ((
        ("task_name", "character varying(255) NOT NULL"),
        ("checkpoint", "text NOT NULL"),
        ("commit_position", "text"),
        ("commit_time", "timestamp without time zone"),
        ("updated_at", "timestamp without time zone NOT NULL"),
    ), ("task_name",)),
    # Per-table progress (loading, loaded, replicating and the positions they cover), written in the
    # same transaction as awsdms_txn_state and the data.
    TABLE_STATE: ((
        ("task_name", "character varying(255) NOT NULL"),
        ("table_owner", "character varying(255) NOT NULL"),
        ("table_name", "character varying(255) NOT NULL"),
        ("state", "character varying(32) NOT NULL"),
        ("snapshot_position", "text"),
        ("applied_position", "text"),
        ("updated_at", "timestamp without time zone NOT NULL"),
    ), ("task_name", "table_owner", "table_name")),
}


def ensure_control_tables(target: psycopg.Connection | ConnectionInfo | object, schema: str = "public") -> None:
    """Create the control schema and any missing control table; existing tables are left as they are.

    `target` is an open connection (used in its current transaction, not committed here), an
    endpoint's ConnectionInfo, or an engine with a `conn` ConnectionInfo.
    """
    if isinstance(target, psycopg.Connection):
        _create_all(target, schema or "public")
        return
    conninfo = target if isinstance(target, ConnectionInfo) else target.conn  # type: ignore[attr-defined]
    try:
        with connect(conninfo, timeout=30) as conn, conn.transaction():
            _create_all(conn, schema or "public")
    except psycopg.Error as exc:
        raise translate_error(exc, conninfo, doing=f"creating the control tables in schema {schema}") from None


def _create_all(conn: psycopg.Connection, schema: str) -> None:
    # Two tasks starting together would race on CREATE ... IF NOT EXISTS; serialise them per schema.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('awsdms_control:' || %s))", (schema,))
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    for table, (columns, key) in CONTROL_TABLES.items():
        parts = [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in columns]
        if key:
            parts.append(sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(sql.Identifier(c) for c in key)))
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
            sql.Identifier(schema, table), sql.SQL(", ").join(parts)))
