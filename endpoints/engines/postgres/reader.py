"""Full-load reads: one table (or one key range of it) streamed in batches.

PYTHON batches come from a server-side cursor; PG_COPY_TEXT batches (passthrough
plans) come from COPY (SELECT ...) TO STDOUT as whole lines in target column order,
taken off libpq in blocks (copy_out.py).
The next batch is read in a helper thread while the caller writes the current one
(prefetch.py), so at most two batches exist at any time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import psycopg
from psycopg import sql

from ..base import RowBatch, RowFormat
from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from ..plan import LobMode, Segment, TablePlan
from ..types import T
from . import sqlbuild
from .catalog import column_types
from .connection import connect, translate_error
from .copy_out import copy_out_blocks
from .prefetch import prefetched
from .values import CopyLobField, read_expression, truncate_copy_line, truncate_value, value_size

CURSOR_NAME = "dms_full_load"
CONNECT_TIMEOUT = 30.0


def read(conninfo: ConnectionInfo, plan: TablePlan, segment: Segment | None, *, fmt: RowFormat,
         batch_rows: int, snapshot: str | None = None) -> Iterator[RowBatch]:
    """Batches of the plan's rows; the next batch is read while the caller writes the current one."""
    return prefetched(_read(conninfo, plan, segment, fmt=fmt, batch_rows=batch_rows, snapshot=snapshot),
                      name=f"dms-read-{plan.source_schema}.{plan.source_table}")


def _read(conninfo: ConnectionInfo, plan: TablePlan, segment: Segment | None, *, fmt: RowFormat,
          batch_rows: int, snapshot: str | None) -> Iterator[RowBatch]:
    where = f"reading table {plan.source_schema}.{plan.source_table}"
    conn = connect(conninfo, timeout=CONNECT_TIMEOUT)
    try:
        _begin(conn, snapshot)
        if fmt is RowFormat.PG_COPY_TEXT:
            yield from _copy_batches(conn, conninfo, plan, segment, max(1, batch_rows))
        elif fmt is RowFormat.PYTHON:
            yield from _python_batches(conn, conninfo, plan, segment, max(1, batch_rows))
        else:
            raise EngineError(f"PostgreSQL cannot produce rows in format {fmt}.", kind=ErrorKind.UNSUPPORTED)
    except psycopg.DataError as exc:
        if getattr(exc, "sqlstate", None):
            raise translate_error(exc, conninfo, doing=where) from None
        raise EngineError(f"PostgreSQL {conninfo.host}:{conninfo.port} while {where}: a value has no canonical "
                          f"form ({exc}). Dates and timestamps must lie between years 1 and 9999 (no infinity, "
                          "no BC): filter those rows out or change the column's data type to string.",
                          kind=ErrorKind.DATA) from None
    except psycopg.Error as exc:
        raise translate_error(exc, conninfo, doing=where) from None
    finally:
        conn.close()




def _begin(conn: psycopg.Connection, snapshot: str | None) -> None:
    if snapshot is None:
        return
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))


def _lob_limit(plan: TablePlan) -> int | None:
    return plan.lob.max_bytes if plan.lob.mode is LobMode.LIMITED else None


def _source_type(plan: TablePlan, name: str):
    column = plan.source.column(name)
    if column.dms_type is None:
        raise EngineError(f"Column {name} of table {plan.source_schema}.{plan.source_table} has type "
                          f"{column.native_type}, which cannot be carried: {column.unsupported}",
                          kind=ErrorKind.UNSUPPORTED)
    return column.dms_type


def _expressions(conn: psycopg.Connection, plan: TablePlan, names: Sequence[str],
                 raw: Sequence[bool] = ()) -> list[sql.Composable]:
    """Select-list expressions; `raw[i]` keeps column i in its native text form (same type on both sides)."""
    types = column_types(conn, plan.source_schema, plan.source_table)
    if not types:
        raise EngineError(f"Table {plan.source_schema}.{plan.source_table} no longer exists on the source.",
                          kind=ErrorKind.SCHEMA)
    missing = [n for n in names if n not in types]
    if missing:
        raise EngineError(f"Table {plan.source_schema}.{plan.source_table} has no column(s) {', '.join(missing)} "
                          "any more: refresh the task's plan.", kind=ErrorKind.SCHEMA)
    return [sql.Identifier(n) if i < len(raw) and raw[i] else read_expression(n, types[n], _source_type(plan, n))
            for i, n in enumerate(names)]


def _lob_failure(conninfo: ConnectionInfo, plan: TablePlan, column: str, size: int, limit: int) -> EngineError:
    return EngineError(f"Table {plan.source_schema}.{plan.source_table}: a value of LOB column {column} has "
                       f"{size} bytes, more than the LOB limit of {limit} bytes, and the endpoint sets "
                       "failTasksOnLobTruncation. Raise LobMaxSize or use full LOB mode.", kind=ErrorKind.DATA)


