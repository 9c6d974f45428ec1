"""Applying changes to a PostgreSQL target: PostgresApplier, on one psycopg 3 connection.

Small runs are sent as one statement per change through psycopg's pipeline (one round
trip for the run). Runs of SET_BASED_MIN changes or more are applied set-based: COPY into
a session TEMP staging table, then one INSERT ... SELECT / UPDATE ... FROM / DELETE ...
USING, which is several times faster per row and keeps the server's work in one plan.
Keyless tables (no primary key or unique index: the "key" is every column) switch to the
set-based path much earlier, because each row statement there scans the whole table.

The transaction is the apply loop's: nothing here commits except commit(). The control
rows (checkpoint, table states, apply exceptions) are written in the open transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from ..base import UNCHANGED, Applier, TableSyncState, TargetChange
from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from ..plan import ColumnPlan, TablePlan
from . import apply_sql, apply_state
from .apply_errors import apply_error
from .apply_meta import TableMeta, load_meta
from .apply_sets import (
    Chunk,
    CopyRenderer,
    PreparedUpdate,
    RenderedChunk,
    Staging,
    blank_unchanged,
    keyless_update_chunks,
    last_per_key,
    staged_updates,
    update_chunks,
)
from .connection import connect
from .control import ensure_control_tables
from .ddl import _TYPE_TEXT

# Runs at least this long go through a staging table. Measured on a 1M-row table (2 shared cores):
# row statements cost 11-15 us of client CPU per change whatever the run length, staged runs ~12 us
# at 100 changes and 2-5 us from 1,000 on, and their server time per row falls the same way.
SET_BASED_MIN = 100
# Keyless row statements each scan the table: from a handful of changes on, one hash join wins.
KEYLESS_SET_BASED_MIN = 4
SAVEPOINT = sql.Identifier("awsdms_apply")
# Session settings: staging tables live in temp_buffers (set before the first temp table); JIT would
# compile big set statements for longer than they run; and a merge join of a large staged run walks
# the target's key index from its first entry (1.5 s instead of 0.55 s for 50,000 rows of a 1M-row
# table), where index lookups or a hash join (keyless runs) do what is needed.
SESSION_SETTINGS = "SET temp_buffers = '64MB'; SET jit = off; SET enable_mergejoin = off"
# Keyed set statements join the staged run to the target by its key index. From a few ten thousand
# staged rows the planner prefers a hash join, which reads and hashes the whole target for every
# run: 531 ms for 50,000 rows of a 1M-row table against 4.8 ms per 1,000 by index (EXPLAIN ANALYZE
# here). Keyless runs need the hash join. So it is switched off for keyed statements, on for keyless.
HASH_JOINS = {True: "SET enable_hashjoin = on", False: "SET enable_hashjoin = off"}

T = TypeVar("T")


@dataclass
class _Table:
    """A plan prepared for this connection: its target columns and rendered statements."""

    plan: TablePlan
    meta: TableMeta
    shape: tuple
    key_positions: tuple[int, ...]
    statements: dict[Any, str] = field(default_factory=dict)

    @property
    def keyed(self) -> bool:
        return bool(self.plan.key)


class PostgresApplier(Applier):
    def __init__(self, conninfo: ConnectionInfo, control_schema: str = "", *, set_based_min: int = SET_BASED_MIN,
                 keyless_set_based_min: int = KEYLESS_SET_BASED_MIN):
        self.conninfo = conninfo
        self.schema = control_schema or "public"
        self.set_based_min = set_based_min
        self.keyless_set_based_min = keyless_set_based_min
        timeout = conninfo.attr("executeTimeout")
        self.conn = connect(conninfo, timeout=30, statement_timeout=float(timeout) if timeout else None)
        self._by_id: dict[int, _Table] = {}
        self._by_shape: dict[tuple, _Table] = {}
        self._savepoint = False
        self._hash_joins: bool | None = None  # as last SET in this session; None: unknown (after a rollback)
        self._saved_states: dict[tuple[str, str], TableSyncState] = {}
        self._pending_states: dict[tuple[str, str], TableSyncState] = {}
        try:
            self.conn.execute(SESSION_SETTINGS)
            ensure_control_tables(self.conn, self.schema)
            self.conn.commit()
        except psycopg.Error as exc:
            self.conn.close()
            raise apply_error(exc, conninfo, None, doing=f"creating the control tables in schema {self.schema}"
                              ) from None
        self.staging = Staging(self.conn)
        self.renderer = CopyRenderer(self.conn)  # prepare_update's, on the apply loop's thread

    # -- transactions --------------------------------------------------------------------------
    def begin(self) -> None:
        # psycopg opens the transaction with the first statement; an aborted one is ended first.
        if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            self.rollback()

    def commit(self) -> None:
        if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            # COMMIT of a failed transaction rolls back without an error: never let the loop believe
            # (and acknowledge) a commit that did not happen.
            self.rollback()
            raise EngineError("The target transaction had failed and was rolled back instead of committed; "
                              "its changes are applied again.", kind=ErrorKind.OTHER, permanent=False)
        self._run(None, (), "committing", self.conn.commit)
        self.staging.committed()
        self._saved_states.update(self._pending_states)
        self._pending_states.clear()
        self._savepoint = False

    def rollback(self) -> None:
        self._pending_states.clear()
        self._savepoint = False
        self._hash_joins = None  # a SET in a rolled back transaction is undone
        self.staging.rolled_back()
        self._run(None, (), "rolling back", self.conn.rollback)

    def savepoint(self) -> None:
        # One level is enough: a new savepoint replaces the previous one (released, not stacked, so a
        # long careful replay does not pile up subtransactions).
        statement = sql.SQL("RELEASE SAVEPOINT {0}; SAVEPOINT {0}") if self._savepoint else sql.SQL("SAVEPOINT {0}")
        self._execute(None, (), statement.format(SAVEPOINT))
        self._savepoint = True
        self.staging.savepoint()

    def rollback_to_savepoint(self) -> None:
        self._execute(None, (), sql.SQL("ROLLBACK TO SAVEPOINT {}").format(SAVEPOINT))
        self.staging.rolled_back_to_savepoint()
        self._hash_joins = None
        self._pending_states.clear()  # written again with the next save_state if it was after the savepoint

    def close(self) -> None:
        try:
            self.conn.close()
        except psycopg.Error:
            pass

    # -- changes -------------------------------------------------------------------------------
    def insert(self, plan: TablePlan, rows: list[tuple], *, upsert: bool = False) -> int:
        if not rows:
            return 0
        table = self._table(plan)
        if upsert and not table.keyed:
            # A keyless "upsert" (an idempotent replay): remove up to as many equal rows as are
            # inserted, then insert, so replaying rows the target already has leaves them once.
            self.delete(plan, rows)
            self.insert(plan, rows)
            return len(rows)
        if upsert:
            distinct = last_per_key(rows, table.key_positions) if len(rows) > 1 else rows
            if len(distinct) >= self.set_based_min:
                name = self._stage(table, "rows", ((n, *row) for n, row in enumerate(distinct)), distinct)
                self._execute(table, distinct, self._statement(table, ("set-upsert", name),
                                                               lambda: apply_sql.set_upsert(plan, name)))
            else:
                self._many(table, self._statement(table, "upsert", lambda: apply_sql.upsert(plan)), distinct)
            return len(rows)
        if len(rows) >= self.set_based_min:
            self._copy_rows(table, rows)
            return len(rows)
        return self._many(table, self._statement(table, "insert", lambda: apply_sql.insert(plan)), rows)

    def prepare_update(self, plan: TablePlan, changes: list[TargetChange], *, distinct: bool = False
                       ) -> PreparedUpdate | None:
        """A keyed run long enough to be staged, cut into chunks and rendered as COPY text. Only a table
        this applier already prepared (the writer thread fills the cache; a dict read is atomic)."""
        table = self._by_id.get(id(plan))
        if table is None or table.plan is not plan or not table.keyed or len(changes) < self.set_based_min:
            return None
        mask = tuple(v is UNCHANGED for v in changes[0].row)
        masked = any(mask)
        try:
            chunks = [Chunk(list(changes), [1] * len(changes))] if distinct \
                else update_chunks(changes, table.key_positions)
            return PreparedUpdate(mask, [
                RenderedChunk(chunk, self.renderer.render(
                    staged_updates(chunk, masked, chunk.in_place(mask, table.key_positions)))) for chunk in chunks])
        except (psycopg.Error, TypeError, ValueError):
            # A value COPY cannot carry (a NUL in text) or a key that cannot be hashed: update() meets
            # it again on the writer thread, where it is reported and handled by the error policies.
            return None

    def update_prepared(self, plan: TablePlan, changes: list[TargetChange], prepared: object) -> int:
        if not isinstance(prepared, PreparedUpdate):
            return self.update(plan, changes)
        table = self._table(plan)
        return sum(self._update_set(table, rendered.chunk, prepared.mask, rendered.copy_data)
                   for rendered in prepared.chunks)

    def update(self, plan: TablePlan, changes: list[TargetChange]) -> int:
        if not changes:
            return 0
        table = self._table(plan)
        mask = tuple(v is UNCHANGED for v in changes[0].row)
        if not table.keyed:
            if len(changes) >= self.keyless_set_based_min:
                return sum(self._keyless_update_set(table, chunk, mask) for chunk in keyless_update_chunks(changes))
            statement = self._statement(table, ("keyless-update", mask),
                                        lambda: apply_sql.keyless_update(plan, table.meta, mask))
            positions = apply_sql.set_columns(plan, mask)
            return self._many(table, statement, [[c.row[i] for i in positions] + list(c.key) for c in changes],
                              rows=[c.row for c in changes])
        if len(changes) >= self.set_based_min:
            return sum(self._update_set(table, chunk, mask) for chunk in update_chunks(changes, table.key_positions))
        statement = self._statement(table, ("update", mask), lambda: apply_sql.update(plan, mask))
        positions = apply_sql.set_columns(plan, mask)
        return self._many(table, statement, [[c.row[i] for i in positions] + list(c.key) for c in changes],
                          rows=[c.row for c in changes])

    def delete(self, plan: TablePlan, keys: list[tuple]) -> int:
        if not keys:
            return 0
        table = self._table(plan)
        if not table.keyed:
            if len(keys) >= self.keyless_set_based_min:
                name = self._stage(table, "rows", ((n, *key) for n, key in enumerate(keys)), keys)
                self._join_by(hash_joins=True)
                return self._execute(table, keys, self._statement(
                    table, ("set-keyless-delete", name), lambda: apply_sql.set_keyless_delete(plan, table.meta, name)))
            return self._many(table, self._statement(table, "keyless-delete",
                                                     lambda: apply_sql.keyless_delete(plan, table.meta)), keys)
        if len(keys) >= self.set_based_min:
            name = self._stage(table, "keys", ((n, *key) for n, key in enumerate(keys)), ())
            self._join_by(hash_joins=False)
            return self._execute(table, (), self._statement(table, ("set-delete", name),
                                                            lambda: apply_sql.set_delete(plan, name)))
        return self._many(table, self._statement(table, "delete", lambda: apply_sql.delete(plan)), keys, rows=())

    def truncate(self, plan: TablePlan) -> None:
        table = self._table(plan)
        self._execute(table, (), self._statement(table, "truncate", lambda: apply_sql.truncate(plan)))

    def execute_ddl(self, plan: TablePlan, action: str, column: Any = None) -> None:
        target = apply_sql.target(plan)
        if action == "add-column":
            if not isinstance(column, ColumnPlan) or not _TYPE_TEXT.match(column.target_type):
                raise EngineError(f"Cannot add column {getattr(column, 'name', column)!r} to "
                                  f"{plan.target_schema}.{plan.target_table}: its type "
                                  f"{getattr(column, 'target_type', '?')!r} is not a PostgreSQL type this engine "
                                  "creates.", kind=ErrorKind.SCHEMA)
            # Added nullable whatever the source says: rows already on the target have no value for it.
            statement = sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                target, sql.Identifier(column.name), sql.SQL(column.target_type))
        elif action == "drop-column":
            statement = sql.SQL("ALTER TABLE {} DROP COLUMN IF EXISTS {}").format(target, sql.Identifier(str(column)))
        else:
            raise EngineError(f"DDL action {action!r} is not supported on PostgreSQL targets.",
                              kind=ErrorKind.UNSUPPORTED)
        self._execute(None, (), statement, what=f"{plan.target_schema}.{plan.target_table}")
        self._forget_table(plan.target_schema, plan.target_table)

    # -- control tables ------------------------------------------------------------------------
    def save_state(self, task_id: str, checkpoint: str, commit_time: datetime | None,
                   tables: Mapping[tuple[str, str], TableSyncState]) -> None:
        # Only states that changed since the last commit are written: the loop passes every table on
        # every commit, and a task may have hundreds of them.
        changed = {key: replace(state) for key, state in tables.items()
                   if self._pending_states.get(key, self._saved_states.get(key)) != state}

        def write() -> None:
            apply_state.save_checkpoint(self.conn, self.schema, task_id, checkpoint, commit_time)
            apply_state.save_tables(self.conn, self.schema, task_id, changed)

        self._run(None, (), "saving the checkpoint", write)
        self._pending_states.update(changed)

    def load_state(self, task_id: str) -> tuple[str | None, dict[tuple[str, str], TableSyncState]]:
        idle = self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        checkpoint, states = self._run(None, (), "reading the checkpoint",
                                       lambda: apply_state.load_state(self.conn, self.schema, task_id))
        if idle:
            self.rollback()  # a read only: do not leave the session idle in a transaction
        self._saved_states = {key: replace(state) for key, state in states.items()}
        return checkpoint, states

    def log_exception(self, task_id: str, plan: TablePlan, statement: str, error: str) -> None:
        self._run(None, (), "writing to awsdms_apply_exceptions", lambda: apply_state.log_exception(
            self.conn, self.schema, task_id, plan.target_schema, plan.target_table, statement, error))

    # -- helpers -------------------------------------------------------------------------------
    def _table(self, plan: TablePlan) -> _Table:
        table = self._by_id.get(id(plan))
        if table is not None and table.plan is plan:
            return table
        shape = (plan.target_schema, plan.target_table, tuple(c.name for c in plan.columns), plan.key)
        table = self._by_shape.get(shape)
        if table is None:
            meta = self._run(None, (), f"reading the columns of {plan.target_schema}.{plan.target_table}",
                             lambda: load_meta(self.conn, plan))
            table = _Table(plan, meta, shape, apply_sql.key_positions(plan))
            self._by_shape[shape] = table
        elif table.plan is not plan:
            table = replace(table, plan=plan)  # same shape, new object: reuse metadata and statements
            self._by_shape[shape] = table
        self._by_id[id(plan)] = table
        return table

    def _forget_table(self, schema: str, name: str) -> None:
        self._by_shape = {k: v for k, v in self._by_shape.items() if (k[0], k[1]) != (schema, name)}
        self._by_id = {k: v for k, v in self._by_id.items() if (v.shape[0], v.shape[1]) != (schema, name)}

    def _statement(self, table: _Table, key: Any, build: Callable[[], sql.Composable]) -> str:
        text = table.statements.get(key)
        if text is None:
            text = build().as_string(self.conn)
            table.statements[key] = text
        return text

    def _stage(self, table: _Table, kind: str, rows, values: Sequence[tuple], copy_data: bytes | None = None,
               columns: Sequence[str] | None = None) -> str:
        return self._run(table, values, f"staging changes for {table.meta.name}",
                         lambda: self.staging.fill(table.plan, table.shape, kind, rows, copy_data, columns),
                         temp_columns=_staging_names(table, kind))

    def _copy_rows(self, table: _Table, rows: list[tuple]) -> None:
        statement = self._statement(table, "copy", lambda: apply_sql.copy_into_target(table.plan))

        def copy() -> None:
            with self.conn.cursor() as cur, cur.copy(statement) as out:
                for row in rows:
                    out.write_row(row)

        self._run(table, rows, f"inserting into {table.meta.name}", copy)

    def _update_set(self, table: _Table, chunk: Chunk, mask: tuple[bool, ...], copy_data: bytes | None = None) -> int:
        in_place = chunk.in_place(mask, table.key_positions)
        staged = None if copy_data is not None else staged_updates(chunk, any(mask), in_place)
        values = [c.row for c in chunk.changes]
        self._join_by(hash_joins=False)
        if in_place:
            name = self._stage(table, "rows", staged, values, copy_data, apply_sql.row_columns(table.plan))
            statement = self._statement(table, ("set-update-in-place", name, mask),
                                        lambda: apply_sql.set_update_in_place(table.plan, name, mask))
            return self._execute(table, values, statement)
        name = self._stage(table, "update", staged, values, copy_data)
        returning = chunk.merged
        statement = self._statement(table, ("set-update", name, mask, chunk.moves_key, returning),
                                    lambda: apply_sql.set_update(table.plan, name, mask, with_key=chunk.moves_key,
                                                                 returning=returning))
        if not returning:
            return self._execute(table, values, statement)
        found = self._run(table, values, f"updating {table.meta.name}",
                          lambda: self.conn.execute(statement).fetchall())
        return sum(chunk.counts[n] for (n,) in found)

    def _keyless_update_set(self, table: _Table, chunk: Chunk, mask: tuple[bool, ...]) -> int:
        staged = ((n, *c.key, *blank_unchanged(c.row)) for n, c in enumerate(chunk.changes))
        values = [c.row for c in chunk.changes]
        name = self._stage(table, "keyless-update", staged, values)
        self._join_by(hash_joins=True)
        statement = self._statement(table, ("set-keyless-update", name, mask),
                                    lambda: apply_sql.set_keyless_update(table.plan, table.meta, name, mask))
        return self._execute(table, values, statement)

    def _join_by(self, *, hash_joins: bool) -> None:
        if self._hash_joins is not hash_joins:
            self._run(None, (), "choosing the join strategy", lambda: self.conn.execute(HASH_JOINS[hash_joins]))
            self._hash_joins = hash_joins

    def _many(self, table: _Table, statement: str, params: Sequence[Sequence[Any]],
              rows: Sequence[tuple] | None = None) -> int:
        """One statement per parameter set, pipelined; returns the rows affected in total."""
        def run() -> int:
            with self.conn.cursor() as cur:
                if len(params) == 1:
                    cur.execute(statement, params[0])
                else:
                    cur.executemany(statement, params)
                return cur.rowcount

        return self._run(table, params if rows is None else rows, f"applying changes to {table.meta.name}", run)

    def _execute(self, table: _Table | None, rows: Sequence[tuple], statement: str | sql.Composable,
                 what: str = "") -> int:
        def run() -> int:
            with self.conn.cursor() as cur:
                cur.execute(statement)
                return cur.rowcount

        name = table.meta.name if table is not None else what
        return self._run(table, rows, f"applying changes to {name}" if name else "applying changes", run)

    def _run(self, table: _Table | None, rows: Sequence[Any], doing: str, action: Callable[[], T], *,
             temp_columns: dict[str, str] | None = None) -> T:
        try:
            return action()
        except psycopg.Error as exc:
            meta = table.meta if table is not None else None
            raise apply_error(exc, self.conninfo, meta, rows, doing=doing,
                              temp_columns=temp_columns or (_staging_names(table, "update") if table else None)
                              ) from None


def _staging_names(table: _Table, kind: str) -> dict[str, str]:
    """Staging column -> target column, to name the column a COPY into staging refused."""
    names = [c.name for c in table.plan.columns]
    out = {f"c{i}": n for i, n in enumerate(names)}
    out.update({f"o{i}": n for i, n in enumerate(names)})
    out.update({f"k{j}": k for j, k in enumerate(table.plan.key)})
    return out
