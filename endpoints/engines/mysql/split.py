"""Splitting a table into key ranges of similar size for parallel loading.

A single integer key splits evenly between its MIN and MAX (cheap, index-only; skewed
keys give uneven parts). Other keys are sampled: about 200 rows per part drawn with
RAND(), ordered by the server (so boundaries follow the column's collation), and
the boundaries taken at even quantiles.
"""

from __future__ import annotations

from pymysql.connections import Connection

from ..plan import Segment, TablePlan
from ..types import INTEGER_TYPES
from .sqltext import column_list, select_from

SAMPLE_PER_PART = 200


def split_key(plan: TablePlan) -> tuple[str, ...]:
    """The source columns of the plan's key, else the source table's best key."""
    names = {c.name for c in plan.source.columns}
    key = plan.source_key if plan.key else ()
    if key and all(k in names for k in key):
        return key
    return plan.source.best_key


def split(raw: Connection, plan: TablePlan, parts: int) -> tuple[Segment, ...]:
    key = split_key(plan)
    if not key or parts < 2:
        return ()
    columns = [plan.source.column(k) for k in key]
    if len(columns) == 1 and columns[0].dms_type is not None and columns[0].dms_type.name in INTEGER_TYPES:
        bounds = _integer_bounds(raw, plan, key[0], parts)
    else:
        bounds = _sampled_bounds(raw, plan, key, parts)
    return _segments(key, bounds, nullable=any(c.nullable for c in columns))


def _integer_bounds(raw: Connection, plan: TablePlan, column: str, parts: int) -> list[tuple]:
    quoted = column_list([column])
    with raw.cursor() as cursor:
        cursor.execute(select_from(f"MIN({quoted}), MAX({quoted})", plan.source_schema, plan.source_table), ())
        low, high = cursor.fetchone()
    if low is None or low == high:
        return []
    low, high = int(low), int(high)
    bounds = sorted({low + (high - low) * i // parts for i in range(1, parts)})
    return [(b,) for b in bounds if low <= b < high]


def _sampled_bounds(raw: Connection, plan: TablePlan, key: tuple[str, ...], parts: int) -> list[tuple]:
    total = plan.source.estimated_rows or _count(raw, plan)
    if total <= parts:
        return []
    rate = min(1.0, SAMPLE_PER_PART * parts / total)
    names = column_list(key)
    where = f" WHERE RAND() < {rate!r} ORDER BY {names}" if rate < 1.0 else f" ORDER BY {names}"
    with raw.cursor() as cursor:
        cursor.execute(select_from(names, plan.source_schema, plan.source_table, where), ())
        sample = [tuple(row) for row in cursor.fetchall()]
    bounds: list[tuple] = []
    for i in range(1, parts):
        if not sample:
            break
        candidate = sample[min(len(sample) - 1, len(sample) * i // parts)]
        if not bounds or bounds[-1] != candidate:
            bounds.append(candidate)
    return bounds


def _count(raw: Connection, plan: TablePlan) -> int:
    with raw.cursor() as cursor:
        cursor.execute(select_from("COUNT(*)", plan.source_schema, plan.source_table), ())
        return int(cursor.fetchone()[0])


def _segments(key: tuple[str, ...], bounds: list[tuple], *, nullable: bool) -> tuple[Segment, ...]:
    if not bounds:
        return ()
    edges: list[tuple | None] = [None, *bounds, None]
    return tuple(
        Segment(index=i, columns=key, lower=edges[i], upper=edges[i + 1],
                include_nulls=nullable and i == len(edges) - 2)
        for i in range(len(edges) - 1)
    )

