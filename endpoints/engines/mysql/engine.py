"""MySQLEngine: the facade the task runner sees; each job lives in its own module."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import ClassVar

from ..base import ConnectionReport, EndpointRole, Engine, LoadResult, RowBatch, RowFormat
from ..catalog import SourceColumn, SourceTable
from ..errors import EngineError, ErrorKind
from ..plan import PrepMode, Segment, TablePlan
from ..types import DmsType
from .attributes import EXTRA_ATTRIBUTES
from .connection import connect, server_label
from .errors import translate
from .readiness import cdc_warnings


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
                return ConnectionReport(ok=True, server_version=version)
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
        raise _not_yet("listing tables")

    def target_type(self, dms_type: DmsType, source: SourceColumn | None, source_engine: str | None) -> str:
        raise _not_yet("mapping types")

    # -- full load ----------------------------------------------------------------------------
    def read(self, plan: TablePlan, segment: Segment | None, *, fmt: RowFormat, batch_rows: int,
             snapshot: str | None = None) -> Iterator[RowBatch]:
        raise _not_yet("reading")

    def prepare_table(self, plan: TablePlan, mode: PrepMode, *, create_key: bool = True) -> None:
        raise _not_yet("preparing tables")

    def load(self, plan: TablePlan, batches: Iterable[RowBatch], *, commit_rows: int) -> LoadResult:
        raise _not_yet("loading")


def _not_yet(what: str) -> EngineError:
    return EngineError(f"The MySQL engine does not support {what} yet.", kind=ErrorKind.UNSUPPORTED)
