"""Turning rows read from the source into rows for the target, per the plan.

A source row is a tuple over `plan.read_columns`; a target row is a tuple over
`plan.columns`: plain columns are picked, added columns get their constant or
evaluated expression, and change-data-type columns are converted. Built once
per table so the per-row work is a tuple comprehension over prepared getters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from endpoints.engines.base import UNCHANGED
from endpoints.engines.plan import ColumnPlan, TablePlan

from .conversion import converter

Getter = Callable[[Sequence[Any]], Any]


class RowShaper:
    def __init__(self, plan: TablePlan, read_columns: Sequence[str] | None = None):
        self.plan = plan
        self.read_columns = tuple(read_columns if read_columns is not None else plan.read_columns)
        index = {name: i for i, name in enumerate(self.read_columns)}
        self._meta = {"AR_M_SOURCE_SCHEMA": plan.source_schema, "AR_M_SOURCE_TABLE_NAME": plan.source_table}
        self._getters = [self._getter(column, index) for column in plan.columns]
        # The common case (every column read as is, in order) needs no per-value work at all.
        self.identity = all(
            c.source and not c.converts and c.expression is None for c in plan.columns
        ) and tuple(c.source for c in plan.columns) == self.read_columns

    def _getter(self, column: ColumnPlan, index: Mapping[str, int]) -> Getter:
        if column.expression is not None:
            return self._expression_getter(column, index)
        if column.source is None:
            constant = column.constant
            return lambda row: constant
        position = index[column.source]
        if column.converts and column.source_dms_type is not None:
            convert = converter(column.source_dms_type, column.dms_type)

            def get_converted(row: Sequence[Any]) -> Any:
                value = row[position]
                return value if value is UNCHANGED else convert(value)

            return get_converted
        return lambda row: row[position]

    def _expression_getter(self, column: ColumnPlan, index: Mapping[str, int]) -> Getter:
        from .expressions import evaluate

        expression = column.expression
        positions = [(name, index[name]) for name in expression.columns]
        meta = self._meta

        def get(row: Sequence[Any]) -> Any:
            values = {name: row[i] for name, i in positions}
            if any(v is UNCHANGED for v in values.values()):
                return UNCHANGED  # an input the source did not send: keep the target's value
            return evaluate(expression, values, meta)

        return get

    def shape(self, row: Sequence[Any]) -> tuple:
        if self.identity:
            return tuple(row)
        return tuple(get(row) for get in self._getters)

    def shape_all(self, rows: Sequence[Sequence[Any]]) -> list[tuple]:
        if self.identity:
            return rows if isinstance(rows, list) else list(rows)
        getters = self._getters
        return [tuple(get(row) for get in getters) for row in rows]

    def shape_named(self, values: Mapping[str, Any]) -> tuple:
        """Shape a row given as {source column: value} (CDC changes carry their own column order)."""
        return self.shape(tuple(values.get(name) for name in self.read_columns))

    def picker(self, indexes: Sequence[int]) -> Callable[[Sequence[Any]], tuple]:
        """pick() for fixed indexes, prepared once (a table's key is picked from every change)."""
        if self.identity and len(indexes) == 1:
            only = indexes[0]
            return lambda row: (row[only],)
        if self.identity:
            return lambda row: tuple(row[i] for i in indexes)
        return lambda row: self.pick(row, indexes)

    def pick(self, row: Sequence[Any], indexes: Sequence[int]) -> tuple:
        """Only the target columns at `indexes`, from a row in read order."""
        getters = self._getters
        return tuple(getters[i](row) for i in indexes)

    def pick_named(self, values: Mapping[str, Any], indexes: Sequence[int]) -> tuple:
        """Only the target columns at `indexes` (e.g. the key, from a before-image holding only key values)."""
        row = tuple(values.get(name) for name in self.read_columns)
        return tuple(self._getters[i](row) for i in indexes)
