"""Full-load writes into MySQL/MariaDB: LOAD DATA LOCAL INFILE, else multi-row INSERT.

Measured on the 2-core test machine (MariaDB 10.11, binlog on), 200k rows of
(bigint, int, varchar, decimal, text ~80 chars, datetime, json, boolean):
multi-row INSERT through executemany 30k rows/s, LOAD DATA LOCAL 53k rows/s, so
LOAD DATA it is. Rows are written to a private temporary file (in /dev/shm when
there is one) in chunks of at most maxFileSize and loaded; the transaction commits
about every commit_rows rows. MySQL-to-MySQL passthrough plans arrive as MYSQL_LOAD_TEXT,
lines the source server wrote in the same format, and are sent as they are.

Servers with local_infile=OFF (MySQL 8's default) refuse LOAD DATA LOCAL: an empty
load at the start finds out, and the rows then go in as multi-row INSERTs.

With LOCAL the server turns bad values and duplicate keys into warnings and goes
on (it cannot stop the client's upload), so every chunk's warnings are checked:
any warning rolls the chunk back and fails the load with the server's words.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

from ..base import LoadResult, RowBatch, RowFormat
from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from ..plan import TablePlan
from .attributes import max_file_bytes
from .connection import connect
from .ddl import target_database
from .errors import LOCAL_INFILE_REFUSED, translate
from .infile import GuardedConnection
from .loadfile import LoadLayout, layout
from .sqltext import column_list, qualified
from .values import parse_lines, parser_for

log = logging.getLogger(__name__)

_WARNINGS_SHOWN = 3


@dataclass
class _Load:
    """One table's load: where rows go and what has gone so far."""

    raw: GuardedConnection
    name: str
    table: str  # quoted `db`.`table`
    plan: TablePlan
    shape: LoadLayout
    commit_rows: int
    result: LoadResult = field(default_factory=LoadResult)
    uncommitted: int = 0


def load(conn: ConnectionInfo, plan: TablePlan, batches: Iterable[RowBatch], *, commit_rows: int,
         client_local_infile: bool = True) -> LoadResult:
    """`client_local_infile=False` makes the client refuse LOAD DATA LOCAL (for tests of the fallback)."""
    database = target_database(conn, plan)
    raw = connect(conn, read_timeout=None, autocommit=False, local_infile=client_local_infile, use_database=False,
                  connection_class=GuardedConnection)
    job = _Load(raw, f"{database}.{plan.target_table}", qualified(database, plan.target_table), plan,
                layout(plan.columns), max(1, commit_rows))
    try:
        with _load_file() as path:
            statement = _load_statement(job)
            if _load_data_allowed(job, statement, path):
                _load_files(job, statement, path, batches, max_file_bytes(conn))
            else:
                log.info("LOAD DATA LOCAL is disabled for %s: loading %s with multi-row INSERT", conn.host, job.name)
                _insert_all(job, batches)
    except (pymysql.MySQLError, OSError) as exc:
        _rollback(raw)
        raise translate(exc, conn, f"loading target table {job.name}") from None
    except BaseException:
        _rollback(raw)
        raise
    finally:
        raw.close()
    return job.result


def _load_statement(job: _Load) -> str:
    return (f"LOAD DATA LOCAL INFILE %s INTO TABLE {job.table} CHARACTER SET utf8mb4 "
            "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
            f"{job.shape.targets}{job.shape.assignments}")


def _load_data_allowed(job: _Load, statement: str, path: Path) -> bool:
    """Load an empty file: refused when the server (or client) has LOAD DATA LOCAL disabled."""
    try:
        _send(job, statement, path, [], 0)
    except pymysql.MySQLError as exc:
        if exc.args and exc.args[0] in LOCAL_INFILE_REFUSED:
            return False
        raise
    return True


def _add(job: _Load, batch: RowBatch, rows: int, nbytes: int) -> None:
    job.result.rows += rows
    job.result.nbytes += nbytes
    for note, count in batch.notes.items():
        job.result.notes[note] = job.result.notes.get(note, 0) + count


