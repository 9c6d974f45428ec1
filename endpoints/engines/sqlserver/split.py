"""Splitting a table into key ranges of similar size for parallel loading.

One query numbers the rows in key order into N tiles (NTILE) and returns the highest key of
each tile; those keys are the segment bounds. It sorts the whole key once, which a clustered
primary key serves in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..plan import Segment, TablePlan
from .sqltext import column_list, qualified, quote


def bounds_query(plan: TablePlan) -> str:
    """The highest key of each of `?` tiles, in key order; parameter: the number of tiles."""
    key = plan.source_key
    names = column_list(key)
    order = ", ".join(quote(k) for k in key)
    descending = ", ".join(f"{quote(k)} DESC" for k in key)
    not_null = " AND ".join(f"{quote(k)} IS NOT NULL" for k in key)
    table = qualified(plan.source_schema, plan.source_table)
    return (f"WITH [tiles] AS (SELECT {names}, NTILE(?) OVER (ORDER BY {order}) AS [__tile] "  # noqa: S608 - quoted
            f"FROM {table} WHERE {not_null}),\n"
            f"[tops] AS (SELECT {names}, [__tile], ROW_NUMBER() OVER (PARTITION BY [__tile] ORDER BY {descending}) "
            "AS [__rank] FROM [tiles])\n"
            f"SELECT {names} FROM [tops] WHERE [__rank] = 1 ORDER BY [__tile];")


def segments(columns: Sequence[str], tops: Sequence[Sequence[Any]]) -> tuple[Segment, ...]:
    """Segments from the tiles' highest keys: (-inf, t1], (t1, t2], ..., (t(n-1), +inf) with NULL keys
    in the last one. Fewer than two tiles: no split."""
    bounds = [tuple(t) for t in tops[:-1]]
    if not bounds:
        return ()
    result = [Segment(0, tuple(columns), upper=bounds[0])]
    for index in range(1, len(bounds)):
        result.append(Segment(index, tuple(columns), lower=bounds[index - 1], upper=bounds[index]))
    result.append(Segment(len(bounds), tuple(columns), lower=bounds[-1], include_nulls=True))
    return tuple(result)
