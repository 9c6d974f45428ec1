"""SqlServerApplier: the Applier primitives on one pyodbc connection.

Transactions are explicit T-SQL (BEGIN/COMMIT/ROLLBACK TRANSACTION on an autocommit
connection) so that SAVE TRANSACTION always has a transaction to mark, whichever driver
runs it. XACT_ABORT stays OFF: a refused row then ends only its own statement, and
rolling back to the savepoint keeps the rest of the group.

Row changes go as batches of the round-1 statements (statements.batch): up to
BATCH_STATEMENTS UPDATE/DELETE/MERGE statements per round trip, each adding its
@@ROWCOUNT to one total, so update() and delete() say how many rows they found. Plain
inserts take the loader's path: parameter arrays (fast_executemany) with Microsoft's
driver, multi-row INSERTs with FreeTDS. Values the source did not send (UNCHANGED) are
left out of the statement: an UPDATE does not set them, an INSERT lets the target's
default fill them. Target identity columns get IDENTITY_INSERT around inserts and are
never SET by an update (SQL Server refuses to update an identity column).

Errors come out as EngineError: DUPLICATE for a unique-key violation (2627, 2601), DATA
for other refused values, CONNECTION_LOST when the connection drops (see errors.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from itertools import groupby
from typing import Any

from ..base import UNCHANGED, Applier, TableSyncState, TargetChange
from ..checkpoints import commit_position
from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from ..plan import ColumnPlan, TablePlan
from .connection import _pyodbc
from .ddl import control_table_statements
from .errors import translate
from .load import identity_columns, input_sizes, write_rows
from .statements import (
    add_column_statement,
    apply_exception_insert,
    batch,
    checkpoint_select,
    checkpoint_upsert,
    delete_statement,
    drop_column_statement,
    identity_insert,
    keyless_delete_statement,
    keyless_update_statement,
    statements_per_batch,
    table_state_select,
    table_state_upsert,
    truncate_statement,
    update_statement,
    upsert_statement,
)
from .values import for_sqlserver

# Row statements per round trip. 100 keeps a batch's text and compile time small while cutting round
# trips a hundredfold (not measured: no server here); the 2100-parameter limit may lower it.
BATCH_STATEMENTS = 100
SAVEPOINT = "[dms_savepoint]"
SESSION_SETUP = "SET XACT_ABORT OFF;"
_COMMIT_POSITION_LIMIT = 64  # awsdms_txn_state.COMMIT_POSITION is varchar(64)


class SqlServerApplier(Applier):
    def __init__(self, connection: Any, conn: ConnectionInfo, control_schema: str, *, parameter_arrays: bool,
                 filegroup: str | None = None):
        """`connection` is an open pyodbc connection in autocommit mode; the control tables are created
        in `control_schema` when missing."""
        self.connection = connection
        self.conn = conn
        self.schema = control_schema
        self.parameter_arrays = parameter_arrays
        self.cursor = connection.cursor()
        self.in_transaction = False
        self._identity: dict[tuple[str, str], frozenset[str]] = {}
        self._states: dict[tuple[str, str, str], tuple] = {}  # table states the target has committed
        self._pending: dict[tuple[str, str, str], tuple] = {}  # written in the open transaction
        with self._doing(f"creating the control tables in schema {control_schema}"):
            self.cursor.execute(SESSION_SETUP)
            for statement in control_table_statements(control_schema, filegroup):
                self.cursor.execute(statement)

    # -- transactions --------------------------------------------------------------------------------
    def begin(self) -> None:
        with self._doing("starting a transaction"):
            self.cursor.execute("BEGIN TRANSACTION;")
        self.in_transaction = True

    def commit(self) -> None:
        with self._doing("committing applied changes"):
            self.cursor.execute("COMMIT TRANSACTION;")
        self.in_transaction = False
        self._states.update(self._pending)
        self._pending.clear()

    def rollback(self) -> None:
        self._pending.clear()
        self.in_transaction = False
        with self._doing("rolling back"):
            self.cursor.execute("IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;")  # an error may have ended it already

    def savepoint(self) -> None:
        with self._doing("setting a savepoint"):
            self.cursor.execute(f"SAVE TRANSACTION {SAVEPOINT};")

    def rollback_to_savepoint(self) -> None:
        with self._doing("rolling back to the savepoint"):
            self.cursor.execute(f"ROLLBACK TRANSACTION {SAVEPOINT};")

    # -- row changes ---------------------------------------------------------------------------------
    def insert(self, plan: TablePlan, rows: list[tuple], *, upsert: bool = False) -> int:
        if upsert and not plan.key:
            # A keyless "upsert" (an idempotent replay): remove as many equal rows as are inserted, then
            # insert, so a row the target already has is there once afterwards.
            self.delete(plan, rows)
            upsert = False
        identity = self._identity_columns(plan)
        with self._doing(f"applying inserts to {_name(plan)}"):
            for names, group in _by_sent_columns(plan, rows):
                pick = _picker(plan, names)
                values = [pick(row) for row in group]
                with self._identity_insert(plan, bool(identity & set(names))):
                    if upsert:
                        self._batched(upsert_statement(plan, names, fixed=identity), values)
                    else:
                        self._insert(_narrowed(plan, names), values)
        return len(rows)

    def update(self, plan: TablePlan, changes: list[TargetChange]) -> int:
        identity = self._identity_columns(plan)
        found = 0
        with self._doing(f"applying updates to {_name(plan)}"):
            for names, group in _by_sent_columns(plan, [c.row for c in changes], changes):
                settable = [n for n in names if n not in identity]
                if not settable:  # only identity values were sent, which no UPDATE may set: nothing to change
                    found += len(group)
                    continue
                statement = update_statement(plan, settable) if plan.key else keyless_update_statement(plan, settable)
                pick, where = _picker(plan, settable), _where_picker(plan)
                found += self._batched(statement, [pick(c.row) + where(c.key) for c in group], counted=True)
        return found

    def delete(self, plan: TablePlan, keys: list[tuple]) -> int:
        statement = delete_statement(plan) if plan.key else keyless_delete_statement(plan)
        where = _where_picker(plan)
        with self._doing(f"applying deletes to {_name(plan)}"):
            return self._batched(statement, [where(key) for key in keys], counted=True)

    def truncate(self, plan: TablePlan) -> None:
        with self._doing(f"truncating {_name(plan)}"):
            self.cursor.execute(truncate_statement(plan))

    def execute_ddl(self, plan: TablePlan, action: str, column: Any = None) -> None:
        if action == "add-column" and isinstance(column, ColumnPlan):
            statement = add_column_statement(plan, column)
        elif action == "drop-column" and isinstance(column, str):
            statement = drop_column_statement(plan, column)
        else:
            raise EngineError(f"SQL Server targets cannot apply the source DDL {action!r} to {_name(plan)}.",
                              kind=ErrorKind.UNSUPPORTED)
        with self._doing(f"changing table {_name(plan)}"):
            self.cursor.execute(statement)

    # -- control tables ------------------------------------------------------------------------------
    def save_state(self, task_id: str, checkpoint: str, commit_time: datetime | None,
                   tables: Mapping[tuple[str, str], TableSyncState]) -> None:
        """The checkpoint, and the states of the tables whose state changed since the target last
        committed one (every commit passes every table; most have not moved)."""
        rows = []
        for (owner, name), state in tables.items():
            key, value = (task_id, owner, name), (state.state, state.snapshot_position, state.applied_position)
            if self._pending.get(key, self._states.get(key)) != value:
                self._pending[key] = value
                rows.append([task_id, owner, name, *value])
        with self._doing("writing the checkpoint"):
            position = commit_position(checkpoint, _COMMIT_POSITION_LIMIT)
            self.cursor.execute(checkpoint_upsert(self.schema), task_id, checkpoint, position, commit_time)
            if rows:
                self._batched(table_state_upsert(self.schema), rows)

    def load_state(self, task_id: str) -> tuple[str | None, dict[tuple[str, str], TableSyncState]]:
        with self._doing("reading the checkpoint"):
            found = self.cursor.execute(checkpoint_select(self.schema), task_id).fetchone()
            rows = self.cursor.execute(table_state_select(self.schema), task_id).fetchall()
        states = {}
        for owner, name, state, snapshot, applied in (tuple(r) for r in rows):
            states[(owner, name)] = TableSyncState(state, snapshot, applied)
            self._states[(task_id, owner, name)] = (state, snapshot, applied)
        return (found[0] if found else None), states

    def log_exception(self, task_id: str, plan: TablePlan, statement: str, error: str) -> None:
        with self._doing("recording an apply exception"):
            self.cursor.execute(apply_exception_insert(self.schema), task_id, plan.target_schema, plan.target_table,
                                statement, error)

    def close(self) -> None:
        try:
            if self.in_transaction:
                self.rollback()
        except EngineError:
            pass  # the connection is going away: the server rolls back what it had
        finally:
            try:
                self.connection.close()
            except Exception:  # a broken connection may not close cleanly; it is gone either way
                pass

    # -- helpers -------------------------------------------------------------------------------------
    @contextmanager
    def _doing(self, doing: str) -> Iterator[None]:
        try:
            yield
        except EngineError:
            raise
        except _pyodbc().Error as exc:
            raise translate(exc, self.conn, doing) from None

    def _identity_columns(self, plan: TablePlan) -> frozenset[str]:
        key = (plan.target_schema, plan.target_table)
        if key not in self._identity:
            with self._doing(f"reading the identity columns of {_name(plan)}"):
                self._identity[key] = frozenset(identity_columns(self.connection, plan))
        return self._identity[key]

    @contextmanager
    def _identity_insert(self, plan: TablePlan, needed: bool) -> Iterator[None]:
        """IDENTITY_INSERT ON around inserts giving identity values (one table at a time per session).
        Sent without parameters, so it lasts for the session, not for one sp_executesql call."""
        if not needed:
            yield
            return
        self.cursor.execute(identity_insert(plan, True))
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            try:
                self.cursor.execute(identity_insert(plan, False))
            except Exception:
                if not failed:
                    raise  # else the first error is the one to report

    def _insert(self, plan: TablePlan, rows: list[list]) -> None:
        cursor = self.connection.cursor()  # input sizes stay set on a cursor: this one is used once
        try:
            if self.parameter_arrays:
                cursor.fast_executemany = True
                cursor.setinputsizes(input_sizes(plan))
            write_rows(cursor, plan, [tuple(r) for r in rows], self.parameter_arrays)
        finally:
            cursor.close()

    def _batched(self, statement: str, rows: Sequence[list], *, counted: bool = False) -> int:
        """Run `statement` once per parameter row, BATCH_STATEMENTS to a round trip; counted: the rows affected."""
        if not rows:
            return 0
        per = statements_per_batch(len(rows[0]), BATCH_STATEMENTS)
        total = 0
        for start in range(0, len(rows), per):
            chunk = rows[start:start + per]
            self.cursor.execute(batch([statement] * len(chunk), counted=counted), [v for row in chunk for v in row])
            if counted:
                total += int(self.cursor.fetchone()[0])
            while self.cursor.nextset():  # errors of statements after the count's result surface here
                pass
        return total


def _name(plan: TablePlan) -> str:
    return f"{plan.target_schema}.{plan.target_table}"


def _by_sent_columns(plan: TablePlan, rows: Sequence[tuple], items: Sequence[Any] | None = None
                     ) -> Iterator[tuple[list[str], list[Any]]]:
    """Consecutive rows (or their `items`) grouped by which columns carry a value (not UNCHANGED)."""
    names = [c.name for c in plan.columns]
    pairs = zip(rows, items if items is not None else rows, strict=True)
    for mask, group in groupby(pairs, key=lambda pair: tuple(v is not UNCHANGED for v in pair[0])):
        yield [n for n, sent in zip(names, mask, strict=True) if sent], [item for _, item in group]


def _narrowed(plan: TablePlan, names: Sequence[str]) -> TablePlan:
    if len(names) == len(plan.columns):
        return plan
    return replace(plan, columns=tuple(c for c in plan.columns if c.name in names))


def _picker(plan: TablePlan, names: Sequence[str]) -> Callable[[tuple], list]:
    """A function taking the values of `names` from a full target row, as pyodbc binds them for SQL Server."""
    index = {c.name: i for i, c in enumerate(plan.columns)}
    fields = [(index[n], plan.columns[index[n]].dms_type) for n in names]
    return lambda row: [for_sqlserver(dms, row[i]) for i, dms in fields]


def _where_picker(plan: TablePlan) -> Callable[[tuple], list]:
    """A function making the parameters that find a row from its key: the key values, or (no key)
    every old value twice (compare, IS NULL)."""
    if plan.key:
        types = {c.name: c.dms_type for c in plan.columns}
        key_types = [types[k] for k in plan.key]
        return lambda key: [for_sqlserver(dms, v) for dms, v in zip(key_types, key, strict=True)]
    all_types = [c.dms_type for c in plan.columns]
    return lambda key: [v for dms, value in zip(all_types, key, strict=True) for v in (for_sqlserver(dms, value),) * 2]
