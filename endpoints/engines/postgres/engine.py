"""PostgresEngine: the thin facade the registry loads; each job lives in its own module."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import psycopg

from ..base import Applier, ConnectionReport, EndpointRole, Engine, LoadResult, RowBatch, RowFormat, Snapshot
from ..catalog import SourceColumn, SourceTable
from ..errors import EngineError, ErrorKind
from ..plan import PrepMode, Segment, TablePlan
from ..types import DmsType
from . import catalog, control, ddl, reader, readiness, segments, typemap, writer
from . import snapshot as snapshots
from .attributes import EXTRA_ATTRIBUTES
from .connection import connect, translate_error
from .lsn import format_lsn, parse_lsn

if TYPE_CHECKING:
    from ..base import CaptureStart, ChangeStream

DEFAULT_EXECUTE_TIMEOUT = 60.0


class PostgresEngine(Engine):
    name: ClassVar[str] = "postgres"
    label: ClassVar[str] = "PostgreSQL"
    extra_attributes: ClassVar[Mapping[str, str]] = EXTRA_ATTRIBUTES

    # -- connection ---------------------------------------------------------------------------
    def test_connection(self, role: EndpointRole, timeout: float = 10.0) -> ConnectionReport:
        return readiness.test_connection(self.conn, role, timeout)

    def connect(self, *, autocommit: bool = False, timeout: float = 30.0) -> psycopg.Connection:
        """A new session with this endpoint's settings (for CDC and apply modules of this package)."""
        return connect(self.conn, timeout=timeout, autocommit=autocommit)

    # -- catalog ------------------------------------------------------------------------------
    def default_schema(self) -> str:
        return "public"

    def list_tables(self, schemas: Iterable[str] | None = None) -> list[SourceTable]:
        timeout = float(self.conn.attr("executeTimeout") or DEFAULT_EXECUTE_TIMEOUT)
        try:
            with connect(self.conn, timeout=30, autocommit=True, statement_timeout=timeout) as conn:
                return catalog.list_tables(conn, schemas, typemap.MappingOptions.from_conninfo(self.conn))
        except psycopg.Error as exc:
            raise translate_error(exc, self.conn, doing="reading the catalog") from None

    def target_type(self, dms_type: DmsType, source: SourceColumn | None, source_engine: str | None) -> str:
        return typemap.target_type(dms_type, source, source_engine)

    # -- full load: source side ---------------------------------------------------------------
    def source_formats(self, plan: TablePlan) -> tuple[RowFormat, ...]:
        if plan.passthrough:
            return (RowFormat.PG_COPY_TEXT, RowFormat.PYTHON)
        return (RowFormat.PYTHON,)

    def open_snapshot(self) -> AbstractContextManager[Snapshot | None]:
        return snapshots.open_snapshot(self.conn)

    def read(self, plan: TablePlan, segment: Segment | None, *, fmt: RowFormat, batch_rows: int,
             snapshot: str | None = None) -> Iterator[RowBatch]:
        return reader.read(self.conn, plan, segment, fmt=fmt, batch_rows=batch_rows, snapshot=snapshot)

    def split(self, plan: TablePlan, parts: int) -> tuple[Segment, ...]:
        return segments.split(self.conn, plan, parts)

    # -- full load: target side ---------------------------------------------------------------
    def target_formats(self) -> tuple[RowFormat, ...]:
        return (RowFormat.PG_COPY_TEXT, RowFormat.PYTHON)

    def prepare_table(self, plan: TablePlan, mode: PrepMode, *, create_key: bool = True) -> None:
        ddl.prepare_table(self.conn, plan, mode, create_key=create_key)

    def load(self, plan: TablePlan, batches: Iterable[RowBatch], *, commit_rows: int) -> LoadResult:
        return writer.load(self.conn, plan, batches, commit_rows=commit_rows)

    def finish_table(self, plan: TablePlan) -> None:
        ddl.finish_table(self.conn, plan)

    def ensure_control_tables(self, schema: str = "public") -> None:
        control.ensure_control_tables(self.conn, schema)

    # -- change data capture: source side (capture.py, replication.py) --------------------------
    # Imported when first used: a full load does without them (and without psycopg2).
    def begin_capture(self, task_id: str, tables: Sequence[SourceTable], *, start: str | None = None,
                      with_snapshot: bool = False) -> AbstractContextManager[CaptureStart]:
        from . import replication

        return replication.begin_capture(self.conn, task_id, tables, start=start, with_snapshot=with_snapshot)

    def open_stream(self, task_id: str, tables: Sequence[SourceTable], start: str,
                    options: Mapping[str, Any] | None = None) -> ChangeStream:
        from . import capture

        return capture.open_stream(self.conn, task_id, tables, start, options)

    def end_capture(self, task_id: str) -> None:
        from . import replication

        replication.end_capture(self.conn, task_id)

    def current_position(self) -> str:
        try:
            with connect(self.conn, timeout=30, autocommit=True) as conn:
                return format_lsn(parse_lsn(conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]))
        except psycopg.Error as exc:
            raise translate_error(exc, self.conn, doing="reading the current WAL position") from None

    def position_at(self, when: datetime) -> str:
        raise EngineError("PostgreSQL cannot map a time to a log position (DMS does not support CdcStartTime for "
                          "PostgreSQL sources): give a native CdcStartPosition (an LSN such as 4AF/B00000D0) with a "
                          "logical replication slot named by the slotName attribute.", kind=ErrorKind.UNSUPPORTED)

    def position_key(self, position: str) -> tuple:
        return (parse_lsn(position),)

    # -- change data capture: target side -----------------------------------------------------
    def open_applier(self, control_schema: str) -> Applier:
        from .applier import PostgresApplier

        return PostgresApplier(self.conn, control_schema)
