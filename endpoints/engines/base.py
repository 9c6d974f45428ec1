"""The interface every database engine implements, and the records that cross it.

An `Engine` wraps one endpoint's `ConnectionInfo`. It opens its own connections
per call (loaders run in parallel threads and processes), so an Engine object
holds no open connection and is cheap to create. Engines raise `EngineError`
only, with a message a DBA can act on.

Full load:  source.read(plan, segment) -> RowBatch... -> target.load(plan, batches)
CDC:        source.capture(...) -> Transaction... -> target applier (tasks.engine.apply)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from .catalog import SourceColumn, SourceTable
from .conninfo import ConnectionInfo
from .errors import EngineError, ErrorKind
from .plan import PrepMode, Segment, TablePlan
from .types import DmsType


class EndpointRole(StrEnum):
    SOURCE = "source"
    TARGET = "target"


@dataclass(frozen=True)
class ConnectionReport:
    """What Test connection shows: the server, and whether the role's needs are met."""

    ok: bool
    server_version: str = ""
    message: str = ""  # the reason when not ok, in a DBA's words
    warnings: tuple[str, ...] = ()  # e.g. "CDC will not work until wal_level=logical"
    cdc_ready: bool | None = None  # None: not checked (target role)


class RowFormat(StrEnum):
    PYTHON = "python"  # list of tuples of canonical values (see types.py)
    PG_COPY_TEXT = "pg-copy-text"  # bytes of PostgreSQL COPY text format: whole lines, target column order
    # bytes MySQL's LOAD DATA reads with FIELDS TERMINATED BY '\t' ESCAPED BY '\\' (\N is NULL): whole
    # lines, target column order; binary values as bare hex, booleans as 1/0 (mysql/copytext.py)
    MYSQL_LOAD_TEXT = "mysql-load-text"


@dataclass
class RowBatch:
    """A batch of rows read from the source.

    PYTHON batches hold tuples over `plan.read_columns`; fast formats hold rows
    already in target column order (only produced when `plan.passthrough`).
    `notes` counts value changes made while reading (e.g. MySQL zero dates set to
    NULL, LOB values truncated) so nothing is changed silently.
    """

    format: RowFormat
    rows: int
    data: Any
    nbytes: int = 0
    notes: dict[str, int] = field(default_factory=dict)
    # The change-stream position these rows are consistent with, when the reader took its own
    # snapshot (MySQL: one per connection). Set on the first batch; None when unknown.
    snapshot_position: str | None = None


@dataclass
class LoadResult:
    rows: int = 0
    nbytes: int = 0
    notes: dict[str, int] = field(default_factory=dict)


class Snapshot:
    """A consistent read view shared by the loaders of one task.

    `token` is passed to read() (PostgreSQL: an exported snapshot name);
    `position` is the change-stream position the view corresponds to, when the
    engine can tie the two together (else None, and cached changes apply idempotently).
    """

    token: str | None = None
    position: str | None = None

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


# ---- change data capture records -------------------------------------------------------------

class Op(StrEnum):
    INSERT = "I"
    UPDATE = "U"
    DELETE = "D"
    TRUNCATE = "T"
    DDL = "DDL"


class _Unchanged:
    """Marks a value the source did not send (PostgreSQL unchanged TOAST): keep the target's value."""

    _instance: _Unchanged | None = None

    def __new__(cls) -> _Unchanged:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNCHANGED"

    def __reduce__(self) -> str:
        return "UNCHANGED"


UNCHANGED = _Unchanged()


@dataclass(frozen=True)
class Relation:
    """A source table's shape as the change stream describes it at a point in time."""

    schema: str
    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # replica identity / primary key column names
    types: tuple[str, ...] = ()  # native type names, parallel to columns


