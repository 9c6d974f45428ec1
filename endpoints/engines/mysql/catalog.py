"""Reading a MySQL/MariaDB catalog into SourceTables (schemas are databases)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pymysql.connections import Connection

from ..catalog import SourceColumn, SourceTable
from .connection import is_mariadb
from .sqlfiles import sql
from .typemap import NativeType, source_type

SYSTEM_SCHEMAS = frozenset({"mysql", "information_schema", "performance_schema", "sys"})

TableId = tuple[str, str]
Keys = tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]  # (primary key, unique keys)


def list_tables(raw: Connection, schemas: Iterable[str] | None = None) -> list[SourceTable]:
    """Tables and views of `schemas` (every user database when None), columns in ordinal order."""
    params = _schema_params(schemas)
    if params is None:
        return []
    rows = _fetch(raw, "tables", params)
    columns = _columns(raw, params)
    keys = _keys(raw, params)
    partitions: dict[TableId, list[str]] = defaultdict(list)
    for schema, table, name in _fetch(raw, "partitions", params):
        partitions[(schema, table)].append(name)
    tables = []
    for schema, name, table_type, estimated in rows:
        table_id = (schema, name)
        primary, uniques = keys.get(table_id, ((), ()))
        tables.append(SourceTable(
            schema=schema, name=name, columns=tuple(columns.get(table_id, ())),
            primary_key=primary, unique_keys=uniques, estimated_rows=int(estimated or 0),
            kind="view" if table_type == "VIEW" else "table",
            partitions=tuple(partitions.get(table_id, ())),
        ))
    return tables


def _schema_params(schemas: Iterable[str] | None) -> dict[str, Any] | None:
    if schemas is None:
        return {"all": 1, "schemas": ("",)}
    chosen = tuple(s for s in schemas if s.lower() not in SYSTEM_SCHEMAS)
    return {"all": 0, "schemas": chosen} if chosen else None


def _fetch(raw: Connection, name: str, params: dict[str, Any]) -> list[tuple]:
    with raw.cursor() as cursor:
        cursor.execute(sql(name), params)
        return list(cursor.fetchall())


def _columns(raw: Connection, params: dict[str, Any]) -> dict[TableId, list[SourceColumn]]:
    json_columns = set()
    if is_mariadb(raw):
        json_columns = {tuple(row) for row in _fetch(raw, "mariadb_json_columns", params)}
    columns: dict[TableId, list[SourceColumn]] = defaultdict(list)
    for row in _fetch(raw, "columns", params):
        schema, table, name = row[0], row[1], row[2]
        columns[(schema, table)].append(_column(row, (schema, table, name) in json_columns))
    return columns


def _column(row: tuple, is_json: bool) -> SourceColumn:
    (_schema, _table, name, column_type, data_type, nullable, default, extra,
     length, precision, scale, fraction) = row
    if is_json:
        column_type, data_type = "json", "json"
    native = NativeType(data_type=data_type.lower(), column_type=column_type, length=_int(length),
                        precision=_int(precision), scale=_int(scale), fraction=_int(fraction))
    dms_type, reason = source_type(native)
    extra_text = (extra or "").lower()
    return SourceColumn(
        name=name, native_type=column_type, dms_type=dms_type, nullable=nullable == "YES", unsupported=reason,
        generated="generated" in extra_text, identity="auto_increment" in extra_text,
        default=None if default is None else str(default),
    )


def _keys(raw: Connection, params: dict[str, Any]) -> dict[TableId, Keys]:
    indexes: dict[TableId, dict[str, list[str]]] = defaultdict(dict)
    for schema, table, index, column in _fetch(raw, "keys", params):
        indexes[(schema, table)].setdefault(index, []).append(column)
    result = {}
    for table_id, by_name in indexes.items():
        primary = tuple(by_name.pop("PRIMARY", ()))
        result[table_id] = (primary, tuple(tuple(cols) for cols in by_name.values()))
    return result


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def column_charsets(raw: Connection, schema: str, table: str) -> dict[str, str | None]:
    """Column name -> character set name (None for non-text columns)."""
    with raw.cursor() as cursor:
        cursor.execute(sql("column_charsets"), (schema, table))
        return {name: charset for name, charset in cursor.fetchall()}
