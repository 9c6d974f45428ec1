"""Bulk rows for the applier through LOAD DATA LOCAL INFILE, where the server allows it.

Measured on a 1M-row table (MariaDB 10.11, 2 shared cores), 5,000 rows of (bigint, int,
varchar, decimal, datetime): LOAD DATA LOCAL takes 30-50 ms with the client's formatting,
a multi-row INSERT 65-120 ms with PyMySQL's escaping. So inserts of LOAD_MIN rows or more,
and every staging table fill, go this way; servers with local_infile=OFF get multi-row
INSERTs (the first refusal is remembered).

With LOCAL the server cannot stop the upload, so it turns refused values and duplicate keys
into warnings and goes on. Any warning therefore fails the statement here (DUPLICATE for a
duplicate key, DATA for anything else), and the apply loop rolls back to its savepoint or
transaction, which takes away the rows that did go in.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pymysql

from ..errors import EngineError, ErrorKind
from ..plan import ColumnPlan, TablePlan
from ..types import DmsType, T
from .apply_errors import DUPLICATE_KEY, data_error
from .apply_meta import TableMeta
from .errors import LOCAL_INFILE_REFUSED
from .infile import GuardedConnection
from .loadfile import LoadLayout, layout
from .sqltext import qualified

# Shorter inserts are one multi-row INSERT: a LOAD DATA costs two more round trips and a file write.
# Measured per row: 5 rows 77 us by INSERT, 115 us by LOAD DATA; 10 rows 39 and 34; 20 rows 43 and 23.
LOAD_MIN = 20
_SHOWN_WARNINGS = 3


class LocalLoader:
    """LOAD DATA LOCAL of rows into one table at a time, through one private file (in /dev/shm when
    there is one), written afresh for every statement and removed on close."""

    def __init__(self, conn: GuardedConnection):
        self.conn = conn
        self.available: bool | None = None  # None until the server first accepts or refuses LOCAL
        directory = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        handle, name = tempfile.mkstemp(prefix="dms-apply-", suffix=".tsv", dir=directory)
        os.close(handle)
        self.path = Path(name)

    def close(self) -> None:
        self.path.unlink(missing_ok=True)

    def load(self, database: str, table: str, shape: LoadLayout, rows: Sequence[Sequence], meta: TableMeta,
             values: Sequence[Sequence], *, staged: bool = False) -> bool:
        """Load `rows` (in `shape`'s column order); False when the server refuses LOAD DATA LOCAL (nothing
        was loaded: the caller inserts them another way). `values` (target column order) and `staged`
        only serve to name the column of a refused value."""
        if self.available is False:
            return False
        self.path.write_bytes(shape.lines(rows))
        statement = (f"LOAD DATA LOCAL INFILE %s INTO TABLE {qualified(database, table)} CHARACTER SET utf8mb4 "
                     "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                     f"{shape.targets}{shape.assignments}")
        self.conn.allowed_infile = str(self.path).encode()
        try:
            with self.conn.cursor() as cursor:
                loaded = cursor.execute(statement, (str(self.path),))
                warnings = _warnings(cursor) if cursor.warning_count else []
        except pymysql.MySQLError as exc:
            if exc.args and exc.args[0] in LOCAL_INFILE_REFUSED and not self.available:
                self.available = False
                return False
            raise
        finally:
            self.conn.allowed_infile = None
        self.available = True
        if warnings:
            raise _refused(meta, warnings, values, staged)
        if loaded != len(rows):
            raise EngineError(f"Target table {meta.name} took {loaded} of {len(rows)} rows.", kind=ErrorKind.DATA)
        return True


def target_layout(plan: TablePlan, meta: TableMeta) -> LoadLayout:
    """How rows go into the target table: formatted by the plan's types, BIT and binary columns decoded
    as the server's real column types require."""
    return layout([ColumnPlan(column.name, column.dms_type, target.column_type)
                   for column, target in zip(plan.columns, meta.columns, strict=True)])


def staging_layout(plan: TablePlan, meta: TableMeta) -> LoadLayout:
    """How staged rows (n, w, c0..) go into a staging table (apply_sql.create_staging)."""
    counters = [ColumnPlan("n", DmsType(T.INT8), "bigint"), ColumnPlan("w", DmsType(T.INT4), "int")]
    return layout(counters + [ColumnPlan(f"c{i}", column.dms_type, target.column_type)
                              for i, (column, target) in enumerate(zip(plan.columns, meta.columns, strict=True))])


def _warnings(cursor: pymysql.cursors.Cursor) -> list[tuple]:
    cursor.execute("SHOW WARNINGS")
    return list(cursor.fetchall())


def _refused(meta: TableMeta, warnings: list[tuple], values: Sequence[Sequence], staged: bool) -> EngineError:
    text = "; ".join(f"{message} ({level} {code})" for level, code, message in warnings[:_SHOWN_WARNINGS])
    if any(code == DUPLICATE_KEY for _level, code, _message in warnings):
        return EngineError(f"Target table {meta.name}: a row with the same key already exists ({text}).",
                           kind=ErrorKind.DUPLICATE)
    return data_error(meta, f"refused while loading: {text}", values, staged=staged)