@dataclass(slots=True)
class RowChange:
    """One row-level change. `before`/`after` are tuples parallel to `relation.columns`
    (canonical values; `before` may hold only key values with None elsewhere).

    Op.DDL: the source table's definition changed (ALTER TABLE ... ADD/DROP COLUMN, or a new
    shape noticed in the stream). `ddl` holds the statement (or a description), `table` the
    table as the source catalog describes it now (None when it was dropped). A capture emits it
    before the first row change of the new shape."""

    op: Op
    relation: Relation
    before: tuple | None = None
    after: tuple | None = None
    ddl: str | None = None  # statement text for Op.DDL
    table: SourceTable | None = None  # the table's new definition, for Op.DDL

    def __reduce__(self) -> tuple:
        # Every change goes through the spool: constructor arguments pickle at half the cost of slot state.
        return RowChange, (self.op, self.relation, self.before, self.after, self.ddl, self.table)


# A stream hands a large transaction over in pieces of about this many changes, so neither the
# capture nor the applier ever holds a whole million-row transaction in memory.
TRANSACTION_PIECE = 5000


def seconds_since(commit_time: datetime) -> float:
    """Seconds from a source commit time (naive UTC, as every Transaction carries it) to now; negative
    when the source's clock runs ahead of this machine's."""
    return (datetime.now(UTC).replace(tzinfo=None) - commit_time).total_seconds()


@dataclass(slots=True)
class Transaction:
    """One committed source transaction (or one piece of it), in commit order.

    `position` is the engine's serialised commit position (compare with the
    engine's `position_key`); `changes` keeps the source's statement order.
    A large transaction arrives as consecutive pieces with the same xid: every
    piece but the last has `complete` False, and only the last one's position
    and commit time are authoritative. Pieces of different transactions never
    interleave. The applier applies all pieces in one target transaction.

    Positions identify transactions in commit order and are known from the first
    piece (PostgreSQL: the commit record's LSN from Begin; MySQL: the file:pos where the
    transaction's first event ends, so a transaction is inside a snapshot taken at S exactly
    when its position is at or before S). A stream opened at position P may replay the
    transaction at P; the applier skips transactions at or before its checkpoint.
    """

    xid: str
    position: str
    commit_time: datetime
    changes: list[RowChange]
    source_bytes: int = 0
    complete: bool = True
    # The engine's position_key(position), when the capture has it for free (PostgreSQL: the commit LSN
    # it parsed); the applier compares positions for every transaction and need not parse them again.
    order: tuple | None = None

    def __reduce__(self) -> tuple:
        # Spooled to disk by the million: the row changes go as parallel lists (one relation table, then
        # ops, images), which pickle in a third of the time of one reduce per change. DDL changes, which
        # carry more, take the plain path.
        changes = self.changes
        if any(c.ddl is not None or c.table is not None for c in changes):
            return Transaction, (self.xid, self.position, self.commit_time, changes, self.source_bytes,
                                 self.complete, self.order)
        relations: list[Relation] = []
        numbers: dict[int, int] = {}
        which = []
        for change in changes:
            number = numbers.get(id(change.relation))
            if number is None:
                number = numbers[id(change.relation)] = len(relations)
                relations.append(change.relation)
            which.append(number)
        columns = ([c.op for c in changes], [c.before for c in changes], [c.after for c in changes])
        return _transaction_from_columns, (self.xid, self.position, self.commit_time, self.source_bytes,
                                           self.complete, relations, which, columns, self.order)


def _transaction_from_columns(xid: str, position: str, commit_time: datetime, source_bytes: int, complete: bool,
                              relations: list[Relation], which: list[int], columns: tuple,
                              order: tuple | None = None) -> Transaction:
    ops, befores, afters = columns
    per_change = [relations[0]] * len(ops) if len(relations) == 1 else [relations[n] for n in which]
    return Transaction(xid, position, commit_time, list(map(RowChange, ops, per_change, befores, afters)),
                       source_bytes, complete, order)


class StreamKind:
    PIECE = "piece"
    ABORT = "abort"
    COMMIT = "commit"


