"""Full-load writes: one COPY FROM STDIN per table or segment, committed once at its end.

PG_COPY_TEXT batches are written as they are (the fast PostgreSQL-to-PostgreSQL path);
PYTHON batches go through psycopg's write_row, in target column order.

One commit, as `psql \\copy` does, rather than one per CommitRate rows: each COPY that ends
stalls the stream until the server has taken every row, and a table whose load failed is
loaded again from the start anyway, so partial commits would only leave rows behind that a
DO_NOTHING reload would then duplicate. CommitRate still sets the batch size (DMS: "records
transferred together"), and MySQL targets, where a huge transaction costs undo, commit per batch.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg import sql

from ..base import LoadResult, RowBatch, RowFormat
from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from ..plan import TablePlan
from ..types import T
from .connection import connect, translate_error

BIGINT_MAX = 2**63 - 1


def load(conninfo: ConnectionInfo, plan: TablePlan, batches: Iterable[RowBatch], *, commit_rows: int) -> LoadResult:
    del commit_rows  # one commit per unit: see the module docstring
    name = f"{plan.target_schema}.{plan.target_table}"
    result = LoadResult()
    checks = _unsigned_checks(plan)
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(plan.target_schema, plan.target_table),
        sql.SQL(", ").join(sql.Identifier(c.name) for c in plan.columns))
    try:
        with connect(conninfo, timeout=30) as conn:
            _copy_all(conn, copy_sql, batches, checks, plan, result)
            conn.commit()
    except psycopg.Error as exc:
        raise translate_error(exc, conninfo, doing=f"loading target table {name}{_context(exc)}") from None
    return result


def _copy_all(conn: psycopg.Connection, copy_sql: sql.Composable, batches: Iterable[RowBatch],
              checks: list[int], plan: TablePlan, result: LoadResult) -> None:
    with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for batch in batches:
            if batch.format is RowFormat.PG_COPY_TEXT:
                copy.write(batch.data)
                result.nbytes += batch.nbytes or len(batch.data)
            elif batch.format is RowFormat.PYTHON:
                if checks:
                    _check_unsigned(batch.data, checks, plan, result.rows)
                for row in batch.data:
                    copy.write_row(row)
                result.nbytes += batch.nbytes
            else:
                raise EngineError(f"PostgreSQL cannot load rows in format {batch.format}.",
                                  kind=ErrorKind.UNSUPPORTED)
            result.rows += batch.rows
            for note, count in batch.notes.items():
                result.notes[note] = result.notes.get(note, 0) + count


def _unsigned_checks(plan: TablePlan) -> list[int]:
    """Positions of UINT8 columns created as bigint (DMS's mapping): values above 2**63-1 cannot fit."""
    return [i for i, c in enumerate(plan.columns)
            if c.dms_type.name is T.UINT8 and c.target_type.strip().lower() in ("bigint", "int8")]


def _check_unsigned(rows: list[tuple], checks: list[int], plan: TablePlan, loaded: int) -> None:
    for n, row in enumerate(rows):
        for i in checks:
            value = row[i]
            if value is not None and value > BIGINT_MAX:
                column = plan.columns[i].name
                raise EngineError(
                    f"Target table {plan.target_schema}.{plan.target_table}, row {loaded + n + 1} of this load: "
                    f"column {column} holds {value}, above bigint's maximum {BIGINT_MAX}. DMS maps UINT8 to "
                    f"bigint; add a change-data-type rule making {column} numeric(20,0) to carry such values.",
                    kind=ErrorKind.DATA)


def _context(exc: psycopg.Error) -> str:
    context = getattr(getattr(exc, "diag", None), "context", None)
    return f" ({' '.join(context.split())})" if context else ""
