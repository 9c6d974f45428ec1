"""WHERE clauses for reads: DMS source filters and key-range segments, always with parameters.

Filter values travel as parameters, never in the SQL text. Segment bounds are tuple
comparisons written out as OR/AND chains, which MySQL turns into index ranges
(row constructors in comparisons are not always range-optimised).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import EngineError, ErrorKind
from ..plan import ColumnFilter, FilterCondition, FilterOp, Segment
from .sqltext import quote


@dataclass
class Clause:
    """SQL text with %s placeholders and the parameters that fill them, in order."""

    text: str = ""
    params: list[Any] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.text)


def where_clause(filters: Sequence[ColumnFilter], segment: Segment | None, *,
                 timestamp_columns: frozenset[str] = frozenset(), server_timezone: str | None = None) -> Clause:
    """' WHERE ...' for the filters (AND across columns, OR within one) and the segment, or ''.

    With `server_timezone`, filter values on TIMESTAMP columns are read in that zone (the
    session runs in UTC, so the value is converted to UTC first)."""
    parts: list[Clause] = []
    for column_filter in filters:
        convert = server_timezone if column_filter.column in timestamp_columns else None
        parts.append(_column_filter(column_filter, convert))
    if segment is not None:
        bounds = segment_clause(segment)
        if bounds:
            parts.append(bounds)
    parts = [p for p in parts if p]
    if not parts:
        return Clause()
    return Clause(" WHERE " + " AND ".join(f"({p.text})" for p in parts),
                  [v for p in parts for v in p.params])


def _column_filter(column_filter: ColumnFilter, server_timezone: str | None) -> Clause:
    column = quote(column_filter.column)
    placeholder = "CONVERT_TZ(%s, %s, '+00:00')" if server_timezone else "%s"
    alternatives = [_condition(column, c, placeholder, server_timezone) for c in column_filter.conditions]
    if not alternatives:
        return Clause()
    return Clause(" OR ".join(f"({a.text})" for a in alternatives), [v for a in alternatives for v in a.params])


def _condition(column: str, condition: FilterCondition, placeholder: str, zone: str | None) -> Clause:
    op = condition.op

    def value(v: str | None) -> list[Any]:
        if v is None:
            raise EngineError(f"The filter on {column} with operator {op.value} has no value: give one in the "
                              "table mapping.", kind=ErrorKind.CONFIGURATION)
        return [v, zone] if zone else [v]

    if op is FilterOp.NULL:
        return Clause(f"{column} IS NULL")
    if op is FilterOp.NOTNULL:
        return Clause(f"{column} IS NOT NULL")
    if op in (FilterOp.BETWEEN, FilterOp.NOTBETWEEN):
        word = "BETWEEN" if op is FilterOp.BETWEEN else "NOT BETWEEN"
        return Clause(f"{column} {word} {placeholder} AND {placeholder}", value(condition.start) + value(condition.end))
    symbol = {FilterOp.EQ: "=", FilterOp.NOTEQ: "<>", FilterOp.LTE: "<=", FilterOp.STE: "<=", FilterOp.GTE: ">="}
    return Clause(f"{column} {symbol[op]} {placeholder}", value(condition.value))


def segment_clause(segment: Segment) -> Clause:
    """lower < (columns) <= upper, plus rows with a NULL key column when include_nulls."""
    columns = [quote(c) for c in segment.columns]
    parts = []
    if segment.lower is not None:
        parts.append(_tuple_compare(columns, list(segment.lower), ">"))
    if segment.upper is not None:
        parts.append(_tuple_compare(columns, list(segment.upper), "<="))
    bounded = Clause(" AND ".join(f"({p.text})" for p in parts), [v for p in parts for v in p.params])
    if not segment.include_nulls:
        return bounded
    nulls = " OR ".join(f"{c} IS NULL" for c in columns)
    if not bounded:
        return Clause("TRUE")
    return Clause(f"({bounded.text}) OR {nulls}", bounded.params)


def _tuple_compare(columns: list[str], values: list[Any], op: str) -> Clause:
    """(a, b, c) op (x, y, z) as a > x OR (a = x AND (b > y OR (b = y AND c op z)))."""
    strict = op.rstrip("=")
    if len(columns) == 1:
        return Clause(f"{columns[0]} {op} %s", [values[0]])
    rest = _tuple_compare(columns[1:], values[1:], op)
    return Clause(f"{columns[0]} {strict} %s OR ({columns[0]} = %s AND ({rest.text}))",
                  [values[0], values[0], *rest.params])
