"""Streaming a table (or one key range of it) out of MySQL/MariaDB, one batch at a time.

Each read opens its own connection and its own consistent snapshot (InnoDB snapshots
cannot be shared between connections). On MariaDB the snapshot's binary log position
comes with it (binlog_snapshot_file/position) and is put on the first batch; on MySQL
it is unknown (None) and cached changes must apply idempotently.

Rows come through an unbuffered cursor (SSCursor): the server streams, the client holds
one batch. PG_COPY_TEXT lines are built by the server (copytext.py) and taken off the
wire as bytes (wire.py), so Python only joins them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import SSCursor

from ..base import RowBatch, RowFormat
from ..catalog import SourceColumn
from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from ..plan import LobMode, Segment, TablePlan
from . import copytext, wire
from .catalog import column_charsets
from .connection import connect, is_mariadb
from .errors import translate
from .sqltext import quote, select_from
from .values import ReadNotes, decoders, row_fixers
from .where import where_clause


def read(conn: ConnectionInfo, plan: TablePlan, segment: Segment | None, *, fmt: RowFormat,
         batch_rows: int) -> Iterator[RowBatch]:
    """Batches of about `batch_rows` rows: PYTHON tuples over plan.read_columns, or PG_COPY_TEXT /
    MYSQL_LOAD_TEXT bytes (whole lines, target column order; only for passthrough plans)."""
    if fmt is not RowFormat.PYTHON and not plan.passthrough:
        raise EngineError(f"Table {plan.source.qualified}: {fmt} rows can only be produced when every target "
                          "column is a plain source column.", kind=ErrorKind.UNSUPPORTED)
    notes = ReadNotes()
    raw = connect(conn, read_timeout=None, autocommit=False, conv=decoders(notes))
    try:
        position = begin_snapshot(raw)
        if fmt in _DIALECTS:
            yield from _text_batches(raw, conn, plan, segment, fmt, batch_rows, position)
        else:
            yield from _python_batches(raw, conn, plan, segment, batch_rows, position, notes)
    except (pymysql.MySQLError, OSError) as exc:
        raise translate(exc, conn, f"reading {plan.source.qualified}") from None
    finally:
        raw.close()


def begin_snapshot(raw: Connection) -> str | None:
    """Start a consistent-snapshot transaction; its binlog position as 'file:pos' (MariaDB) or None."""
    with raw.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        if not is_mariadb(raw):
            return None
        cursor.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
        status = {name.lower(): value for name, value in cursor.fetchall()}
    binlog_file = status.get("binlog_snapshot_file") or ""
    return f"{binlog_file}:{status.get('binlog_snapshot_position')}" if binlog_file else None


def lob_limit(plan: TablePlan) -> int | None:
    return plan.lob.max_bytes if plan.lob.mode is LobMode.LIMITED else None


def _source_columns(plan: TablePlan, names: tuple[str, ...]) -> list[SourceColumn]:
    try:
        return [plan.source.column(name) for name in names]
    except KeyError as exc:
        raise EngineError(f"Table {plan.source.qualified} has no column {exc.args[0]!r}: refresh the source "
                          "catalog and the task's table mappings.", kind=ErrorKind.SCHEMA) from None


def _where(conn: ConnectionInfo, plan: TablePlan, segment: Segment | None):
    timestamps = frozenset(c.name for c in plan.source.columns if c.native_type.lower().startswith("timestamp"))
    zone = conn.attr("serverTimezone")
    return where_clause(plan.filters, segment, timestamp_columns=timestamps, server_timezone=zone or None)


def _python_batches(raw: Connection, conn: ConnectionInfo, plan: TablePlan, segment: Segment | None,
                    batch_rows: int, position: str | None, notes: ReadNotes) -> Iterator[RowBatch]:
    names = plan.read_columns
    columns = _source_columns(plan, names)
    where = _where(conn, plan, segment)
    expressions = ", ".join(copytext.number_expression(quote(c.name), c) for c in columns)
    text = select_from(expressions, plan.source_schema, plan.source_table, where.text,
                       partition=segment.partition if segment else None)
    fixers = row_fixers([c.dms_type for c in columns], lob_limit=lob_limit(plan), notes=notes)
    first = True
    for rows in _stream(raw, text, where.params, batch_rows):
        if fixers:
            rows = _fixed(rows, fixers)
        batch = RowBatch(RowFormat.PYTHON, len(rows), rows, notes=notes.take())
        if first:
            batch.snapshot_position, first = position, False
        yield batch


def _fixed(rows: list[tuple], fixers: list) -> list[tuple]:
    out = []
    for row in rows:
        values = list(row)
        for fix in fixers:
            fix(values)
        out.append(tuple(values))
    return out


_DIALECTS = {RowFormat.PG_COPY_TEXT: copytext.PG, RowFormat.MYSQL_LOAD_TEXT: copytext.MYSQL}


def _text_batches(raw: Connection, conn: ConnectionInfo, plan: TablePlan, segment: Segment | None,
                  fmt: RowFormat, batch_rows: int, position: str | None) -> Iterator[RowBatch]:
    columns = _source_columns(plan, tuple(c.source for c in plan.columns if c.source))
    where = _where(conn, plan, segment)
    charsets = column_charsets(raw, plan.source_schema, plan.source_table)
    line = copytext.line_expression(columns, lob_limit(plan), charsets, _DIALECTS[fmt])
    text = select_from(line, plan.source_schema, plan.source_table, where.text,
                       partition=segment.partition if segment else None)
    with raw.cursor() as cursor:
        cursor.execute(copytext.RESET_COUNTERS)
    first = True
    cursor = raw.cursor(SSCursor)
    cursor.execute(text, tuple(where.params))
    for lines in wire.stream_first_column(raw, batch_rows):
        data = b"\n".join(lines) + b"\n"
        batch = RowBatch(fmt, len(lines), data, nbytes=len(data))
        if first:
            batch.snapshot_position, first = position, False
        if len(lines) < batch_rows:  # the result is complete: the counters are final
            batch.notes = _counters(raw)
            yield batch
            return
        yield batch
    # The last batch was full, so the counters were not final when it left: send them alone.
    counts = _counters(raw)
    if counts:
        yield RowBatch(fmt, 0, b"", notes=counts, snapshot_position=position if first else None)


def _counters(raw: Connection) -> dict[str, int]:
    with raw.cursor() as cursor:
        cursor.execute(copytext.READ_COUNTERS)
        zero, lob = cursor.fetchone()
    return {k: int(v) for k, v in (("zero_dates", zero), ("lob_truncated", lob)) if v}


def _stream(raw: Connection, text: str, params: list[Any], batch_rows: int) -> Iterator[list[tuple]]:
    cursor = raw.cursor(SSCursor)
    try:
        cursor.execute(text, tuple(params))
        while True:
            rows = cursor.fetchmany(batch_rows)
            if not rows:
                return
            yield rows
            if len(rows) < batch_rows:
                return
    finally:
        cursor.close()
