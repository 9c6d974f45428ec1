"""The applier's rows in the control tables: checkpoint, per-table states, apply exceptions.

Every statement runs in the caller's open transaction: the checkpoint and table states
commit or vanish together with the changes they describe, and an exception row commits
with the group it was found in (a group that is rolled back and replayed logs it again).
Times are UTC (the session's time zone is +00:00).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pymysql.connections import Connection

from ..base import TableSyncState
from ..checkpoints import commit_position, naive_utc
from .control import APPLY_EXCEPTIONS, TABLE_STATE, TXN_STATE
from .sqltext import qualified, quote

_NOW = "UTC_TIMESTAMP(6)"
# awsdms_apply_exceptions has DMS's name widths.
_NAME_MAX = 128


def _updates(columns: tuple[str, ...], row_alias: bool) -> str:
    if row_alias:
        return ", ".join(f"{quote(c)} = `awsdms_new`.{quote(c)}" for c in columns)
    return ", ".join(f"{quote(c)} = VALUES({quote(c)})" for c in columns)


def save_checkpoint(raw: Connection, schema: str, task_id: str, checkpoint: str, commit_time: datetime | None,
                    *, row_alias: bool) -> None:
    alias = " AS `awsdms_new`" if row_alias else ""
    new_time = "`awsdms_new`.`COMMIT_TIME`" if row_alias else "VALUES(`COMMIT_TIME`)"
    statement = (
        f"INSERT INTO {qualified(schema, TXN_STATE)} (`TASK_NAME`, `CHECKPOINT`, `COMMIT_POSITION`, `COMMIT_TIME`, "  # noqa: S608 - names quoted
        f"`UPDATED_AT`) VALUES (%s, %s, %s, %s, {_NOW}){alias} ON DUPLICATE KEY UPDATE "
        f"{_updates(('CHECKPOINT', 'COMMIT_POSITION', 'UPDATED_AT'), row_alias)}, "
        f"`COMMIT_TIME` = COALESCE({new_time}, `COMMIT_TIME`)")
    with raw.cursor() as cursor:
        cursor.execute(statement, (task_id, checkpoint, commit_position(checkpoint), naive_utc(commit_time)))


def save_tables(raw: Connection, schema: str, task_id: str, tables: Mapping[tuple[str, str], TableSyncState],
                *, row_alias: bool) -> None:
    if not tables:
        return
    alias = " AS `awsdms_new`" if row_alias else ""
    values = ", ".join([f"(%s, %s, %s, %s, %s, %s, {_NOW})"] * len(tables))
    statement = (
        f"INSERT INTO {qualified(schema, TABLE_STATE)} (`TASK_NAME`, `TABLE_OWNER`, `TABLE_NAME`, `STATE`, "  # noqa: S608 - names quoted
        f"`SNAPSHOT_POSITION`, `APPLIED_POSITION`, `UPDATED_AT`) VALUES {values}{alias} ON DUPLICATE KEY UPDATE "
        f"{_updates(('STATE', 'SNAPSHOT_POSITION', 'APPLIED_POSITION', 'UPDATED_AT'), row_alias)}")
    params: list = []
    for (owner, name), state in tables.items():
        params += [task_id, owner, name, state.state, state.snapshot_position, state.applied_position]
    with raw.cursor() as cursor:
        cursor.execute(statement, params)


def load_state(raw: Connection, schema: str, task_id: str) -> tuple[str | None, dict[tuple[str, str], TableSyncState]]:
    with raw.cursor() as cursor:
        cursor.execute(f"SELECT `CHECKPOINT` FROM {qualified(schema, TXN_STATE)} WHERE `TASK_NAME` = %s", (task_id,))  # noqa: S608 - names quoted
        row = cursor.fetchone()
        cursor.execute(f"SELECT `TABLE_OWNER`, `TABLE_NAME`, `STATE`, `SNAPSHOT_POSITION`, `APPLIED_POSITION` "  # noqa: S608 - names quoted
                       f"FROM {qualified(schema, TABLE_STATE)} WHERE `TASK_NAME` = %s "
                       "ORDER BY `TABLE_OWNER`, `TABLE_NAME`", (task_id,))
        tables = cursor.fetchall()
    states = {(owner, name): TableSyncState(state=state, snapshot_position=snap, applied_position=applied)
              for owner, name, state, snap, applied in tables}
    return (row[0] if row else None), states


def log_exception(raw: Connection, schema: str, task_id: str, owner: str, table: str, statement: str,
                  error: str) -> None:
    with raw.cursor() as cursor:
        cursor.execute(f"INSERT INTO {qualified(schema, APPLY_EXCEPTIONS)} (`TASK_NAME`, `TABLE_OWNER`, `TABLE_NAME`, "  # noqa: S608 - names quoted
                       f"`ERROR_TIME`, `STATEMENT`, `ERROR`) VALUES (%s, %s, %s, {_NOW}, %s, %s)",
                       (task_id[:_NAME_MAX], owner[:_NAME_MAX], table[:_NAME_MAX], statement, error))
