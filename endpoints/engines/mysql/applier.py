"""Applying changes to a MySQL/MariaDB target: MySQLApplier, on one PyMySQL connection.

The session: autocommit off, utf8mb4, time_zone '+00:00' (connection.py), sql_mode with
STRICT_ALL_TABLES (a value that does not fit is an error, never silently cut) and
NO_AUTO_VALUE_ON_ZERO (a 0 key stays 0 in an AUTO_INCREMENT column), and the client flag
CLIENT_FOUND_ROWS, so an UPDATE reports the rows it found, not the rows whose values
changed: an update setting the values a row already has still counts as applied.

Inserts and upserts are multi-row INSERTs (upserts with ON DUPLICATE KEY UPDATE of every
non-key column), deletes are DELETE ... WHERE key IN (...), both cut by size. Updates are
one statement per change for short runs; runs of SET_BASED_MIN or more go through a session
TEMPORARY staging table (in the control database, where DMS's documented grant of ALL on
awsdms_control includes CREATE TEMPORARY TABLES) filled by LOAD DATA LOCAL, else multi-row
INSERTs, and one UPDATE joined to it. Long inserts go in by LOAD DATA LOCAL too. Keyless
tables (no primary key or unique index: the "key" is every column) match rows with the
NULL-safe <=> on every column and change one row per change (LIMIT).

The transaction is the apply loop's: nothing here commits except commit() and a DDL. MySQL
commits the open transaction before and after any ALTER TABLE, so execute_ddl does too: the
changes before it in the group are then committed without the checkpoint that covers them,
and a crash before the group's own commit would apply them again on resume (twice, on a
keyless table). Closing that gap needs the apply loop to commit, with its checkpoint, at the
transaction boundary before a DDL. The ALTER only runs when the column really has to be
added or dropped (checked first), so a replayed DDL does nothing and commits nothing.
TRUNCATE is applied as DELETE, inside the transaction, for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import pymysql
from pymysql.constants import CLIENT, SERVER_STATUS

from ..base import UNCHANGED, Applier, TableSyncState, TargetChange
from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from ..plan import ColumnPlan, TablePlan
from . import apply_sql, apply_state
from .apply_errors import apply_error, check_warnings
from .apply_load import LOAD_MIN, LocalLoader, staging_layout, target_layout
from .apply_meta import NATIVE_TYPE, TableMeta, load_meta
from .apply_sets import Chunk, batches, counted_keys, staged_row, update_steps
from .attributes import number
from .connection import connect, is_mariadb, server_version
from .control import DEFAULT_CONTROL_SCHEMA, ensure_applier_tables
from .ddl import target_database
from .infile import GuardedConnection
from .loadfile import LoadLayout
from .sqltext import quote

# Update runs at least this long go through a staging table. Measured on a 1M-row table (MariaDB 10.11,
# 2 shared cores, random keys): one statement per update costs 200-250 us; a staged run (LOAD DATA into
# the staging table, one joined UPDATE) 380 us per change at 5, 285 at 10, 115 at 20, 60 from 100 on.
SET_BASED_MIN = 20
# One multi-row statement carries at most this many bytes of values (and never more than half the
# server's max_allowed_packet) and this many rows: bigger statements were not faster.
STATEMENT_BYTES = 2 * 1024 * 1024
STATEMENT_ROWS = 2000
# The longest a statement may wait for the server before the connection counts as lost (executeTimeout
# overrides it). A 5,000-change statement takes well under a second; only a dead connection or a lock
# held by someone else for minutes gets here.
APPLY_READ_TIMEOUT = 600.0
SAVEPOINT = quote("awsdms_apply")
SESSION_MODES = ("STRICT_ALL_TABLES", "NO_AUTO_VALUE_ON_ZERO")
# Modes that change how our statements parse (connection.py drops them; afterConnectScript may set them again).
_PARSE_CHANGING_MODES = frozenset({"NO_BACKSLASH_ESCAPES", "ANSI_QUOTES", "PIPES_AS_CONCAT", "ANSI"})

T = TypeVar("T")


class _FoundRowsConnection(GuardedConnection):
    """A connection whose UPDATEs report the rows they found (CLIENT_FOUND_ROWS), and whose LOAD DATA
    LOCAL only ever sends the applier's own file."""

    def __init__(self, **kwargs: Any):
        kwargs["client_flag"] = kwargs.get("client_flag", 0) | CLIENT.FOUND_ROWS
        super().__init__(**kwargs)


