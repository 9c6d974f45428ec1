"""The applier's rows in the control tables: checkpoint, per-table states, apply exceptions.

Every statement runs in the caller's open transaction: the checkpoint and table states
commit or vanish together with the changes they describe, and an exception row commits
with the group it was found in (a group that is rolled back and replayed logs it again).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import psycopg
from psycopg import sql

from ..base import TableSyncState
from ..checkpoints import commit_position, naive_utc
from .control import APPLY_EXCEPTIONS, TABLE_STATE, TXN_STATE

_NOW = sql.SQL("(clock_timestamp() AT TIME ZONE 'UTC')")
# awsdms_apply_exceptions and awsdms_table_state have DMS's name widths.
_TASK_NAME_MAX = 128
_NAME_MAX = 128


def _table(schema: str, name: str) -> sql.Identifier:
    return sql.Identifier(schema, name)


def save_checkpoint(conn: psycopg.Connection, schema: str, task_id: str, checkpoint: str,
                    commit_time: datetime | None) -> None:
    statement = sql.SQL(
        "INSERT INTO {} (task_name, checkpoint, commit_position, commit_time, updated_at) VALUES (%s, %s, %s, %s, {}) "
        "ON CONFLICT (task_name) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, "
        "commit_position = EXCLUDED.commit_position, commit_time = coalesce(EXCLUDED.commit_time, {}.commit_time), "
        "updated_at = EXCLUDED.updated_at").format(_table(schema, TXN_STATE), _NOW, sql.Identifier(TXN_STATE))
    conn.execute(statement, (task_id, checkpoint, commit_position(checkpoint), naive_utc(commit_time)))


def save_tables(conn: psycopg.Connection, schema: str, task_id: str,
                tables: Mapping[tuple[str, str], TableSyncState]) -> None:
    if not tables:
        return
    statement = sql.SQL(
        "INSERT INTO {} (task_name, table_owner, table_name, state, snapshot_position, applied_position, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, {}) ON CONFLICT (task_name, table_owner, table_name) DO UPDATE SET "
        "state = EXCLUDED.state, snapshot_position = EXCLUDED.snapshot_position, "
        "applied_position = EXCLUDED.applied_position, updated_at = EXCLUDED.updated_at").format(
        _table(schema, TABLE_STATE), _NOW)
    rows = [(task_id, owner, name, s.state, s.snapshot_position, s.applied_position)
            for (owner, name), s in tables.items()]
    with conn.cursor() as cur:
        cur.executemany(statement, rows)


def load_state(conn: psycopg.Connection, schema: str, task_id: str
               ) -> tuple[str | None, dict[tuple[str, str], TableSyncState]]:
    row = conn.execute(sql.SQL("SELECT checkpoint FROM {} WHERE task_name = %s").format(_table(schema, TXN_STATE)),
                       (task_id,)).fetchone()
    tables = conn.execute(sql.SQL(
        "SELECT table_owner, table_name, state, snapshot_position, applied_position FROM {} WHERE task_name = %s "
        "ORDER BY table_owner, table_name").format(_table(schema, TABLE_STATE)), (task_id,)).fetchall()
    states = {(owner, name): TableSyncState(state=state, snapshot_position=snap, applied_position=applied)
              for owner, name, state, snap, applied in tables}
    return (row[0] if row else None), states


def log_exception(conn: psycopg.Connection, schema: str, task_id: str, owner: str, table: str, statement: str,
                  error: str) -> None:
    conn.execute(sql.SQL(
        "INSERT INTO {} (task_name, table_owner, table_name, error_time, statement, error) "
        "VALUES (%s, %s, %s, {}, %s, %s)").format(_table(schema, APPLY_EXCEPTIONS), _NOW),
        (task_id[:_TASK_NAME_MAX], owner[:_NAME_MAX], table[:_NAME_MAX], statement, error))