# ---- PYTHON ---------------------------------------------------------------------------------------

def _python_batches(conn: psycopg.Connection, conninfo: ConnectionInfo, plan: TablePlan,
                    segment: Segment | None, batch_rows: int) -> Iterator[RowBatch]:
    names = plan.read_columns
    statement, params = sqlbuild.select(plan, _expressions(conn, plan, names), segment)
    limit = _lob_limit(plan)
    lobs = [i for i, n in enumerate(names) if _source_type(plan, n).is_lob] if limit is not None else []
    fail = _lob_failure_raiser(conninfo, plan, names, limit)
    with conn.cursor(name=CURSOR_NAME) as cur:
        cur.itersize = batch_rows
        cur.execute(statement, params)
        while rows := cur.fetchmany(batch_rows):
            notes: dict[str, int] = {}
            if lobs:
                rows = _truncate_rows(rows, lobs, limit, notes, fail)
            yield RowBatch(RowFormat.PYTHON, len(rows), rows, notes=notes)


def _lob_failure_raiser(conninfo: ConnectionInfo, plan: TablePlan, names: Sequence[str], limit: int | None):
    if not conninfo.flag("failTasksOnLobTruncation"):
        return None

    def fail(index: int, original: object) -> None:
        raise _lob_failure(conninfo, plan, names[index], value_size(original), limit or 0)

    return fail


def _truncate_rows(rows: list[tuple], lobs: list[int], limit: int, notes: dict[str, int], fail) -> list[tuple]:
    cut = 0
    out = rows
    for r, row in enumerate(rows):
        changed = None
        for i in lobs:
            value, was_cut = truncate_value(row[i], limit)
            if was_cut:
                if fail is not None:
                    fail(i, row[i])
                changed = changed or list(row)
                changed[i] = value
                cut += 1
        if changed is not None:
            if out is rows:
                out = list(rows)
            out[r] = tuple(changed)
    if cut:
        notes["lob_truncated"] = cut
    return out


# ---- PG_COPY_TEXT ---------------------------------------------------------------------------------

def _copy_batches(conn: psycopg.Connection, conninfo: ConnectionInfo, plan: TablePlan,
                  segment: Segment | None, batch_rows: int) -> Iterator[RowBatch]:
    if not plan.passthrough:
        raise EngineError(f"Table {plan.source_schema}.{plan.source_table}: COPY text rows need a plan without "
                          "transformations of values; read it in PYTHON format.", kind=ErrorKind.UNSUPPORTED)
    names = [c.source for c in plan.columns]  # target column order
    statement, params = sqlbuild.select(plan, _expressions(conn, plan, names, _same_types(plan)), segment)
    copy_sql = sql.SQL("COPY ({}) TO STDOUT").format(statement)
    bound = psycopg.ClientCursor(conn).mogrify(copy_sql, params or None).encode(conn.info.encoding)
    limit = _lob_limit(plan)
    fields = [CopyLobField(i, c.dms_type.name is T.BLOB) for i, c in enumerate(plan.columns) if c.dms_type.is_lob]
    cutter = _LineCutter(conninfo, plan, fields, limit) if limit is not None and fields else None
    for data, rows in copy_out_blocks(conn, bound, batch_rows, long_line=limit,
                                      on_long_line=cutter.cut if cutter else None):
        cut = cutter.take_count() if cutter else 0
        yield RowBatch(RowFormat.PG_COPY_TEXT, rows, data, nbytes=len(data),
                       notes={"lob_truncated": cut} if cut else {})


class _LineCutter:
    """Cuts the LOB values of a COPY line longer than the LOB limit, counting them (or failing the
    task when the endpoint sets failTasksOnLobTruncation)."""

    def __init__(self, conninfo: ConnectionInfo, plan: TablePlan, fields: Sequence[CopyLobField], limit: int):
        self.conninfo, self.plan, self.fields, self.limit = conninfo, plan, fields, limit
        self.fail = conninfo.flag("failTasksOnLobTruncation")
        self.count = 0

    def cut(self, line: bytes) -> bytes:
        line, count, longest = truncate_copy_line(line, self.fields, self.limit)
        if count and self.fail:
            raise _lob_failure(self.conninfo, self.plan, _lob_names(self.plan, self.fields), longest, self.limit)
        self.count += count
        return line

    def take_count(self) -> int:
        count, self.count = self.count, 0
        return count


def _same_types(plan: TablePlan) -> list[bool]:
    """Columns whose target keeps the source's native type travel in PostgreSQL's own text form, which
    round-trips exactly (time zone offsets of timetz included). money does not: its text follows lc_monetary."""
    return [c.target_type == plan.source.column(c.source).native_type and c.target_type != "money"
            for c in plan.columns]


def _lob_names(plan: TablePlan, fields: Sequence[CopyLobField]) -> str:
    return "/".join(plan.columns[f.index].name for f in fields)


