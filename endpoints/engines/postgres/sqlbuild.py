"""Building the SELECT of a read: columns, DMS filters, segment bounds. Values are always parameters.

Filter and bound values are sent as untyped parameters, so PostgreSQL resolves each one
to the type of the column it is compared with (DMS compares after casting to the column's type).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql

from ..errors import EngineError, ErrorKind
from ..plan import ColumnFilter, FilterCondition, FilterOp, Segment, TablePlan


def select(plan: TablePlan, expressions: Sequence[sql.Composable],
           segment: Segment | None) -> tuple[sql.Composed, list[Any]]:
    params: list[Any] = []
    where = [_filter(f, params) for f in plan.filters]
    if segment is not None:
        bounds = _segment(segment, params)
        if bounds is not None:
            where.append(bounds)
    statement = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(expressions), sql.Identifier(plan.source_schema, plan.source_table))
    if where:
        statement = sql.SQL("{} WHERE {}").format(statement, sql.SQL(" AND ").join(where))
    return statement, params


def _filter(column_filter: ColumnFilter, params: list[Any]) -> sql.Composable:
    column = sql.Identifier(column_filter.column)
    if not column_filter.conditions:
        raise EngineError(f"The filter on column {column_filter.column!r} has no condition: add one or remove it.",
                          kind=ErrorKind.CONFIGURATION)
    parts = [_condition(column, c, params) for c in column_filter.conditions]
    return sql.SQL("({})").format(sql.SQL(" OR ").join(parts))


def _condition(column: sql.Identifier, condition: FilterCondition, params: list[Any]) -> sql.Composable:
    op = condition.op
    if op is FilterOp.NULL:
        return sql.SQL("{} IS NULL").format(column)
    if op is FilterOp.NOTNULL:
        return sql.SQL("{} IS NOT NULL").format(column)
    if op in (FilterOp.BETWEEN, FilterOp.NOTBETWEEN):
        params.extend((condition.start, condition.end))
        word = "BETWEEN" if op is FilterOp.BETWEEN else "NOT BETWEEN"
        return sql.SQL("{} " + word + " %s AND %s").format(column)
    params.append(condition.value)
    return sql.SQL("{} " + _COMPARISONS[op] + " %s").format(column)


_COMPARISONS = {FilterOp.EQ: "=", FilterOp.NOTEQ: "<>", FilterOp.LTE: "<=", FilterOp.STE: "<=",
                FilterOp.GTE: ">="}


def _segment(segment: Segment, params: list[Any]) -> sql.Composable | None:
    """lower < (key) <= upper for rows whose key columns are all set; plus NULL keys if include_nulls."""
    columns = [sql.Identifier(c) for c in segment.columns]
    key = sql.SQL("({})").format(sql.SQL(", ").join(columns))
    bounded: list[sql.Composable] = []
    for bound, op in ((segment.lower, ">"), (segment.upper, "<=")):
        if bound is None:
            continue
        if len(bound) != len(columns):
            raise EngineError(f"Segment {segment.index + 1} has a bound of {len(bound)} values for "
                              f"{len(columns)} key columns.", kind=ErrorKind.CONFIGURATION)
        params.extend(bound)
        placeholders = sql.SQL(", ").join(sql.Placeholder() * len(bound))
        bounded.append(sql.SQL("{} " + op + " ({})").format(key, placeholders))
    if not bounded and segment.include_nulls:
        return None  # the whole table
    any_null = sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(c) for c in columns)
    # a row comparison with a NULL member can still be true: keep NULL keys out of bounded ranges
    bounded.append(sql.SQL("NOT ({})").format(any_null))
    condition = sql.SQL("({})").format(sql.SQL(" AND ").join(bounded))
    if segment.include_nulls:
        condition = sql.SQL("({} OR {})").format(condition, any_null)
    return condition
