"""Full-load reads: the SELECT for a table plan (filters, key-range segment) and the batch stream.

Columns whose values pyodbc cannot carry as they are go through an expression
(`select_expression`), the same one the CDC change queries use, so a value reads the
same way in the full load and in the change stream.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..base import RowBatch, RowFormat
from ..catalog import SourceColumn
from ..plan import ColumnFilter, FilterCondition, FilterOp, LobMode, Segment, TablePlan
from ..types import DmsType
from .sqltext import qualified, quote
from .typemap import PADDED_TYPES
from .values import cut_lob, row_converter

SNAPSHOT_ISOLATION = "SET TRANSACTION ISOLATION LEVEL SNAPSHOT;"
READ_COMMITTED = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED;"

_EXPRESSIONS = {
    "datetimeoffset": "CONVERT(nvarchar(34), {col}, 121)",  # '2024-05-01 10:00:00.1234567 +02:00'
    "uniqueidentifier": "CONVERT(char(36), {col})",  # upper case, as SQL Server prints it
    "hierarchyid": "{col}.ToString()",
    "geography": "{col}.ToString()",  # WKT with Z and M values
    "geometry": "{col}.ToString()",
    "xml": "CONVERT(nvarchar(max), {col})",
}


def base_name(native_type: str) -> str:
    return native_type.split("(", 1)[0].strip().lower()


def select_expression(column: SourceColumn, *, trim_char: bool = True) -> str:
    """How one column is selected, aliased to its own name when an expression is used."""
    col = quote(column.name)
    base = base_name(column.native_type)
    if base in _EXPRESSIONS:
        return _EXPRESSIONS[base].format(col=col) + f" AS {col}"
    if trim_char and base in PADDED_TYPES:
        return f"RTRIM({col}) AS {col}"
    return col


def _condition(col: str, condition: FilterCondition) -> tuple[str, list[Any]]:
    op = condition.op
    if op is FilterOp.EQ:
        return f"{col} = ?", [condition.value]
    if op is FilterOp.NOTEQ:
        return f"{col} <> ?", [condition.value]
    if op in (FilterOp.LTE, FilterOp.STE):
        return f"{col} <= ?", [condition.value]
    if op is FilterOp.GTE:
        return f"{col} >= ?", [condition.value]
    if op is FilterOp.BETWEEN:
        return f"{col} BETWEEN ? AND ?", [condition.start, condition.end]
    if op is FilterOp.NOTBETWEEN:
        return f"{col} NOT BETWEEN ? AND ?", [condition.start, condition.end]
    if op is FilterOp.NULL:
        return f"{col} IS NULL", []
    return f"{col} IS NOT NULL", []


def filter_sql(filters: Sequence[ColumnFilter]) -> tuple[str, list[Any]]:
    """DMS source filters: the conditions on one column OR-ed, the columns AND-ed."""
    parts, params = [], []
    for column_filter in filters:
        terms = []
        for condition in column_filter.conditions:
            text, values = _condition(quote(column_filter.column), condition)
            terms.append(text)
            params.extend(values)
        parts.append("(" + " OR ".join(terms) + ")")
    return " AND ".join(parts), params


def _tuple_compare(columns: Sequence[str], bound: Sequence[Any], strict: str, last: str) -> tuple[str, list[Any]]:
    """(c1, c2, ...) compared with a bound as a tuple, written with plain comparisons (T-SQL has no
    row values): c1 op b1 OR (c1 = b1 AND c2 op b2) ..., the last column compared with `last`."""
    terms, params = [], []
    for i, name in enumerate(columns):
        equal = [f"{quote(c)} = ?" for c in columns[:i]]
        op = last if i == len(columns) - 1 else strict
        terms.append("(" + " AND ".join([*equal, f"{quote(name)} {op} ?"]) + ")")
        params.extend([*bound[:i], bound[i]])
    return "(" + " OR ".join(terms) + ")", params


def segment_sql(segment: Segment) -> tuple[str, list[Any]]:
    """lower < (columns) <= upper; rows with a NULL range column go to the segment with include_nulls."""
    parts, params = [], []
    if segment.lower is not None:
        text, values = _tuple_compare(segment.columns, segment.lower, ">", ">")
        parts.append(text)
        params.extend(values)
    if segment.upper is not None:
        text, values = _tuple_compare(segment.columns, segment.upper, "<", "<=")
        parts.append(text)
        params.extend(values)
    condition = " AND ".join(parts)
    if segment.include_nulls:
        nulls = " OR ".join(f"{quote(c)} IS NULL" for c in segment.columns)
        condition = f"({condition}) OR {nulls}" if condition else nulls
    return condition, params


def select_statement(plan: TablePlan, segment: Segment | None = None, *,
                     trim_char: bool = True) -> tuple[str, list[Any]]:
    """The SELECT reading `plan.read_columns`, with the plan's filters and the segment's range."""
    columns = [plan.source.column(name) for name in plan.read_columns]
    expressions = ", ".join(select_expression(c, trim_char=trim_char) for c in columns)
    text = f"SELECT {expressions} FROM {qualified(plan.source_schema, plan.source_table)}"  # noqa: S608 - quoted
    conditions, params = [], []
    if plan.filters:
        where, values = filter_sql(plan.filters)
        conditions.append(where)
        params.extend(values)
    if segment is not None:
        where, values = segment_sql(segment)
        if where:
            conditions.append(f"({where})")
            params.extend(values)
    if conditions:
        text += " WHERE " + " AND ".join(conditions)
    return text, params


def read_types(plan: TablePlan) -> list[DmsType]:
    types = []
    for name in plan.read_columns:
        column = plan.source.column(name)
        assert column.dms_type is not None, f"unsupported column {name} in a plan"
        types.append(column.dms_type)
    return types


def stream(cursor: Any, statement: str, params: Sequence[Any], plan: TablePlan,
           batch_rows: int) -> Iterator[RowBatch]:
    """Execute and yield canonical rows in batches of batch_rows, one batch in memory at a time."""
    types = read_types(plan)
    convert = row_converter(types)
    lob_columns = [i for i, t in enumerate(types) if t.is_lob] if plan.lob.mode is LobMode.LIMITED else []
    cursor.execute(statement, list(params)) if params else cursor.execute(statement)
    while True:
        fetched = cursor.fetchmany(batch_rows)
        if not fetched:
            return
        rows = [convert(tuple(row)) for row in fetched]
        notes: dict[str, int] = {}
        if lob_columns:
            rows = _cut_lobs(rows, lob_columns, plan.lob.max_bytes, notes)
        yield RowBatch(RowFormat.PYTHON, len(rows), rows, notes=notes)


def _cut_lobs(rows: list[tuple], columns: list[int], max_bytes: int, notes: dict[str, int]) -> list[tuple]:
    result = []
    for row in rows:
        values = list(row)
        for index in columns:
            values[index], cut = cut_lob(values[index], max_bytes)
            if cut:
                notes["lob_truncated"] = notes.get("lob_truncated", 0) + 1
        result.append(tuple(values))
    return result
