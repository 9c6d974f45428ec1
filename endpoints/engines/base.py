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
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from .catalog import SourceColumn, SourceTable
from .conninfo import ConnectionInfo
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
    (canonical values; `before` may hold only key values with None elsewhere)."""

    op: Op
    relation: Relation
    before: tuple | None = None
    after: tuple | None = None
    ddl: str | None = None  # statement text for Op.DDL


@dataclass(slots=True)
class Transaction:
    """One committed source transaction, in commit order.

    `position` is the engine's serialised commit position (compare with the
    engine's `position_key`); `changes` keeps the source's statement order.
    """

    xid: str
    position: str
    commit_time: datetime
    changes: list[RowChange]
    source_bytes: int = 0


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
        """Write batches with the fastest safe bulk path, committing about every commit_rows rows.
        PYTHON batches hold rows in target column order here (the shaper ran)."""

    def finish_table(self, plan: TablePlan) -> None:  # noqa: B027 - optional hook
        """After the load: add the key if it was deferred (CreatePkAfterFullLoad)."""

    # -- positions ----------------------------------------------------------------------------
    def position_key(self, position: str) -> tuple:
        """A sortable key for a serialised position of this engine."""
        return (position,)

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
