"""What the change stream knows about the relations pgoutput describes: names, keys, types, converters.

pgoutput sends a Relation message before the first change of a relation in a session and
again after its definition changed; changes then refer to the relation by oid. Each
Relation becomes a `Described` relation: the engine-neutral `Relation` record (native
type names from the catalog), whether the task selected it, and one text converter per
column (textvalues.py).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ..base import UNCHANGED, Relation
from ..catalog import SourceTable
from ..errors import EngineError, ErrorKind
from .pgoutput import RelationMessage, TypeMessage
from .sqlfiles import query
from .textvalues import Converter, ValueProblem, text_converter
from .typemap import ColumnType, MappingOptions, dms_type

_U32 = struct.Struct("!I")


@dataclass(frozen=True)
class Described:
    relation: Relation
    selected: bool
    converters: tuple[Converter, ...]  # one per column, None where the text is the value
    # The converters applied to a whole tuple at once (tuple_converter): None when none is needed.
    convert_tuple: Callable[[tuple], tuple] | None = None
    # TupleData at a position of a message straight to converted values (tuple_decoder).
    decode_tuple: Callable[[bytes, int], tuple | None] | None = None


def tuple_converter(converters: Sequence[Converter]) -> Callable[[tuple], tuple] | None:
    """One function converting a whole tuple of the relation's text values, written out for its
    columns: every change of a busy table runs it, and a loop over the columns costs twice as much.
    None and UNCHANGED pass through; so do columns without a converter."""
    if not any(converters):
        return None
    names = [f"v{i}" for i in range(len(converters))]
    parts = [f"{n} if {n} is None or {n} is U else c{i}({n})" if c is not None else n
             for i, (n, c) in enumerate(zip(names, converters, strict=True))]
    source = (f"def convert(values):\n    {', '.join(names)}, = values\n"
              f"    return ({', '.join(parts)},)\n")
    scope: dict[str, Any] = {"U": UNCHANGED, **{f"c{i}": c for i, c in enumerate(converters) if c is not None}}
    exec(source, scope)  # noqa: S102 - source built above from column positions only
    return scope["convert"]


def tuple_decoder(converters: Sequence[Converter]) -> Callable[[bytes, int], tuple | None]:
    """One function reading a TupleData that ends its message (the new image of an Insert or an
    Update) and converting its values, written out for the relation's columns: what read_tuple and the
    tuple converter do together, at half the cost. It knows only text values and NULLs: for anything
    else (an unchanged TOAST value, binary values, a column count or length that does not fit) it
    returns None and the caller takes the general path, which also reports malformed messages.
    A converter's error propagates: the general path meets it again and names the column."""
    lines = ["def decode(buf, pos):",
             f"    if buf[pos] != {len(converters) >> 8} or buf[pos + 1] != {len(converters) & 0xFF}:",
             "        return None",
             "    pos += 2"]
    for i, convert in enumerate(converters):
        if convert is int:  # int() reads the digits from bytes as well as from str: one call less
            value = "int(buf[pos + 5:end])"
        elif convert is None:
            value = "buf[pos + 5:end].decode()"
        else:
            value = f"c{i}(buf[pos + 5:end].decode())"
        lines += ["    kind = buf[pos]",
                  "    if kind == 0x74:",  # 't'
                  "        end = pos + 5 + unpack(buf, pos + 1)[0]",
                  f"        v{i} = {value}",
                  "        pos = end",
                  "    elif kind == 0x6E:",  # 'n'
                  f"        v{i} = None",
                  "        pos += 1",
                  "    else:",
                  "        return None"]
    lines += ["    if pos != len(buf):",
              "        return None",
              f"    return ({''.join(f'v{i}, ' for i in range(len(converters)))})"]
    scope: dict[str, Any] = {"unpack": _U32.unpack_from,
                             **{f"c{i}": c for i, c in enumerate(converters) if c is not None}}
    exec("\n".join(lines), scope)  # noqa: S102 - source built above from column positions only
    return scope["decode"]


@dataclass(frozen=True)
class TypeFacts:
    native_type: str
    column_type: ColumnType


