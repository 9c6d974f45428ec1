"""Reading the PostgreSQL catalog into SourceTables (columns mapped to DMS types, keys, row estimates)."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg.rows import dict_row

from ..catalog import SourceColumn, SourceTable
from .sqlfiles import query
from .typemap import ColumnType, MappingOptions, dms_type

_KINDS = {"r": "table", "p": "table", "v": "view", "m": "view"}


def list_tables(conn: psycopg.Connection, schemas: Iterable[str] | None,
                options: MappingOptions) -> list[SourceTable]:
    """Every user table, partitioned parent and view in `schemas` (all user schemas when None)."""
    wanted = None if schemas is None else list(schemas)
    with conn.cursor(row_factory=dict_row) as cur:
        tables = cur.execute(query("tables"), {"schemas": wanted}).fetchall()
        oids = [t["oid"] for t in tables]
        columns = cur.execute(query("columns"), {"oids": oids}).fetchall()
        keys = cur.execute(query("keys"), {"oids": oids}).fetchall()
    by_table: dict[int, list[SourceColumn]] = {oid: [] for oid in oids}
    for row in columns:
        by_table[row["table_oid"]].append(_column(row, options))
    primary: dict[int, tuple[str, ...]] = {}
    unique: dict[int, list[tuple[str, ...]]] = {oid: [] for oid in oids}
    for row in keys:
        if row["is_primary"]:
            primary[row["table_oid"]] = tuple(row["columns"])
        elif tuple(row["columns"]) not in unique[row["table_oid"]]:
            unique[row["table_oid"]].append(tuple(row["columns"]))
    return [
        SourceTable(
            schema=t["schema"], name=t["name"], columns=tuple(by_table[t["oid"]]),
            primary_key=primary.get(t["oid"], ()), unique_keys=tuple(unique[t["oid"]]),
            estimated_rows=int(t["estimated_rows"]), kind=_KINDS[t["relkind"]],
            partitions=tuple(t["partitions"]),
        )
        for t in tables
    ]


def column_types(conn: psycopg.Connection, schema: str, table: str) -> dict[str, ColumnType]:
    """The current catalog types of one relation's columns, by name (used by reads and loads)."""
    oid = conn.execute("SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = %s AND c.relname = %s", (schema, table)).fetchone()
    if oid is None:
        return {}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query("columns"), {"oids": [oid[0]]}).fetchall()
    return {row["name"]: _column_type(row) for row in rows}


def _column_type(row: dict) -> ColumnType:
    return ColumnType(base_name=row["base_name"], kind=row["kind"], builtin=row["builtin"],
                      domain=row["is_domain"], length=row["length"], precision=row["precision"],
                      scale=row["scale"])


def _column(row: dict, options: MappingOptions) -> SourceColumn:
    mapped, reason = dms_type(_column_type(row), options)
    return SourceColumn(
        name=row["name"], native_type=row["native_type"], dms_type=mapped, nullable=row["nullable"],
        unsupported=reason, generated=row["generated"], identity=row["identity"], default=row["default_expr"],
    )
