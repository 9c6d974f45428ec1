"""Full-load writes into MySQL/MariaDB with LOAD DATA LOCAL INFILE.

Measured on the 2-core test machine (MariaDB 10.11, binlog on), 200k rows of
(bigint, int, varchar, decimal, text ~80 chars, datetime, json, boolean):
multi-row INSERT through executemany 30k rows/s, LOAD DATA LOCAL 53k rows/s, so
LOAD DATA it is. Rows are written to a private temporary file (in /dev/shm when
there is one) in chunks of at most maxFileSize and loaded; the transaction commits
about every commit_rows rows. MySQL-to-MySQL passthrough plans arrive as MYSQL_LOAD_TEXT,
lines the source server wrote in the same format, and are sent as they are.

With LOCAL the server turns bad values and duplicate keys into warnings and goes
on (it cannot stop the client's upload), so every chunk's warnings are checked:
any warning rolls the chunk back and fails the load with the server's words.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pymysql

from ..base import LoadResult, RowBatch, RowFormat
from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from ..plan import TablePlan
from .attributes import max_file_bytes
from .connection import connect
from .ddl import target_database
from .errors import translate
from .infile import GuardedConnection
from .loadfile import LoadLayout, layout
from .sqltext import qualified

_WARNINGS_SHOWN = 3


def load(conn: ConnectionInfo, plan: TablePlan, batches: Iterable[RowBatch], *, commit_rows: int) -> LoadResult:
    database = target_database(conn, plan)
    name = f"{database}.{plan.target_table}"
    shape = layout(plan.columns)
    statement = (f"LOAD DATA LOCAL INFILE %s INTO TABLE {qualified(database, plan.target_table)} "
                 "CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                 f"{shape.targets}{shape.assignments}")
    result = LoadResult()
    raw = connect(conn, read_timeout=None, autocommit=False, local_infile=True, use_database=False,
                  connection_class=GuardedConnection)
    try:
        with _load_file() as path:
            _load_all(raw, statement, path, shape, batches, result, max(1, commit_rows), max_file_bytes(conn), name)
    except (pymysql.MySQLError, OSError) as exc:
        _rollback(raw)
        raise translate(exc, conn, f"loading target table {name}") from None
    except BaseException:
        _rollback(raw)
        raise
    finally:
        raw.close()
    return result


def _load_all(raw: GuardedConnection, statement: str, path: Path, shape: LoadLayout, batches: Iterable[RowBatch],
              result: LoadResult, commit_rows: int, chunk_bytes: int, name: str) -> None:
    chunk: list[bytes] = []
    chunk_size = chunk_rows = uncommitted = 0
    for batch in batches:
        if batch.format is RowFormat.PYTHON:
            data = shape.lines(batch.data)
        elif batch.format is RowFormat.MYSQL_LOAD_TEXT:
            data = batch.data  # already LOAD DATA lines, written by the source server (copytext.py)
        else:
            raise EngineError(f"MySQL cannot load rows in format {batch.format}.", kind=ErrorKind.UNSUPPORTED)
        chunk.append(data)
        chunk_size += len(data)
        chunk_rows += batch.rows
        for note, count in batch.notes.items():
            result.notes[note] = result.notes.get(note, 0) + count
        if chunk_size >= chunk_bytes or uncommitted + chunk_rows >= commit_rows:
            _send(raw, statement, path, chunk, chunk_rows, name)
            result.rows += chunk_rows
            result.nbytes += chunk_size
            uncommitted += chunk_rows
            chunk, chunk_size, chunk_rows = [], 0, 0
            if uncommitted >= commit_rows:
                raw.commit()
                uncommitted = 0
    if chunk_rows:
        _send(raw, statement, path, chunk, chunk_rows, name)
        result.rows += chunk_rows
        result.nbytes += chunk_size
    raw.commit()


def _send(raw: GuardedConnection, statement: str, path: Path, chunk: list[bytes], rows: int, name: str) -> None:
    path.write_bytes(b"".join(chunk))
    raw.allowed_infile = str(path).encode()
    try:
        with raw.cursor() as cursor:
            loaded = cursor.execute(statement, (str(path),))
            warnings = cursor.warning_count
            if warnings:
                cursor.execute("SHOW WARNINGS LIMIT %s", (_WARNINGS_SHOWN,))
                details = "; ".join(str(row[2]) for row in cursor.fetchall())
    finally:
        raw.allowed_infile = None
    if warnings:
        raw.rollback()
        raise EngineError(f"Target table {name} refused {warnings} value(s) or row(s) in a chunk of {rows} rows, "
                          f"which was rolled back: {details}. Check the column types and keys of the target "
                          "table.", kind=ErrorKind.DATA)
    if loaded != rows:
        raw.rollback()
        raise EngineError(f"Target table {name} took {loaded} of {rows} rows of a chunk, which was rolled back.",
                          kind=ErrorKind.DATA)


@contextmanager
def _load_file() -> Iterator[Path]:
    """A private file for the chunks, removed afterwards; in memory (/dev/shm) when possible."""
    directory = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    handle, name = tempfile.mkstemp(prefix="dms-load-", suffix=".tsv", dir=directory)
    os.close(handle)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _rollback(raw: pymysql.connections.Connection) -> None:
    try:
        raw.rollback()
    except (pymysql.MySQLError, OSError):
        pass  # the connection is gone: the server rolls the transaction back itself
