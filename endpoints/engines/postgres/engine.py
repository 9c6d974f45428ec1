"""PostgresEngine: the thin facade the registry loads; each job lives in its own module."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import ClassVar

from ..base import ConnectionReport, EndpointRole, Engine, LoadResult, RowBatch, RowFormat
from ..catalog import SourceColumn, SourceTable
from ..errors import EngineError, ErrorKind
from ..plan import PrepMode, Segment, TablePlan
from ..types import DmsType
from . import readiness
from .attributes import EXTRA_ATTRIBUTES


class PostgresEngine(Engine):
    name: ClassVar[str] = "postgres"
    label: ClassVar[str] = "PostgreSQL"
    extra_attributes: ClassVar[Mapping[str, str]] = EXTRA_ATTRIBUTES

    # -- connection ---------------------------------------------------------------------------
    def test_connection(self, role: EndpointRole, timeout: float = 10.0) -> ConnectionReport:
        return readiness.test_connection(self.conn, role, timeout)

    # -- catalog ------------------------------------------------------------------------------
    def default_schema(self) -> str:
        return "public"

    def list_tables(self, schemas: Iterable[str] | None = None) -> list[SourceTable]:
        raise _pending("list_tables")

    def target_type(self, dms_type: DmsType, source: SourceColumn | None, source_engine: str | None) -> str:
        raise _pending("target_type")

    # -- full load ----------------------------------------------------------------------------
    def read(self, plan: TablePlan, segment: Segment | None, *, fmt: RowFormat, batch_rows: int,
             snapshot: str | None = None) -> Iterator[RowBatch]:
        raise _pending("read")

    def prepare_table(self, plan: TablePlan, mode: PrepMode, *, create_key: bool = True) -> None:
        raise _pending("prepare_table")

    def load(self, plan: TablePlan, batches: Iterable[RowBatch], *, commit_rows: int) -> LoadResult:
        raise _pending("load")


def _pending(what: str) -> EngineError:
    return EngineError(f"PostgreSQL {what} is not available yet in this build.", kind=ErrorKind.UNSUPPORTED)
