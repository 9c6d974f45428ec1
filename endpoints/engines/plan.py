"""The plan for one table: what to read, how to shape it, where it goes.

Built by `tasks.engine.mapping` from the source catalog, the table-mapping
document and the task settings; consumed by engines (reads, DDL, loads, apply).
Plain frozen data, JSON-serialisable through `to_json`, so a plan can be printed
by the dry run, shown in the wizard preview and shipped to segment jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .catalog import SourceTable
from .types import DmsType


class PrepMode(StrEnum):
    DO_NOTHING = "DO_NOTHING"
    DROP_AND_CREATE = "DROP_AND_CREATE"
    TRUNCATE_BEFORE_LOAD = "TRUNCATE_BEFORE_LOAD"


class LobMode(StrEnum):
    NONE = "none"  # LOB columns are not replicated (SupportLobs=false)
    LIMITED = "limited"  # values longer than max_bytes are cut, counted and logged
    FULL = "full"  # values are carried whole


@dataclass(frozen=True)
class LobSettings:
    mode: LobMode = LobMode.LIMITED
    max_bytes: int = 32 * 1024  # limited mode: LobMaxSize (KB) * 1024


class FilterOp(StrEnum):
    EQ = "eq"
    NOTEQ = "noteq"
    LTE = "lte"
    STE = "ste"  # DMS's alias of lte
    GTE = "gte"
    BETWEEN = "between"
    NOTBETWEEN = "notbetween"
    NULL = "null"
    NOTNULL = "notnull"


@dataclass(frozen=True)
class FilterCondition:
    op: FilterOp
    value: str | None = None
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class ColumnFilter:
    """Conditions on one source column, OR-ed; several ColumnFilters are AND-ed."""

    column: str
    conditions: tuple[FilterCondition, ...]


@dataclass(frozen=True)
class Segment:
    """A key range: rows with lower < (columns) <= upper, compared as tuples.

    None for a bound means unbounded on that side. Rows whose range columns are
    NULL belong to no bounded segment; the planner adds them to the last one.
    """

    index: int
    columns: tuple[str, ...]
    lower: tuple[Any, ...] | None = None
    upper: tuple[Any, ...] | None = None
    include_nulls: bool = False
    partition: str | None = None  # parallel-load partitions-auto: read this partition (columns empty)


@dataclass(frozen=True)
class Expression:
    """A parsed add-column expression (SQLite syntax, $COLUMN references).

    `ast` is a nested tuple tree built by tasks.engine.expressions; engines
    never evaluate it, the neutral row shaper does.
    """

    text: str
    ast: Any
    columns: tuple[str, ...]  # source columns it references


@dataclass(frozen=True)
class ColumnPlan:
    """One target column. Exactly one of `source`, `expression`, `constant` feeds it."""

    name: str
    dms_type: DmsType
    target_type: str  # native DDL type on the target
    nullable: bool = True
    source: str | None = None  # source column name
    source_type: str | None = None  # native type on the source, for previews and fidelity
    source_dms_type: DmsType | None = None  # before change-data-type
    expression: Expression | None = None
    constant: Any = None
    added: bool = False

    @property
    def converts(self) -> bool:
        """True when the value must change type between source and target (change-data-type)."""
        return self.source_dms_type is not None and self.source_dms_type != self.dms_type


@dataclass(frozen=True)
class UnsupportedColumn:
    schema: str
    table: str
    column: str
    native_type: str
    reason: str


@dataclass(frozen=True)
class TablePlan:
    source: SourceTable
    target_schema: str
    target_table: str
    columns: tuple[ColumnPlan, ...]
    key: tuple[str, ...] = ()  # target column names of the PK / unique key used for apply
    key_origin: str = "primary-key"  # "primary-key" or "unique-index"
    filters: tuple[ColumnFilter, ...] = ()
    segments: tuple[Segment, ...] = ()
    lob: LobSettings = field(default_factory=LobSettings)
    load_order: int = 0
    unsupported: tuple[UnsupportedColumn, ...] = ()
    rule_ids: tuple[str, ...] = ()  # the rules that selected and shaped this table

    @property
    def source_schema(self) -> str:
        return self.source.schema

    @property
    def source_table(self) -> str:
        return self.source.name

    @property
    def read_columns(self) -> tuple[str, ...]:
        """Source columns to read, in order: every column feeding the target, then expression inputs."""
        seen: dict[str, None] = {}
        for column in self.columns:
            if column.source:
                seen.setdefault(column.source)
            if column.expression:
                for name in column.expression.columns:
                    seen.setdefault(name)
        return tuple(seen)

    @property
    def source_key(self) -> tuple[str, ...]:
        """The source columns behind the target key (for matching CDC before-images)."""
        by_target = {c.name: c.source for c in self.columns}
        return tuple(by_target[k] or k for k in self.key)

    @property
    def passthrough(self) -> bool:
        """True when every target column is a plain source column of the same type:
        rows may then flow in a native bulk format without per-value Python work."""
        return all(c.source and not c.converts and c.expression is None for c in self.columns)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": {"schema": self.source.schema, "table": self.source.name,
                       "estimated_rows": self.source.estimated_rows},
            "target": {"schema": self.target_schema, "table": self.target_table},
            "columns": [
                {
                    "name": c.name,
                    "source_column": c.source,
                    "source_type": c.source_type,
                    "intermediate_type": str(c.dms_type),
                    "target_type": c.target_type,
                    "nullable": c.nullable,
                    **({"expression": c.expression.text} if c.expression else {}),
                    **({"value": c.constant} if c.added and c.expression is None else {}),
                }
                for c in self.columns
            ],
            "key": {"columns": list(self.key), "origin": self.key_origin} if self.key else None,
            "filters": [
                {"column": f.column,
                 "conditions": [{k: v for k, v in (("operator", c.op.value), ("value", c.value),
                                                   ("start", c.start), ("end", c.end)) if v is not None}
                                for c in f.conditions]}
                for f in self.filters
            ],
            "segments": [
                {"columns": list(s.columns), "lower": _jsonable(s.lower), "upper": _jsonable(s.upper),
                 **({"partition": s.partition} if s.partition is not None else {})}
                for s in self.segments
            ],
            "lob": {"mode": self.lob.mode.value, "max_bytes": self.lob.max_bytes},
            "load_order": self.load_order,
            "unsupported_columns": [
                {"column": u.column, "type": u.native_type, "reason": u.reason} for u in self.unsupported
            ],
        }


def _jsonable(bound: tuple[Any, ...] | None) -> list[Any] | None:
    return None if bound is None else [v if isinstance(v, int | float | str | None) else str(v) for v in bound]


def identity_plan(table: SourceTable, target: Any, *, source_engine: str | None = None,
                  target_schema: str | None = None, lob: LobSettings | None = None) -> TablePlan:
    """The plan with no transformation rules: same names, every supported column, the source key.

    `target` is the target Engine (it names the native types). The mapping module starts
    from this and applies the table-mapping document's rules to it.
    """
    columns = []
    unsupported = []
    for column in table.columns:
        if column.dms_type is None:
            unsupported.append(UnsupportedColumn(table.schema, table.name, column.name, column.native_type,
                                                 column.unsupported or "type not supported"))
            continue
        columns.append(ColumnPlan(
            name=column.name,
            dms_type=column.dms_type,
            target_type=target.target_type(column.dms_type, column, source_engine),
            nullable=column.nullable,
            source=column.name,
            source_type=column.native_type,
            source_dms_type=column.dms_type,
        ))
    key = table.best_key
    return TablePlan(
        source=table,
        target_schema=target_schema or table.schema,
        target_table=table.name,
        columns=tuple(columns),
        key=key,
        key_origin="primary-key" if table.primary_key else "unique-index",
        lob=lob or LobSettings(),
        unsupported=tuple(unsupported),
    )