class RelationCache:
    """Relations by oid for one stream. `catalog` gives a connection for type lookups (opened lazily)."""

    def __init__(self, tables: Iterable[SourceTable], options: MappingOptions,
                 catalog: Callable[[], psycopg.Connection]):
        self._tables = {(t.schema, t.name): t for t in tables if t.kind == "table"}
        # Changes of a partition published under its own name (a user's publication without
        # publish_via_partition_root) belong to the selected parent.
        self._parents = {(t.schema, p): t for t in self._tables.values() for p in t.partitions}
        self._options = options
        self._catalog = catalog
        self._relations: dict[int, Described] = {}
        self._types: dict[tuple[int, int], TypeFacts] = {}
        self._type_names: dict[int, str] = {}

    def add_type(self, message: TypeMessage) -> None:
        """Type messages name user-defined types; kept as a fallback when the catalog no longer has them."""
        self._type_names[message.type_oid] = f"{message.schema}.{message.name}"

    def previous_columns(self, message: RelationMessage) -> tuple[str, ...] | None:
        """The columns last known for this relation: from its previous Relation message, else from the
        catalog when the task was planned (None for a relation the task does not replicate)."""
        known = self._relations.get(message.relid)
        if known is not None:
            return known.relation.columns
        table = self._tables.get((message.schema, message.table)) or self._parents.get((message.schema, message.table))
        return tuple(c.name for c in table.columns) if table is not None else None

    def refresh_table(self, table: SourceTable) -> None:
        """The table's definition changed (a source DDL): map its columns from the new definition."""
        self._tables[(table.schema, table.name)] = table

    def add(self, message: RelationMessage) -> Described:
        table = self._tables.get((message.schema, message.table)) or self._parents.get((message.schema, message.table))
        names = tuple(c.name for c in message.columns)
        facts = self._facts([(c.type_oid, c.typmod) for c in message.columns])
        types = tuple(facts[(c.type_oid, c.typmod)].native_type if (c.type_oid, c.typmod) in facts
                      else self._type_names.get(c.type_oid, f"oid {c.type_oid}") for c in message.columns)
        converters = tuple(self._converter(table, c.name, facts.get((c.type_oid, c.typmod))) for c in message.columns)
        relation = Relation(schema=table.schema if table else message.schema,
                            table=table.name if table else message.table,
                            columns=names, key=tuple(c.name for c in message.columns if c.key), types=types)
        described = Described(relation, table is not None, converters, tuple_converter(converters),
                              tuple_decoder(converters))
        self._relations[message.relid] = described
        return described

    def get(self, relid: int) -> Described:
        described = self._relations.get(relid)
        if described is None:
            raise EngineError(f"The change stream refers to relation oid {relid} before describing it: the "
                              "pgoutput stream is out of order. Restart the task.", kind=ErrorKind.OTHER)
        return described

    def convert(self, described: Described, values: tuple | None) -> tuple | None:
        """Canonical values for one tuple; None, UNCHANGED and values of unconverted columns pass as they are."""
        if values is None or described.convert_tuple is None:
            return values
        if len(values) != len(described.converters):
            raise EngineError(f"Table {described.relation.schema}.{described.relation.table}: a change has "
                              f"{len(values)} values for {len(described.converters)} columns.", kind=ErrorKind.OTHER)
        try:
            return described.convert_tuple(values)
        except (ValueProblem, ValueError, TypeError) as exc:
            raise self._value_error(described, values, exc) from None

    def _value_error(self, described: Described, values: tuple, exc: Exception) -> EngineError:
        relation = described.relation
        for name, convert, value in zip(relation.columns, described.converters, values, strict=True):
            if convert is None or value is None or value is UNCHANGED:
                continue
            try:
                convert(value)
            except (ValueError, TypeError) as problem:
                return EngineError(f"Table {relation.schema}.{relation.table}, column {name}: a changed value "
                                   f"cannot be carried: {problem}. Filter such rows out or change the column's "
                                   "data type to string in the task's table mapping.", kind=ErrorKind.DATA)
        return EngineError(f"Table {relation.schema}.{relation.table}: a changed row cannot be converted: {exc}",
                           kind=ErrorKind.DATA)

    def _converter(self, table: SourceTable | None, column: str, facts: TypeFacts | None) -> Converter:
        ctype = facts.column_type if facts else None
        dms = None
        if table is not None:
            try:
                dms = table.column(column).dms_type
            except KeyError:
                dms = None  # a column added since the task was planned: map it as the full load would
        if dms is None and ctype is not None:
            dms, _reason = dms_type(ctype, self._options)
        return text_converter(ctype, dms)

    def _facts(self, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], TypeFacts]:
        missing = sorted({p for p in pairs if p not in self._types})
        if missing:
            with self._catalog().cursor(row_factory=dict_row) as cur:
                rows = cur.execute(query("cdc_types"), {"oids": [p[0] for p in missing],
                                                        "mods": [p[1] for p in missing]}).fetchall()
            for row in rows:
                self._types[(row["type_oid"], row["typmod"])] = _type_facts(row)
        return {p: self._types[p] for p in pairs if p in self._types}


def _type_facts(row: dict[str, Any]) -> TypeFacts:
    return TypeFacts(row["native_type"], ColumnType(
        base_name=row["base_name"], kind=row["kind"], builtin=row["builtin"], domain=row["is_domain"],
        length=row["length"], precision=row["precision"], scale=row["scale"]))
