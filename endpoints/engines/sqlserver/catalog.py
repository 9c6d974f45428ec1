"""SourceTables from SQL Server's sys catalog views (sql/columns.sql, keys.sql, row_counts.sql).

`build_tables` is pure: it takes the rows as the queries return them (as mappings by
column alias), so the conversion is tested without a server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import groupby
from typing import Any

from ..catalog import SourceColumn, SourceTable
from .sqlfiles import sql
from .typemap import SOURCE_TYPES, dms_type, spell

Row = Mapping[str, Any]


def column(row: Row) -> SourceColumn:
    base = row["base_type"] or row["type_name"]
    length, precision, scale = int(row["max_length"]), int(row["precision"]), int(row["scale"])
    mapped, reason = dms_type(base, length, precision, scale)
    native = spell(base, length, precision, scale)
    if base.lower() not in SOURCE_TYPES:
        native = row["type_name"]  # a user CLR type: spelled as created
    return SourceColumn(
        name=row["column_name"],
        native_type=native,
        dms_type=mapped,
        nullable=bool(row["is_nullable"]),
        unsupported=reason,
        generated=bool(row["is_computed"]),
        identity=bool(row["is_identity"]),
        default=row["computed_definition"] if row["is_computed"] else row["default_definition"],
    )


def keys(rows: Iterable[Row]) -> dict[tuple[str, str], tuple[tuple[str, ...], list[tuple[str, ...]]]]:
    """(schema, table) -> (primary key, unique keys), key columns in key order."""
    result: dict[tuple[str, str], tuple[tuple[str, ...], list[tuple[str, ...]]]] = {}
    ordered = sorted(rows, key=lambda r: (r["schema_name"], r["table_name"], not r["is_primary_key"],
                                          r["index_name"], r["key_ordinal"]))
    for (schema, table, _index, primary), members in groupby(
            ordered, key=lambda r: (r["schema_name"], r["table_name"], r["index_name"], bool(r["is_primary_key"]))):
        names = tuple(m["column_name"] for m in members)
        pk, uniques = result.setdefault((schema, table), ((), []))
        if primary:
            result[(schema, table)] = (names, uniques)
        elif names not in uniques and names != pk:
            uniques.append(names)
    return result


def build_tables(column_rows: Iterable[Row], key_rows: Iterable[Row], count_rows: Iterable[Row],
                 schemas: Iterable[str] | None = None) -> list[SourceTable]:
    """SourceTables from the catalog rows, limited to `schemas` when given."""
    wanted = None if schemas is None else set(schemas)
    table_keys = keys(key_rows)
    counts = {(r["schema_name"], r["table_name"]): int(r["estimated_rows"] or 0) for r in count_rows}
    tables = []
    ordered = sorted(column_rows, key=lambda r: (r["schema_name"], r["table_name"], r["column_id"]))
    for (schema, name), members in groupby(ordered, key=lambda r: (r["schema_name"], r["table_name"])):
        if wanted is not None and schema not in wanted:
            continue
        members = list(members)
        primary, uniques = table_keys.get((schema, name), ((), []))
        tables.append(SourceTable(
            schema=schema,
            name=name,
            columns=tuple(column(m) for m in members),
            primary_key=primary,
            unique_keys=tuple(uniques),
            estimated_rows=counts.get((schema, name), 0),
            kind="view" if str(members[0]["object_type"]).strip() == "V" else "table",
        ))
    return tables


def fetch_dicts(cursor: Any, statement: str, params: tuple = ()) -> list[dict[str, Any]]:
    cursor.execute(statement, params) if params else cursor.execute(statement)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def read_catalog(connection: Any, schemas: Iterable[str] | None = None) -> list[SourceTable]:
    cursor = connection.cursor()
    try:
        return build_tables(fetch_dicts(cursor, sql("columns")), fetch_dicts(cursor, sql("keys")),
                            fetch_dicts(cursor, sql("row_counts")), schemas)
    finally:
        cursor.close()
