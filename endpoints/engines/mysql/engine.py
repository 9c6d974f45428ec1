"""MySQLEngine: the facade the task runner sees; each job lives in its own module."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, ClassVar

from ..base import (
    Applier,
    CaptureStart,
    ChangeStream,
    ConnectionReport,
    EndpointRole,
    Engine,
    LoadResult,
    RowBatch,
    RowFormat,
    Snapshot,
)
from ..catalog import SourceColumn, SourceTable
from ..errors import EngineError
from ..plan import PrepMode, Segment, TablePlan
from ..types import DmsType
from . import capture, capture_start, catalog, control, ddl, positions, reader, split, timemap, typemap, writer
from .applier import MySQLApplier
from .attributes import EXTRA_ATTRIBUTES
from .connection import connect, server_label, session
from .errors import translate
from .readiness import cdc_warnings, target_warnings
from .snapshot import PositionSnapshot, snapshot_position


class MySQLEngine(Engine):
    name: ClassVar[str] = "mysql"
    label: ClassVar[str] = "MySQL / MariaDB"
    extra_attributes: ClassVar[Mapping[str, str]] = EXTRA_ATTRIBUTES

    # -- connection ---------------------------------------------------------------------------
    def test_connection(self, role: EndpointRole, timeout: float = 10.0) -> ConnectionReport:
        try:
            raw = connect(self.conn, timeout=timeout, read_timeout=timeout)
        except EngineError as exc:
            return ConnectionReport(ok=False, message=exc.message)
        try:
            version = server_label(raw)
            if role is not EndpointRole.SOURCE:
                return ConnectionReport(ok=True, server_version=version, warnings=tuple(target_warnings(raw)))
            warnings = cdc_warnings(raw)
            return ConnectionReport(ok=True, server_version=version, warnings=tuple(warnings),
                                    cdc_ready=not warnings)
        except Exception as exc:  # Test connection reports every failure, it never raises
            return ConnectionReport(ok=False, message=translate(exc, self.conn, "checking the server").message)
        finally:
            raw.close()

    # -- catalog ------------------------------------------------------------------------------
    def default_schema(self) -> str:
        return self.conn.database

    def list_tables(self, schemas: Iterable[str] | None = None) -> list[SourceTable]:
        with session(self.conn, "reading the catalog") as raw:
            return catalog.list_tables(raw, schemas)

    def target_type(self, dms_type: DmsType, source: SourceColumn | None, source_engine: str | None) -> str:
        return typemap.target_type(dms_type, source, source_engine)

    # -- full load: source side ----------------------------------------------------------------------------
    def source_formats(self, plan: TablePlan) -> tuple[RowFormat, ...]:
        if plan.passthrough:
            return (RowFormat.PG_COPY_TEXT, RowFormat.MYSQL_LOAD_TEXT, RowFormat.PYTHON)
        return (RowFormat.PYTHON,)

    @contextmanager
    def open_snapshot(self) -> Iterator[Snapshot | None]:
        """A position only (token None): MySQL snapshots cannot be shared, so each read() takes
        its own and reports its position on its first batch; see snapshot.py."""
        with session(self.conn, "reading the binary log position", autocommit=False) as raw:
            position = snapshot_position(raw)
        yield PositionSnapshot(position)

    def read(self, plan: TablePlan, segment: Segment | None, *, fmt: RowFormat, batch_rows: int,
             snapshot: str | None = None) -> Iterator[RowBatch]:
        return reader.read(self.conn, plan, segment, fmt=fmt, batch_rows=batch_rows)

    def split(self, plan: TablePlan, parts: int) -> tuple[Segment, ...]:
        # Sampling a big table scans it: no executeTimeout here.
        with session(self.conn, f"splitting {plan.source.qualified}", read_timeout=None) as raw:
            return split.split(raw, plan, parts)

    # -- full load: target side ---------------------------------------------------------------
    def target_formats(self) -> tuple[RowFormat, ...]:
        return (RowFormat.MYSQL_LOAD_TEXT, RowFormat.PYTHON)

    def prepare_table(self, plan: TablePlan, mode: PrepMode, *, create_key: bool = True) -> None:
        database = ddl.target_database(self.conn, plan)
        with session(self.conn, f"preparing target table {database}.{plan.target_table}", use_database=False,
                     read_timeout=None) as raw:
            ddl.prepare_table(raw, database, plan, mode, create_key=create_key)

    def load(self, plan: TablePlan, batches: Iterable[RowBatch], *, commit_rows: int) -> LoadResult:
        return writer.load(self.conn, plan, batches, commit_rows=commit_rows)

    def finish_table(self, plan: TablePlan) -> None:
        database = ddl.target_database(self.conn, plan)
        with session(self.conn, f"adding the key of {database}.{plan.target_table}", use_database=False,
                     read_timeout=None) as raw:
            ddl.finish_table(raw, database, plan)

    def ensure_control_tables(self, schema: str = control.DEFAULT_CONTROL_SCHEMA) -> None:
        """The DMS control tables and our checkpoint table in `schema` (a database)."""
        with session(self.conn, f"creating the control tables in {schema}", use_database=False) as raw:
            control.ensure_control_tables(raw, schema or control.DEFAULT_CONTROL_SCHEMA)

    # -- change data capture: source side (capture_start.py, capture.py, positions.py, timemap.py) --
    def begin_capture(self, task_id: str, tables: Sequence[SourceTable], *, start: str | None = None,
                      with_snapshot: bool = False) -> AbstractContextManager[CaptureStart]:
        return capture_start.begin_capture(self.conn, task_id, tables, start=start, with_snapshot=with_snapshot)

    def open_stream(self, task_id: str, tables: Sequence[SourceTable], start: str,
                    options: Mapping[str, Any] | None = None) -> ChangeStream:
        return capture.open_stream(self.conn, task_id, tables, start, options)

    def end_capture(self, task_id: str) -> None:
        """Nothing to drop: a binary log replica leaves no state on the server (no slot, no
        publication); the task's position lives in its checkpoint on the target."""

    def current_position(self) -> str:
        with session(self.conn, "reading the binary log position") as raw:
            return str(positions.current_position(raw))

    def position_at(self, when: datetime) -> str:
        return timemap.position_at(self.conn, when)

    # -- change data capture: target side (applier.py and its apply_* modules) --------------------
    def open_applier(self, control_schema: str) -> Applier:
        """A connection applying changes; control tables in `control_schema` ("" is awsdms_control)."""
        return MySQLApplier(self.conn, control_schema)

    # -- positions ----------------------------------------------------------------------------
    def position_key(self, position: str) -> tuple:
        return positions.position_key(position)