@dataclass
class _Table:
    """A plan prepared for this connection: its target database and columns, statements, staging."""

    plan: TablePlan
    database: str
    meta: TableMeta
    shape: tuple
    key_positions: tuple[int, ...]
    statements: dict[Any, str] = field(default_factory=dict)
    staging: str | None = None  # the TEMPORARY staging table's name, once created
    staging_dirty: bool = False  # may hold rows (a statement failed before it was emptied)
    load_shape: LoadLayout | None = None  # LOAD DATA layouts, made on first use
    staging_shape: LoadLayout | None = None

    @property
    def keyed(self) -> bool:
        return bool(self.plan.key)


class MySQLApplier(Applier):
    def __init__(self, conninfo: ConnectionInfo, control_schema: str = "", *, set_based_min: int = SET_BASED_MIN,
                 load_min: int = LOAD_MIN, local_infile: bool = True):
        """`local_infile=False` makes the client refuse LOAD DATA LOCAL as a server with local_infile=OFF
        does (for tests of the multi-row INSERT fallback)."""
        self.conninfo = conninfo
        self.schema = control_schema or DEFAULT_CONTROL_SCHEMA
        self.set_based_min = set_based_min
        self.load_min = load_min
        read_timeout = number(conninfo, "executeTimeout", APPLY_READ_TIMEOUT, minimum=1)
        self.conn = connect(conninfo, timeout=30, read_timeout=read_timeout, use_database=False, autocommit=False,
                            local_infile=local_infile, connection_class=_FoundRowsConnection)
        self.loader = LocalLoader(self.conn)
        self._by_id: dict[int, _Table] = {}
        self._by_shape: dict[tuple, _Table] = {}
        self._staging_count = 0
        self._saved_states: dict[tuple[str, str], TableSyncState] = {}
        self._pending_states: dict[tuple[str, str], TableSyncState] = {}
        try:
            self.mariadb = is_mariadb(self.conn)
            # MySQL 8.0.19+ names the new row in ON DUPLICATE KEY UPDATE; VALUES() there warns.
            self.row_alias = not self.mariadb and server_version(self.conn) >= (8, 0, 19)
            self._prepare_session()
            ensure_applier_tables(self.conn, self.schema)
            self.conn.commit()
            self.max_bytes = min(STATEMENT_BYTES, self._max_packet() // 2)
        except (pymysql.MySQLError, OSError) as exc:
            self.close()
            raise apply_error(exc, conninfo, None, doing=f"creating the control tables in database {self.schema}"
                              ) from None

    def _prepare_session(self) -> None:
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT @@SESSION.sql_mode")
            modes = [m for m in (cursor.fetchone()[0] or "").split(",") if m and m not in _PARSE_CHANGING_MODES]
            modes += [m for m in SESSION_MODES if m not in modes]
            cursor.execute("SET SESSION sql_mode = %s", (",".join(modes),))

    def _max_packet(self) -> int:
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT @@SESSION.max_allowed_packet")
            return int(cursor.fetchone()[0])

    # -- transactions --------------------------------------------------------------------------
    def begin(self) -> None:
        """Nothing to send: with autocommit off the first statement opens the transaction (START
        TRANSACTION would commit one left open)."""

    def commit(self) -> None:
        self._run(None, (), "committing", self.conn.commit)
        self._saved_states.update(self._pending_states)
        self._pending_states.clear()

    def rollback(self) -> None:
        self._pending_states.clear()
        self._run(None, (), "rolling back", self.conn.rollback)

    def savepoint(self) -> None:
        # MySQL replaces a savepoint of the same name: one level, never a pile of them.
        self._execute(None, (), apply_sql.literal_text(f"SAVEPOINT {SAVEPOINT}"))

    def rollback_to_savepoint(self) -> None:
        self._execute(None, (), apply_sql.literal_text(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}"))
        self._pending_states.clear()  # written again with the next save_state if it was after the savepoint

    def close(self) -> None:
        self.loader.close()
        try:
            self.conn.close()
        except (pymysql.MySQLError, OSError):
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
            return self.insert(plan, rows)
        if not upsert and len(rows) >= self.load_min:
            if table.load_shape is None:
                table.load_shape = target_layout(plan, table.meta)
            if self._load(table, table.database, plan.target_table, table.load_shape, rows, rows):
                return len(rows)
        head = self._statement(table, "insert", lambda: apply_sql.insert_head(table.database, plan))
        tail = self._statement(table, "upsert", lambda: apply_sql.upsert_tail(plan, row_alias=self.row_alias)
                               ) if upsert else ""
        self._batched(table, rows, head, tail, (self.conn.escape(row) for row in rows))
        return len(rows)

    def update(self, plan: TablePlan, changes: list[TargetChange]) -> int:
        if not changes:
            return 0
        table = self._table(plan)
        mask = tuple(v is UNCHANGED for v in changes[0].row)
        if not table.keyed:
            return sum(self._keyless_update(table, change, mask) for change in changes)
        if len(changes) < self.set_based_min:
            return self._update_rows(table, changes, mask)
        found = 0
        for step in update_steps(changes, table.key_positions):
            if isinstance(step, Chunk):
                found += self._update_chunk(table, step, mask) if len(step.changes) >= self.set_based_min \
                    else self._update_rows(table, step.changes, mask, step.weights)
            else:
                found += self._update_rows(table, [step], mask)
        return found

    def delete(self, plan: TablePlan, keys: list[tuple]) -> int:
        if not keys:
            return 0
        table = self._table(plan)
        if not table.keyed:
            statement = self._statement(table, "keyless-delete",
                                        lambda: apply_sql.keyless_delete(table.database, plan, table.meta))
            return sum(self._execute(table, [key], statement, (*key, count))
                       for key, count in counted_keys(keys).items())
        head = self._statement(table, "delete", lambda: apply_sql.delete_head(table.database, plan))
        single = len(plan.key) == 1
        literals = (self.conn.escape(key[0]) if single else self.conn.escape(tuple(key)) for key in keys)
        return self._batched(table, keys, head, ")", literals)

    def truncate(self, plan: TablePlan) -> None:
        table = self._table(plan)
        self._execute(table, (), self._statement(table, "truncate", lambda: apply_sql.truncate(table.database, plan)))

    def execute_ddl(self, plan: TablePlan, action: str, column: Any = None) -> None:
        """Add or drop a column, once: nothing is sent (and nothing committed) when the table already
        has (or no longer has) it. ALTER TABLE commits the open transaction: see the module docstring."""
        database = target_database(self.conninfo, plan)
        existing = self._run(None, (), f"reading the columns of {database}.{plan.target_table}",
                             lambda: self._column_names(database, plan.target_table))
        if action == "add-column":
            if not isinstance(column, ColumnPlan) or not NATIVE_TYPE.match(column.target_type):
                raise EngineError(f"Cannot add column {getattr(column, 'name', column)!r} to "
                                  f"{database}.{plan.target_table}: its type {getattr(column, 'target_type', '?')!r} "
                                  "is not a MySQL type this engine creates.", kind=ErrorKind.SCHEMA)
            if apply_sql.column_exists(existing, column.name):
                return
            statement = apply_sql.add_column(database, plan, column.name, column.target_type,
                                             if_not_exists=self.mariadb)
        elif action == "drop-column":
            if not apply_sql.column_exists(existing, str(column)):
                return
            statement = apply_sql.drop_column(database, plan, str(column), if_exists=self.mariadb)
        else:
            raise EngineError(f"DDL action {action!r} is not supported on MySQL targets.", kind=ErrorKind.UNSUPPORTED)
        self._execute(None, (), statement, what=f"{database}.{plan.target_table}")
        self._forget_table(database, plan.target_table)

    # -- control tables ------------------------------------------------------------------------
    def save_state(self, task_id: str, checkpoint: str, commit_time: datetime | None,
                   tables: Mapping[tuple[str, str], TableSyncState]) -> None:
        # Only states that changed since the last commit are written: the loop passes every table on
        # every commit, and a task may have hundreds of them.
        changed = {key: replace(state) for key, state in tables.items()
                   if self._pending_states.get(key, self._saved_states.get(key)) != state}

        def write() -> None:
            apply_state.save_checkpoint(self.conn, self.schema, task_id, checkpoint, commit_time,
                                        row_alias=self.row_alias)
            apply_state.save_tables(self.conn, self.schema, task_id, changed, row_alias=self.row_alias)

        self._run(None, (), "saving the checkpoint", write)
        self._pending_states.update(changed)

    def load_state(self, task_id: str) -> tuple[str | None, dict[tuple[str, str], TableSyncState]]:
        idle = not self.conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS
        checkpoint, states = self._run(None, (), "reading the checkpoint",
                                       lambda: apply_state.load_state(self.conn, self.schema, task_id))
        if idle:
            self.rollback()  # a read only: do not keep its snapshot open
        self._saved_states = {key: replace(state) for key, state in states.items()}
        return checkpoint, states

    def log_exception(self, task_id: str, plan: TablePlan, statement: str, error: str) -> None:
        database = target_database(self.conninfo, plan)
        self._run(None, (), "writing to awsdms_apply_exceptions", lambda: apply_state.log_exception(
            self.conn, self.schema, task_id, database, plan.target_table, statement, error))

    # -- updates -------------------------------------------------------------------------------
    def _update_rows(self, table: _Table, changes: Sequence[TargetChange], mask: tuple[bool, ...],
                     weights: Sequence[int] | None = None) -> int:
        """One UPDATE per change; `weights` counts a change as several (merged duplicates)."""
        statement = self._statement(table, ("update", mask),
                                    lambda: apply_sql.update(table.database, table.plan, mask))
        positions = apply_sql.set_positions(table.plan, mask)
        found = 0
        for index, change in enumerate(changes):
            params = [change.row[i] for i in positions] + list(change.key)
            if self._execute(table, [change.row], statement, params):
                found += weights[index] if weights is not None else 1
        return found

    def _update_chunk(self, table: _Table, chunk: Chunk, mask: tuple[bool, ...]) -> int:
        name = self._fill_staging(table, [staged_row(c, n, w, table.key_positions)
                                          for n, (c, w) in enumerate(zip(chunk.changes, chunk.weights, strict=True))],
                                  [c.row for c in chunk.changes])
        statement = self._statement(table, ("set-update", mask), lambda: apply_sql.set_update(
            table.database, table.plan, self.schema, name, mask))
        found = self._execute(table, [c.row for c in chunk.changes], statement)
        if chunk.merged:
            query = self._statement(table, "staged-found", lambda: apply_sql.staged_found(
                table.database, table.plan, self.schema, name))
            found = int(self._run(table, (), f"counting the rows found in {table.meta.name}",
                                  lambda: self._scalar(query)))
        self._clear_staging(table)
        return found

    def _keyless_update(self, table: _Table, change: TargetChange, mask: tuple[bool, ...]) -> int:
        statement = self._statement(table, ("keyless-update", mask), lambda: apply_sql.keyless_update(
            table.database, table.plan, table.meta, mask))
        positions = apply_sql.set_positions(table.plan, mask)
        return self._execute(table, [change.row], statement, [change.row[i] for i in positions] + list(change.key))

    # -- staging -------------------------------------------------------------------------------
    def _fill_staging(self, table: _Table, rows: list[tuple], values: Sequence[tuple]) -> str:
        if table.staging is None:
            self._staging_count += 1
            name = f"awsdms_stage_{self._staging_count}"
            # CREATE TEMPORARY TABLE neither commits nor is undone by a rollback: it lives as long as
            # the session, and only its rows follow our transaction.
            self._execute(table, (), apply_sql.create_staging(self.schema, name, table.meta))
            table.staging = name
        elif table.staging_dirty:
            self._clear_staging(table)
        table.staging_dirty = True
        if table.staging_shape is None:
            table.staging_shape = staging_layout(table.plan, table.meta)
        if not self._load(table, self.schema, table.staging, table.staging_shape, rows, values, staged=True):
            head = self._statement(table, "staging-head", lambda: apply_sql.staging_head(self.schema, table.staging))
            self._batched(table, values, head, "", (self.conn.escape(row) for row in rows), staged=True)
        return table.staging

    def _load(self, table: _Table, database: str, name: str, shape: LoadLayout, rows: Sequence[Sequence],
              values: Sequence[Sequence], *, staged: bool = False) -> bool:
        """One LOAD DATA LOCAL of every row (the apply loop hands over at most a write's worth of changes);
        False when the server refuses it."""
        return self._run(table, values, f"loading changes into {table.meta.name}", lambda: self.loader.load(
            database, name, shape, rows, table.meta, values, staged=staged), staged=staged)

    def _clear_staging(self, table: _Table) -> None:
        self._execute(table, (), apply_sql.clear_staging(self.schema, table.staging))
        table.staging_dirty = False

    # -- statements ----------------------------------------------------------------------------
    def _batched(self, table: _Table, values: Sequence[Sequence], head: str, tail: str, literals: Iterable[str],
                 *, staged: bool = False) -> int:
        """head + literals joined + tail, cut into statements of at most max_bytes; returns rows affected.
        `values` (target column order) are only used to name the column of a refused value."""
        try:
            cut = list(batches(literals, self.max_bytes, STATEMENT_ROWS))
        except pymysql.MySQLError as exc:  # PyMySQL refuses some values itself: a float infinity
            raise apply_error(exc, self.conninfo, table.meta, values, doing=f"applying changes to {table.meta.name}"
                              ) from None
        return sum(self._execute(table, values, head + ", ".join(batch) + tail, staged=staged) for batch in cut)

    def _execute(self, table: _Table | None, rows: Sequence[Sequence], statement: str,
                 params: Sequence[Any] | None = None, *, staged: bool = False, what: str = "") -> int:
        """Run one statement and return the rows it affected (found, for UPDATE). Without `params` the
        statement is complete text and is sent as it is (no %-formatting); `staged`: it writes to a
        staging table, whose columns c0.. stand for the target's."""
        meta = table.meta if table is not None else None

        def run() -> int:
            with self.conn.cursor() as cursor:
                affected = cursor.execute(statement, None if params is None else tuple(params))
                check_warnings(cursor, meta, rows, staged=staged)
                return affected

        name = meta.name if meta is not None else what
        return self._run(table, rows, f"applying changes to {name}" if name else "applying changes", run,
                         staged=staged)

    def _statement(self, table: _Table, key: Any, build: Callable[[], str]) -> str:
        text = table.statements.get(key)
        if text is None:
            text = table.statements[key] = build()
        return text

    def _scalar(self, query: str) -> Any:
        with self.conn.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchone()[0]

    def _run(self, table: _Table | None, rows: Sequence[Any], doing: str, action: Callable[[], T], *,
             staged: bool = False) -> T:
        try:
            return action()
        except (pymysql.MySQLError, OSError) as exc:
            raise apply_error(exc, self.conninfo, table.meta if table is not None else None, rows,
                              doing=doing, staged=staged) from None

    # -- tables --------------------------------------------------------------------------------
    def _table(self, plan: TablePlan) -> _Table:
        table = self._by_id.get(id(plan))
        if table is not None and table.plan is plan:
            return table
        database = target_database(self.conninfo, plan)
        shape = (database, plan.target_table, tuple(c.name for c in plan.columns), plan.key)
        table = self._by_shape.get(shape)
        if table is None:
            meta = self._run(None, (), f"reading the columns of {database}.{plan.target_table}",
                             lambda: load_meta(self.conn, database, plan))
            table = _Table(plan, database, meta, shape, apply_sql.key_positions(plan))
            self._by_shape[shape] = table
        elif table.plan is not plan:
            table.plan = plan  # same shape, new object: keep metadata, statements and staging
        self._by_id[id(plan)] = table
        return table

    def _forget_table(self, database: str, name: str) -> None:
        self._by_shape = {k: v for k, v in self._by_shape.items() if (k[0], k[1]) != (database, name)}
        self._by_id = {k: v for k, v in self._by_id.items() if (v.shape[0], v.shape[1]) != (database, name)}

    def _column_names(self, database: str, table: str) -> list[str]:
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                           "AND TABLE_NAME = %s", (database, table))
            return [row[0] for row in cursor.fetchall()]