def _load_files(job: _Load, statement: str, path: Path, batches: Iterable[RowBatch], chunk_bytes: int) -> None:
    chunk: list[bytes] = []
    chunk_size = chunk_rows = 0
    for batch in batches:
        data = _lines(job, batch)
        chunk.append(data)
        chunk_size += len(data)
        chunk_rows += batch.rows
        _add(job, batch, 0, 0)
        if chunk_size >= chunk_bytes or job.uncommitted + chunk_rows >= job.commit_rows:
            _flush(job, statement, path, chunk, chunk_rows, chunk_size)
            chunk, chunk_size, chunk_rows = [], 0, 0
    if chunk_rows:
        _flush(job, statement, path, chunk, chunk_rows, chunk_size)
    job.raw.commit()


def _lines(job: _Load, batch: RowBatch) -> bytes:
    if batch.format is RowFormat.PYTHON:
        return job.shape.lines(batch.data)
    if batch.format is RowFormat.MYSQL_LOAD_TEXT:
        return batch.data  # already LOAD DATA lines, written by the source server (copytext.py)
    raise EngineError(f"MySQL cannot load rows in format {batch.format}.", kind=ErrorKind.UNSUPPORTED)


def _flush(job: _Load, statement: str, path: Path, chunk: list[bytes], rows: int, nbytes: int) -> None:
    _send(job, statement, path, chunk, rows)
    job.result.rows += rows
    job.result.nbytes += nbytes
    job.uncommitted += rows
    if job.uncommitted >= job.commit_rows:
        job.raw.commit()
        job.uncommitted = 0


def _send(job: _Load, statement: str, path: Path, chunk: list[bytes], rows: int) -> None:
    raw = job.raw
    path.write_bytes(b"".join(chunk))
    raw.allowed_infile = str(path).encode()
    try:
        with raw.cursor() as cursor:
            loaded = cursor.execute(statement, (str(path),))
            _check_warnings(job, cursor, rows)
    finally:
        raw.allowed_infile = None
    if loaded != rows:
        raw.rollback()
        raise EngineError(f"Target table {job.name} took {loaded} of {rows} rows of a chunk, which was rolled "
                          "back.", kind=ErrorKind.DATA)


def _check_warnings(job: _Load, cursor: pymysql.cursors.Cursor, rows: int) -> None:
    warnings = cursor.warning_count
    if not warnings:
        return
    cursor.execute("SHOW WARNINGS LIMIT %s", (_WARNINGS_SHOWN,))
    details = "; ".join(str(row[2]) for row in cursor.fetchall())
    job.raw.rollback()
    raise EngineError(f"Target table {job.name} refused {warnings} value(s) or row(s) in a chunk of {rows} rows, "
                      f"which was rolled back: {details}. Check the column types and keys of the target table.",
                      kind=ErrorKind.DATA)


# ---- multi-row INSERT, when LOAD DATA LOCAL is disabled ---------------------------------------------

def _insert_all(job: _Load, batches: Iterable[RowBatch]) -> None:
    placeholders = ", ".join(["%s"] * len(job.plan.columns))
    # PyMySQL's executemany turns this into multi-row INSERTs of up to max_allowed_packet bytes.
    names = column_list(c.name for c in job.plan.columns)
    statement = f"INSERT INTO {job.table} ({names}) VALUES ({placeholders})"  # noqa: S608 - names quoted
    parsers = [parser_for(c.dms_type) for c in job.plan.columns]
    for batch in batches:
        if batch.format is RowFormat.MYSQL_LOAD_TEXT:
            rows = parse_lines(batch.data, parsers)
        elif batch.format is RowFormat.PYTHON:
            rows = batch.data
        else:
            raise EngineError(f"MySQL cannot load rows in format {batch.format}.", kind=ErrorKind.UNSUPPORTED)
        if rows:
            with job.raw.cursor() as cursor:
                cursor.executemany(statement, rows)
                _check_warnings(job, cursor, len(rows))
        _add(job, batch, batch.rows, batch.nbytes)
        job.uncommitted += batch.rows
        if job.uncommitted >= job.commit_rows:
            job.raw.commit()
            job.uncommitted = 0
    job.raw.commit()


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
