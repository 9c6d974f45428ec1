"""Splitting a table into key ranges of similar size for parallel loading.

A single integer key is split arithmetically between its minimum and maximum; any
other key by quantiles of a sample, ordered as PostgreSQL orders the key. The first
range has no lower bound and the last no upper bound (rows added later still land
somewhere); the last also takes rows whose key columns are NULL.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from ..conninfo import ConnectionInfo
from ..plan import Segment, TablePlan
from ..types import INTEGER_TYPES
from .connection import connect, translate_error

# Sample about this many key values per segment: enough for even ranges, cheap to sort.
SAMPLE_ROWS_PER_PART = 1000


def split(conninfo: ConnectionInfo, plan: TablePlan, parts: int) -> tuple[Segment, ...]:
    key = plan.source_key
    if not key or parts < 2:
        return ()
    try:
        with connect(conninfo, timeout=30, autocommit=True) as conn:
            if len(key) == 1 and _is_integer(plan, key[0]):
                uppers = _integer_bounds(conn, plan, key[0], parts)
            else:
                uppers = _sampled_bounds(conn, plan, key, parts)
    except psycopg.Error as exc:
        raise translate_error(exc, conninfo, doing=f"splitting table {plan.source_schema}.{plan.source_table}") \
            from None
    if not uppers:
        return ()
    return _segments(key, uppers)


def _is_integer(plan: TablePlan, column: str) -> bool:
    dms = plan.source.column(column).dms_type
    return dms is not None and dms.name in INTEGER_TYPES


def _table(plan: TablePlan) -> sql.Identifier:
    return sql.Identifier(plan.source_schema, plan.source_table)


def _integer_bounds(conn: psycopg.Connection, plan: TablePlan, column: str, parts: int) -> list[tuple[Any, ...]]:
    low, high = conn.execute(sql.SQL("SELECT min({0}), max({0}) FROM {1}").format(
        sql.Identifier(column), _table(plan))).fetchone()
    if low is None:
        return []
    uppers = sorted({low + (high - low) * i // parts for i in range(1, parts)})
    return [(u,) for u in uppers if low <= u < high]


def _sampled_bounds(conn: psycopg.Connection, plan: TablePlan, key: tuple[str, ...],
                    parts: int) -> list[tuple[Any, ...]]:
    estimate = conn.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass",
                            (_table(plan).as_string(conn),)).fetchone()[0]
    wanted = parts * SAMPLE_ROWS_PER_PART
    percent = 100.0 if estimate <= wanted else max(0.0001, 100.0 * wanted / estimate)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in key)
    # Bounds travel as text and come back as untyped parameters: PostgreSQL reads them as the key's types.
    as_text = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in key)
    not_null = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in key)
    sample = sql.SQL("SELECT {as_text} FROM (SELECT {columns} FROM {table} TABLESAMPLE BERNOULLI (%s) "
                     "WHERE {not_null} ORDER BY {columns} LIMIT %s) s").format(
        as_text=as_text, columns=columns, table=_table(plan), not_null=not_null)
    rows = conn.execute(sample, (percent, wanted * 4)).fetchall()
    if len(rows) < parts:
        return []
    step = len(rows) / parts
    uppers: list[tuple[Any, ...]] = []
    for i in range(1, parts):
        bound = tuple(rows[int(step * i) - 1])
        if not uppers or uppers[-1] != bound:
            uppers.append(bound)
    last = tuple(rows[-1])
    return [u for u in uppers if u != last] if uppers and uppers[-1] == last else uppers


def _segments(key: tuple[str, ...], uppers: list[tuple[Any, ...]]) -> tuple[Segment, ...]:
    lowers: list[tuple[Any, ...] | None] = [None, *uppers]
    highs: list[tuple[Any, ...] | None] = [*uppers, None]
    count = len(highs)
    return tuple(Segment(index=i, columns=key, lower=lowers[i], upper=highs[i], include_nulls=(i == count - 1))
                 for i in range(count))