@dataclass(slots=True)
class StreamEvent:
    """Part of a large transaction the source sends while it is still in progress (PostgreSQL 14+
    streams one once it outgrows logical_decoding_work_mem), or that transaction's end. Pieces of
    several such transactions may interleave with each other and with committed transactions; only
    the COMMIT event says where the transaction falls in commit order.

    PIECE: `changes` numbered from `first` within the transaction; `subtransactions` when some of
    them belong to a subtransaction (a savepoint, a PL/pgSQL exception block), which may still abort.
    ABORT: the whole transaction when `discard` is None, else a subtransaction: the transaction's
    changes numbered discard[0] up to discard[1] (excluded) are void. COMMIT: `position`, `order`
    and `commit_time` of the commit, like a Transaction's."""

    kind: str
    xid: str
    changes: list[RowChange] = field(default_factory=list)
    first: int = 0
    subtransactions: bool = False
    source_bytes: int = 0
    discard: tuple[int, int] | None = None
    position: str | None = None
    order: tuple | None = None
    commit_time: datetime | None = None

    def __reduce__(self) -> tuple:
        # A piece's changes pickle as a Transaction: its column-wise form is much cheaper than per change.
        carrier = Transaction(self.xid, "", None, self.changes, self.source_bytes, False)
        return _stream_event, (self.kind, self.xid, carrier, self.first, self.subtransactions, self.discard,
                               self.position, self.order, self.commit_time)


def _stream_event(kind: str, xid: str, carrier: Transaction, first: int, subtransactions: bool,
                  discard: tuple[int, int] | None, position: str | None, order: tuple | None,
                  commit_time: datetime | None) -> StreamEvent:
    return StreamEvent(kind, xid, carrier.changes, first, subtransactions, carrier.source_bytes, discard, position,
                       order, commit_time)


@dataclass(slots=True)
class TargetChange:
    """A change shaped for the target table: `key` holds the target key values of the row
    before the change (all target columns when the table has no key), `row` the target
    column values after it, UNCHANGED where the source did not send a value."""

    op: Op
    key: tuple | None = None
    row: tuple | None = None


@dataclass(frozen=True)
class CaptureStart:
    """Where a change stream starts, and optionally a snapshot consistent with it.

    Changes committed after `position` will be streamed; rows read through `snapshot`
    (valid while the begin_capture context is open) contain everything before it."""

    position: str
    snapshot: str | None = None
    snapshot_position: str | None = None  # the position `snapshot` is consistent with (>= position on resume)
    created: bool = False  # True when the task created the slot/publication just now


@dataclass
class TableSyncState:
    """Per-table progress kept on the target, in the same transaction as the data it describes."""

    state: str  # "loading", "loaded", "replicating"
    snapshot_position: str | None = None  # the stream position the loaded rows are consistent with
    applied_position: str | None = None  # the last change applied to this table


