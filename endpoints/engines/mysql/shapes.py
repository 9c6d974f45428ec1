"""The selected tables' shapes as the binary log describes them, and their rows as canonical tuples.

Every row event follows a table map event naming the table's columns (binlog_row_metadata=FULL),
so a row's layout is known from the stream itself, also across ALTER TABLE: a row written
before an ADD COLUMN has the old columns, one written after it the new ones. The catalog
(list_tables) gives the key and the native types, and is read again when DDL changes a table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from pymysqlreplication.row_event import TableMapEvent

from ..base import Relation
from ..catalog import SourceColumn, SourceTable
from ..errors import EngineError, ErrorKind
from . import binlog_values as bv

log = logging.getLogger(__name__)

TableKey = tuple[str, str]
Refresh = Callable[[str, str], "SourceTable | None"]


class Layout:
    """One table map: the relation rows are reported with, and how to convert their values."""

    __slots__ = ("relation", "names", "converters", "set_columns")

    def __init__(self, relation: Relation, converters: list[tuple[int, bv.Convert]], set_columns: tuple[str, ...]):
        self.relation = relation
        self.names = relation.columns
        self.converters = converters
        self.set_columns = set_columns

    def row(self, values: dict[str, Any], none_sources: dict[str, str], notes: dict[str, int]) -> tuple:
        row = [values[name] for name in self.names]
        for index, convert in self.converters:
            value = row[index]
            if value is not None:
                converted = row[index] = convert(value)
                if converted is None:  # a zero TIMESTAMP
                    notes["zero_dates"] = notes.get("zero_dates", 0) + 1
        if none_sources:
            for name, source in none_sources.items():
                if bv.is_zero_date(source):
                    notes["zero_dates"] = notes.get("zero_dates", 0) + 1
                elif bv.is_empty_set(source) and name in self.set_columns:
                    row[self.names.index(name)] = ""
                elif bv.is_left_out(source):
                    relation = self.relation
                    raise EngineError(
                        f"A row of {relation.schema}.{relation.table} arrived without its column {name}: a session "
                        "wrote it with binlog_row_image=MINIMAL or NOBLOB, and applying it would write NULL. Make "
                        "every session log full rows (binlog_row_image=FULL, and no SET SESSION binlog_row_image), "
                        "then reload the table.", kind=ErrorKind.CONFIGURATION)
        return tuple(row)


class TableShapes:
    """The selected tables (by schema and name): the definition last announced to the applier, every
    column definition the catalog has shown, and the layouts of the latest table maps.

    A table's rows must match its announced definition: when a table map shows other columns
    (the rows of a backlog written before a later ALTER TABLE, read after the catalog already
    moved on), a new definition is announced from the table map's columns before its rows."""

    def __init__(self, tables: Sequence[SourceTable], refresh: Refresh):
        self.announced: dict[TableKey, SourceTable] = {(t.schema, t.name): t for t in tables if t.kind == "table"}
        self.schemas = sorted({schema for schema, _ in self.announced})
        self.names = sorted({name for _, name in self.announced})
        self._known: dict[TableKey, dict[str, SourceColumn]] = {
            key: {c.name: c for c in table.columns} for key, table in self.announced.items()}
        self._refresh = refresh
        self._layouts: dict[int, Layout] = {}  # table id -> layout of its latest table map
        self._cache: dict[tuple, Layout] = {}  # table map signature -> layout (table maps repeat per event)
        self._seen: set[tuple[TableKey, tuple[str, ...]]] = set()  # row shapes checked against the catalog

    def selected(self, schema: str, table: str) -> bool:
        return (schema, table) in self.announced

    def relation(self, key: TableKey) -> Relation:
        """The table as last announced."""
        return _relation(self.announced[key])

    def refresh(self, key: TableKey) -> SourceTable | None:
        """Read the table's definition from the catalog again (after DDL) and announce it; None when
        the table is gone (the announced definition is kept)."""
        table = self._read_catalog(key)
        if table is not None:
            self.announced[key] = table
        return table

    def _read_catalog(self, key: TableKey) -> SourceTable | None:
        table = self._refresh(*key)
        if table is not None:
            self._known[key].update((c.name, c) for c in table.columns)
            self._cache = {k: v for k, v in self._cache.items() if k[0] != key}
        return table

    # -- table maps -----------------------------------------------------------------------------
    def table_map(self, event: TableMapEvent) -> SourceTable | None:
        """Note a table map; returns the table's new definition when its rows change shape here."""
        key = (event.schema, event.table)
        if key not in self.announced:
            self._layouts.pop(event.table_id, None)
            return None
        columns = event.columns
        names = tuple(c.name for c in columns)
        if not names or any(not n for n in names):
            raise EngineError(f"The binary log describes {event.schema}.{event.table} without column names: "
                              "binlog_row_metadata must be FULL (SET GLOBAL binlog_row_metadata = 'FULL', and in "
                              "my.cnf), or rows cannot be matched to columns.", kind=ErrorKind.CONFIGURATION)
        changed = self._reshape(key, names)
        signature = (key, names, tuple((c.type, c.unsigned, getattr(c, "fsp", None), getattr(c, "bits", None),
                                        getattr(c, "max_length", None), c.character_set_name,
                                        tuple(c.set_values or ())) for c in columns))
        layout = self._cache.get(signature)
        if layout is None:
            layout = self._cache[signature] = self._layout(key, event)
        self._layouts[event.table_id] = layout
        return changed

    def layout(self, table_id: int) -> Layout | None:
        """The layout for a row event's table, None when the table is not selected."""
        return self._layouts.get(table_id)

    def _reshape(self, key: TableKey, names: tuple[str, ...]) -> SourceTable | None:
        announced = self.announced[key]
        if tuple(c.name for c in announced.columns) == names:
            return None
        known = self._known[key]
        if (key, names) not in self._seen:
            self._seen.add((key, names))
            if any(n not in known for n in names):
                self._read_catalog(key)
            unknown = [n for n in names if n not in known]
            if unknown:
                log.warning("Rows of %s.%s carry column(s) %s that the catalog no longer describes (dropped since): "
                            "their values are not captured", key[0], key[1], ", ".join(unknown))
        columns = tuple(known[n] for n in names if n in known)
        if tuple(c.name for c in columns) == tuple(c.name for c in announced.columns):
            return None
        present = set(names)
        table = replace(
            announced,
            columns=columns,
            primary_key=announced.primary_key if set(announced.primary_key) <= present else (),
            unique_keys=tuple(k for k in announced.unique_keys if set(k) <= present),
        )
        self.announced[key] = table
        log.info("Rows of %s.%s now carry columns %s", key[0], key[1], ", ".join(names))
        return table

    def _layout(self, key: TableKey, event: TableMapEvent) -> Layout:
        known = self._known[key]
        converters = []
        for index, column in enumerate(event.columns):
            convert = bv.converter(column, known.get(column.name))
            if convert is not None:
                converters.append((index, convert))
        names = tuple(c.name for c in event.columns)
        announced = self.announced[key]
        relation = Relation(key[0], key[1], names, announced.best_key,
                            tuple(known[n].native_type if n in known else "" for n in names))
        sets = tuple(c.name for c in event.columns if c.set_values is not None)
        return Layout(relation, converters, sets)


def _relation(table: SourceTable) -> Relation:
    return Relation(table.schema, table.name, tuple(c.name for c in table.columns), table.best_key,
                    tuple(c.native_type for c in table.columns))
