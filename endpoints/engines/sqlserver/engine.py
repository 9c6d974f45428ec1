"""SqlServerEngine: the facade the task runner sees; each job lives in its own module."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
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
)
from ..catalog import SourceColumn, SourceTable
from ..errors import EngineError, ErrorKind
from ..plan import PrepMode, Segment, TablePlan
from ..types import DmsType
from . import ddl, load, split, typemap
from .applier import SqlServerApplier
from .attributes import EXTRA_ATTRIBUTES, settings
from .catalog import fetch_dicts, read_catalog
from .cdc_setup import (
    build_instances,
    by_table,
    capture_changes,
    missing_statements,
    require_captured_columns,
    require_cdc,
)
from .cdc_stream import MsCdcStream
from .connection import connect, current_driver, session
from .errors import translate
from .lsn import ZERO, Lsn
from .readiness import server_label, source_findings, target_findings
from .reads import SNAPSHOT_ISOLATION, select_statement, stream
from .sqlfiles import sql

log = logging.getLogger(__name__)


class SqlServerEngine(Engine):
    name: ClassVar[str] = "sqlserver"
    label: ClassVar[str] = "Microsoft SQL Server"
    extra_attributes: ClassVar[Mapping[str, str]] = EXTRA_ATTRIBUTES

    # -- connection ---------------------------------------------------------------------------
    def test_connection(self, role: EndpointRole, timeout: float = 10.0) -> ConnectionReport:
        try:
            options = settings(self.conn)
            connection = connect(self.conn, timeout=timeout, autocommit=True)
        except EngineError as exc:
            return ConnectionReport(ok=False, message=exc.message)
        try:
            cursor = connection.cursor()
            facts = fetch_dicts(cursor, sql("server_facts"))[0]
            version = server_label(facts)
            if role is not EndpointRole.SOURCE:
                return ConnectionReport(ok=True, server_version=version, warnings=target_findings(facts).all)
            agent = _optional(cursor, "agent_status")
            jobs = _optional(cursor, "cdc_jobs")
            found = source_findings(facts, None if agent is None else [r["status_desc"] for r in agent], jobs,
                                    options)
            return ConnectionReport(ok=True, server_version=version, warnings=found.all,
                                    cdc_ready=not found.blockers)
        except Exception as exc:  # Test connection reports every failure, it never raises
            return ConnectionReport(ok=False, message=translate(exc, self.conn, "checking the server").message)
        finally:
            connection.close()

    # -- catalog ------------------------------------------------------------------------------
    def default_schema(self) -> str:
        return "dbo"

    def list_tables(self, schemas: Iterable[str] | None = None) -> list[SourceTable]:
        with session(self.conn, "reading the catalog", autocommit=True) as connection:
            return read_catalog(connection, schemas)

    def target_type(self, dms_type: DmsType, source: SourceColumn | None, source_engine: str | None) -> str:
        return typemap.target_type(dms_type, source, source_engine)

    # -- full load: source side ---------------------------------------------------------------
    def read(self, plan: TablePlan, segment: Segment | None, *, fmt: RowFormat, batch_rows: int,
             snapshot: str | None = None) -> Iterator[RowBatch]:
        if fmt is not RowFormat.PYTHON:
            raise EngineError(f"{self.label} reads rows as Python values only, not {fmt}.", kind=ErrorKind.UNSUPPORTED)
        options = settings(self.conn)
        statement, params = select_statement(plan, segment, trim_char=options.trim_space_in_char)
        doing = f"reading table {plan.source_schema}.{plan.source_table}"
        with session(self.conn, doing, statement_timeout=0) as connection:
            cursor = connection.cursor()
            if options.snapshot_isolation:
                cursor.execute(SNAPSHOT_ISOLATION)
            yield from stream(cursor, statement, params, plan, batch_rows)

    def split(self, plan: TablePlan, parts: int) -> tuple[Segment, ...]:
        if parts < 2 or not plan.source_key:
            return ()
        doing = f"splitting table {plan.source_schema}.{plan.source_table}"
        with session(self.conn, doing, autocommit=True, statement_timeout=0) as connection:
            tops = connection.cursor().execute(split.bounds_query(plan), parts).fetchall()
        return split.segments(plan.source_key, [tuple(t) for t in tops])

    # -- full load: target side ---------------------------------------------------------------
    def prepare_table(self, plan: TablePlan, mode: PrepMode, *, create_key: bool = True) -> None:
        doing = f"preparing table {plan.target_schema}.{plan.target_table}"
        with session(self.conn, doing, autocommit=True) as connection:
            cursor = connection.cursor()
            for statement in ddl.prepare_statements(plan, mode, create_key=create_key):
                cursor.execute(statement)

    def load(self, plan: TablePlan, batches: Iterable[RowBatch], *, commit_rows: int) -> LoadResult:
        parameter_arrays = current_driver(self.conn).microsoft
        doing = f"loading table {plan.target_schema}.{plan.target_table}"
        with session(self.conn, doing, statement_timeout=0) as connection:
            return load.load(connection, plan, batches, commit_rows=commit_rows, parameter_arrays=parameter_arrays)

    def finish_table(self, plan: TablePlan) -> None:
        statement = ddl.add_key_statement(plan)
        if statement is None:
            return
        with session(self.conn, f"adding the key of {plan.target_schema}.{plan.target_table}",
                     autocommit=True, statement_timeout=0) as connection:
            connection.cursor().execute(statement)

    def create_control_tables(self, schema: str = ddl.DEFAULT_CONTROL_SCHEMA) -> None:
        filegroup = settings(self.conn).control_filegroup
        with session(self.conn, f"creating the control tables in schema {schema}", autocommit=True) as connection:
            cursor = connection.cursor()
            for statement in ddl.control_table_statements(schema, filegroup):
                cursor.execute(statement)

    # -- change data capture: source side --------------------------------------------------------
    def ensure_cdc(self, tables: Sequence[SourceTable]) -> list[str]:
        """Check MS-CDC for the database and `tables`; with setUpMsCdcForTables=Y enable what is
        missing, else raise CONFIGURATION printing the statements. Returns notes on capture instances."""
        return self._check_cdc(tables)[0]

    def _check_cdc(self, tables: Sequence[SourceTable]) -> tuple[list[str], list[str]]:
        """(notes on capture instances, the enabling statements run). A table with columns its capture
        instance does not capture is refused (CONFIGURATION, with the statement creating a new one)."""
        options = settings(self.conn)
        ran: list[str] = []
        with session(self.conn, "checking MS-CDC", autocommit=True) as connection:
            cursor = connection.cursor()
            database = fetch_dicts(cursor, sql("cdc_database"))[0]
            enabled = bool(database["is_cdc_enabled"])
            instances = build_instances(fetch_dicts(cursor, sql("cdc_capture_instances"))) if enabled else []
            if options.set_up_cdc:
                for statement in missing_statements(enabled, tables, instances):
                    cursor.execute(statement)
                    ran.append(statement)
                instances = build_instances(fetch_dicts(cursor, sql("cdc_capture_instances")))
                enabled = True
            require_cdc(self.conn.database, enabled, tables, instances)
        grouped = by_table(instances)
        require_captured_columns(tables, grouped)
        notes = [note for t in tables for note in capture_changes(t, grouped.get((t.schema, t.name), []))]
        return notes, ran

    @contextmanager
    def begin_capture(self, task_id: str, tables: Sequence[SourceTable], *, start: str | None = None,
                      with_snapshot: bool = False) -> Iterator[CaptureStart]:
        """Check (or, with setUpMsCdcForTables=Y, enable) MS-CDC and fix the start: `start` (an LSN) when
        given, else now, the highest LSN the capture job has harvested (LSN 0 before its first run).

        MS-CDC cannot share one snapshot between connections, so `snapshot` is None whatever
        `with_snapshot` says; the loaders read on their own and cached changes apply idempotently.
        The readers report no snapshot position either: one under SNAPSHOT isolation could read
        sys.fn_cdc_get_max_lsn() inside its snapshot, but the capture job runs seconds behind the
        log, so the snapshot also holds commits above that LSN; reported as exact, their changes
        would be applied a second time without upserts. Nothing is created for the task: `created`
        says whether CDC was enabled just now; it stays enabled when the task ends (see end_capture)."""
        notes, ran = self._check_cdc(tables)
        for note in notes:
            log.warning("task %s: %s", task_id, note)
        if ran:
            log.info("task %s enabled MS-CDC (%s); it stays enabled after the task: disable it with "
                     "sys.sp_cdc_disable_table / sys.sp_cdc_disable_db once no consumer needs it", task_id,
                     " ".join(ran))
        position = Lsn.parse(start) if start else self._max_lsn() or ZERO
        yield CaptureStart(position=str(position), created=bool(ran))

    def open_stream(self, task_id: str, tables: Sequence[SourceTable], start: str,
                    options: Mapping[str, Any] | None = None) -> ChangeStream:
        """Poll the change tables every pollingInterval seconds (options["polling_interval"] overrides
        the endpoint's attribute) for commits after `start`."""
        config = settings(self.conn)
        interval = float((options or {}).get("polling_interval", config.polling_interval))
        return MsCdcStream(lambda: connect(self.conn, autocommit=True), tables, Lsn.parse(start),
                           polling_interval=interval, trim_char=config.trim_space_in_char,
                           translate=lambda exc: translate(exc, self.conn, "reading MS-CDC changes"))

    def end_capture(self, task_id: str) -> None:
        """Nothing to drop: MS-CDC keeps no per-reader state (no slot), and its change tables are shared.
        CDC that setUpMsCdcForTables enabled for the task is deliberately left on: disabling it would
        drop the change tables other consumers (other tasks, ETL jobs) read. begin_capture logs the
        statements it ran so a DBA can undo them."""

    def _max_lsn(self) -> Lsn | None:
        with session(self.conn, "reading the current LSN", autocommit=True) as connection:
            raw = connection.cursor().execute(sql("cdc_max_lsn")).fetchone()[0]
        return Lsn.from_bytes(bytes(raw)) if raw else None

    def current_position(self) -> str:
        position = self._max_lsn()
        if position is None:
            raise EngineError(f"MS-CDC has no current LSN in database {self.conn.database!r}: CDC is not enabled, "
                              "or its capture job has not run yet. Enable CDC and start SQL Server Agent.",
                              kind=ErrorKind.CONFIGURATION)
        return str(position)

    def position_at(self, when: datetime) -> str:
        """The last commit before `when` (naive UTC; sql/cdc_time_to_lsn.sql shifts it to server time)."""
        with session(self.conn, "mapping a time to an LSN", autocommit=True) as connection:
            raw = connection.cursor().execute(sql("cdc_time_to_lsn"), when).fetchone()[0]
        return str(Lsn.from_bytes(bytes(raw)) if raw else Lsn(0))

    # -- change data capture: target side --------------------------------------------------------
    def open_applier(self, control_schema: str) -> Applier:
        """An applier on its own connection, control tables created in `control_schema` ("" is dbo)."""
        config = settings(self.conn)
        connection = connect(self.conn, autocommit=True)
        try:
            return SqlServerApplier(connection, self.conn, control_schema or ddl.DEFAULT_CONTROL_SCHEMA,
                                    parameter_arrays=current_driver(self.conn).microsoft,
                                    filegroup=config.control_filegroup)
        except BaseException:
            connection.close()
            raise

    # -- positions ----------------------------------------------------------------------------
    def position_key(self, position: str) -> tuple:
        return (Lsn.parse(position).value,)


def _optional(cursor: Any, name: str) -> list[dict[str, Any]] | None:
    """Rows of a check the login may lack the rights for: None when it fails."""
    try:
        return fetch_dicts(cursor, sql(name))
    except Exception:  # a missing permission only means the check cannot be made
        return None