class ChangeStream(ABC):
    """Whole committed source transactions after a position, for the selected tables only."""

    read_changes: int = 0  # row changes read from the source since the stream opened
    read_bytes: int = 0

    @abstractmethod
    def read(self, timeout: float) -> Transaction | None:
        """The next committed transaction, or None if none arrived within `timeout` seconds."""

    @abstractmethod
    def acknowledge(self, position: str) -> None:
        """Called only after the target committed everything up to `position`: the source may
        now forget it (PostgreSQL: the slot's confirmed flush position advances). May be called
        from another thread than read(): implementations record it and tell the source from read()."""

    @property
    @abstractmethod
    def position(self) -> str:
        """The last position the stream has seen (moves on idle streams too, e.g. by heartbeats)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class Applier(ABC):
    """One target connection applying changes inside target transactions.

    The primitives take runs of changes of one kind for one table, in source order;
    tasks.engine.apply decides the runs, the error handling and the checkpoints."""

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def insert(self, plan: TablePlan, rows: list[tuple], *, upsert: bool = False) -> int:
        """Insert rows (upsert: replace the row with the same key). Returns rows affected."""

    @abstractmethod
    def update(self, plan: TablePlan, changes: list[TargetChange]) -> int:
        """Update rows found by change.key, setting every column of change.row except UNCHANGED ones.
        Returns rows affected (fewer than len(changes) means some rows were missing)."""

    def prepare_update(self, plan: TablePlan, changes: list[TargetChange], *, distinct: bool = False
                       ) -> object | None:
        """The part of update() that needs no connection (cutting and rendering the run), for another
        thread to do while this one waits on the target; None when there is nothing to prepare.
        Must not touch the connection: update_prepared() runs on the connection's thread. `distinct`:
        the caller knows no two changes touch one row and none moves its key (nothing to cut)."""
        return None

    def update_prepared(self, plan: TablePlan, changes: list[TargetChange], prepared: object) -> int:
        """update() of `changes` with what prepare_update() returned for them."""
        return self.update(plan, changes)

    @abstractmethod
    def delete(self, plan: TablePlan, keys: list[tuple]) -> int:
        """Delete the rows with these keys (one row per key for keyless tables). Returns rows affected."""

    @abstractmethod
    def truncate(self, plan: TablePlan) -> None: ...

    @abstractmethod
    def execute_ddl(self, plan: TablePlan, action: str, column: Any = None) -> None:
        """Propagate a source DDL: action "add-column" (column is a ColumnPlan) or "drop-column"
        (column is the target column name)."""

    @abstractmethod
    def savepoint(self) -> None: ...

    @abstractmethod
    def rollback_to_savepoint(self) -> None: ...

    @abstractmethod
    def save_state(self, task_id: str, checkpoint: str, commit_time: datetime | None,
                   tables: Mapping[tuple[str, str], TableSyncState]) -> None:
        """Write the checkpoint and per-table states (keyed by source schema, table) in the open
        transaction, so they commit atomically with the changes they cover."""

    @abstractmethod
    def load_state(self, task_id: str) -> tuple[str | None, dict[tuple[str, str], TableSyncState]]:
        """The checkpoint and per-table states last committed for this task."""

    @abstractmethod
    def log_exception(self, task_id: str, plan: TablePlan, statement: str, error: str) -> None:
        """Record a failed change in awsdms_apply_exceptions (outside the failed savepoint)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class Engine(ABC):
    """One database engine: catalog, full-load reads and writes, CDC capture, apply."""

    name: ClassVar[str]
    label: ClassVar[str]
    # Extra connection attributes this engine accepts, with a one-line description each.
    extra_attributes: ClassVar[Mapping[str, str]] = {}

    def __init__(self, conn: ConnectionInfo):
        self.conn = conn

    # -- connection ---------------------------------------------------------------------------
    @abstractmethod
    def test_connection(self, role: EndpointRole, timeout: float = 10.0) -> ConnectionReport:
        """Connect, report the server version, and check what `role` needs (CDC privileges and
        server settings for a source). Never raises: failures are reported with their reason."""

    # -- catalog ------------------------------------------------------------------------------
    @abstractmethod
    def list_tables(self, schemas: Iterable[str] | None = None) -> list[SourceTable]:
        """User tables (and views) with columns mapped to DMS types; unsupported types have
        dms_type None and a reason. System schemas are never listed."""

    @abstractmethod
    def default_schema(self) -> str:
        """The schema a table goes to when nothing names one (PostgreSQL public, MySQL the database)."""

    @abstractmethod
    def target_type(self, dms_type: DmsType, source: SourceColumn | None, source_engine: str | None) -> str:
        """The native DDL type for a target column. Homogeneous migrations may keep the source's
        native type (DMS keeps PostgreSQL types PostgreSQL-to-PostgreSQL)."""

    # -- full load: source side ---------------------------------------------------------------
    def source_formats(self, plan: TablePlan) -> tuple[RowFormat, ...]:
        return (RowFormat.PYTHON,)

    def open_snapshot(self) -> AbstractContextManager[Snapshot | None]:
        """A consistent view for the loaders; engines without one return a context giving None."""
        from contextlib import nullcontext

        return nullcontext(None)

    @abstractmethod
    def read(self, plan: TablePlan, segment: Segment | None, *, fmt: RowFormat, batch_rows: int,
             snapshot: str | None = None) -> Iterator[RowBatch]:
        """Stream the plan's rows (filters applied, segment bounded) in batches of about
        batch_rows, holding no more than one batch in memory."""

    def split(self, plan: TablePlan, parts: int) -> tuple[Segment, ...]:
        """Split a table into about `parts` key ranges of similar size (empty: cannot split)."""
        return ()

    # -- full load: target side ---------------------------------------------------------------
    def target_formats(self) -> tuple[RowFormat, ...]:
        return (RowFormat.PYTHON,)

    @abstractmethod
    def prepare_table(self, plan: TablePlan, mode: PrepMode, *, create_key: bool = True) -> None:
        """Create the target schema and table as `mode` says (drop and create, truncate, or leave)."""

    @abstractmethod
    def load(self, plan: TablePlan, batches: Iterable[RowBatch], *, commit_rows: int) -> LoadResult:
        """Write batches with the fastest safe bulk path; an engine may commit about every commit_rows
        rows (MySQL, SQL Server) or once at the end (PostgreSQL, whose COPY pays for every restart).
        PYTHON batches hold rows in target column order here (the shaper ran)."""

    def finish_table(self, plan: TablePlan) -> None:  # noqa: B027 - optional hook
        """After the load: add the key if it was deferred (CreatePkAfterFullLoad)."""

    # -- change data capture: source side -----------------------------------------------------
    def begin_capture(self, task_id: str, tables: Sequence[SourceTable], *, start: str | None = None,
                      with_snapshot: bool = False) -> AbstractContextManager[CaptureStart]:
        """Prepare capture for the task (PostgreSQL: publication and slot when missing) and fix the
        start position: `start` when given (a native position or a checkpoint's resume position),
        else now. With `with_snapshot`, also export a snapshot (valid until the context exits) and
        say which position it is consistent with: the start itself when the slot is created now
        (PostgreSQL exports it with the slot), a later position when resuming (a temporary slot).
        Engines that cannot share a snapshot leave it None; their readers report positions."""
        raise EngineError(f"{self.label} cannot be a change data capture source yet.", kind=ErrorKind.UNSUPPORTED)

    def open_stream(self, task_id: str, tables: Sequence[SourceTable], start: str,
                    options: Mapping[str, Any] | None = None) -> ChangeStream:
        """Stream committed transactions after `start` for `tables`."""
        raise EngineError(f"{self.label} cannot be a change data capture source yet.", kind=ErrorKind.UNSUPPORTED)

    def end_capture(self, task_id: str) -> None:  # noqa: B027 - optional hook
        """Delete what begin_capture created for this task (slot, publication). Idempotent."""

    def position_at(self, when: datetime) -> str:
        """The native position for a time (CdcStartTime), where the source can map one."""
        raise EngineError(f"{self.label} cannot map a time to a log position: give a native start position.",
                          kind=ErrorKind.UNSUPPORTED)

    def current_position(self) -> str:
        raise EngineError(f"{self.label} cannot be a change data capture source yet.", kind=ErrorKind.UNSUPPORTED)

    # -- change data capture: target side -----------------------------------------------------
    def open_applier(self, control_schema: str) -> Applier:
        """A connection applying changes, with control tables in `control_schema` (created if missing)."""
        raise EngineError(f"{self.label} cannot be a change data capture target yet.", kind=ErrorKind.UNSUPPORTED)

    # -- positions ----------------------------------------------------------------------------
    def position_key(self, position: str) -> tuple:
        """A sortable key for a serialised position of this engine."""
        return (position,)

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
