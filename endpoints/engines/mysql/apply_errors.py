"""Errors of the MySQL applier, sorted into the kinds the apply loop acts on.

A duplicate key (1062) is DUPLICATE (ApplyErrorInsertPolicy); a refused value is DATA
(DataErrorPolicy), worded with the table and the column. The session runs with
STRICT_ALL_TABLES, so a value that does not fit is an error, never a silent cut; what the
server still only warns about (a DECIMAL rounded to the column's scale is a Note) is
checked after each statement and refused the same way. Lost connections, timeouts and
deadlocks are transient, so the loop rolls back, reconnects and retries; everything else
goes through the engine's general translation (missing objects, privileges, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import pymysql

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from .apply_meta import TableMeta
from .errors import translate

DUPLICATE_KEY = 1062
# Refused values: NULL into NOT NULL, out of range, truncated, bad value, bad date, too long, bad
# character, invalid JSON, CHECK constraint, foreign keys.
DATA_ERRORS = frozenset({1048, 1263, 1264, 1265, 1292, 1300, 1366, 1367, 1406, 1411, 1451, 1452, 1690, 3140,
                         3819, 4025, 4078})
# Warnings (and notes) that mean a value was changed on its way in.
DATA_WARNINGS = frozenset({1048, 1263, 1264, 1265, 1292, 1300, 1366, 1367, 1406, 1411, 1690})
_SHOWN_WARNINGS = 3
_STAGED_COLUMN = re.compile(r"^c(\d+)$")
_STAGED_NAME = re.compile(r"(['`])c(\d+)\1")

# How the server names a column: "Data too long for column 'name' at row 1", "Column 'name' cannot be
# null", "NULL supplied to NOT NULL column 'name'", MariaDB's "... for column `db`.`table`.`name` at row 1".
_NAMED = (
    re.compile(r"column `(?:(?:[^`]|``)*`\.`)*((?:[^`]|``)+)`", re.IGNORECASE),
    re.compile(r"column '((?:[^']|'')+)'", re.IGNORECASE),
)


def _code_and_text(exc: BaseException) -> tuple[int | None, str]:
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0], str(args[1]) if len(args) > 1 else ""
    return None, str(exc)


def apply_error(exc: BaseException, conninfo: ConnectionInfo, meta: TableMeta | None,
                rows: Sequence[Sequence] = (), *, doing: str, staged: bool = False) -> EngineError:
    """The EngineError for `exc`, raised while applying `rows` (target column order) to `meta`'s table;
    `staged`: while writing them to a staging table (columns c0.. for the target's)."""
    if isinstance(exc, EngineError):
        return exc
    table = meta.name if meta is not None else "?"
    code, text = _code_and_text(exc)
    if code == DUPLICATE_KEY:
        return EngineError(f"Target table {table}: a row with the same key already exists ({text}).",
                           kind=ErrorKind.DUPLICATE)
    if code in DATA_ERRORS:
        return data_error(meta, text, rows, staged=staged)
    if isinstance(exc, pymysql.err.ProgrammingError) and code is None:
        # Refused by PyMySQL before anything was sent: "inf can not be used with MySQL".
        return data_error(meta, text, rows)
    return translate(exc, conninfo, doing)


def data_error(meta: TableMeta | None, text: str, rows: Sequence[Sequence] = (), *, staged: bool = False
               ) -> EngineError:
    table = meta.name if meta is not None else "?"
    column = find_column(meta, text, rows, staged=staged) if meta is not None else None
    if staged and meta is not None:  # the server's words name staging columns: say which target column
        text = _STAGED_NAME.sub(lambda m: _target_name(m, meta), text)
    where = f"Target table {table}, column {column}" if column else f"Target table {table}"
    return EngineError(f"{where}: {text}", kind=ErrorKind.DATA)


def _target_name(found: re.Match, meta: TableMeta) -> str:
    index = int(found.group(2))
    return f"'{meta.columns[index].name}'" if index < len(meta.columns) else found.group(0)


def find_column(meta: TableMeta, text: str, rows: Sequence[Sequence], *, staged: bool = False) -> str | None:
    """The column a refused value belongs to: as the server names it, else by checking the values sent
    against the column definitions."""
    for pattern in _NAMED:
        found = pattern.search(text)
        if found:
            quote_char = "`" if pattern is _NAMED[0] else "'"
            named = found.group(1).replace(quote_char * 2, quote_char)
            position = _STAGED_COLUMN.match(named) if staged else None
            if position and int(position.group(1)) < len(meta.columns):
                return meta.columns[int(position.group(1))].name
            for column in meta.columns:
                if column.name.lower() == named.lower():
                    return column.name
            return named
    for index, column in enumerate(meta.columns):
        values = [row[index] for row in rows if index < len(row)]
        if "can not be used with MySQL" in text and any(isinstance(v, float) and not math.isfinite(v)
                                                        for v in values):
            return column.name
        if "cannot be null" in text and not column.nullable and any(v is None for v in values):
            return column.name
    return None


def check_warnings(cursor: pymysql.cursors.Cursor, meta: TableMeta | None, rows: Sequence[Sequence] = (), *,
                   staged: bool = False) -> None:
    """Raise DATA when the last statement changed a value on its way in (a warning or note the server
    gives instead of an error). Other warnings (deprecations, unsafe-for-binlog notes) are let through."""
    if not cursor.warning_count:
        return
    cursor.execute("SHOW WARNINGS")
    changed = [(level, code, message) for level, code, message in cursor.fetchall() if code in DATA_WARNINGS]
    if not changed:
        return
    text = "; ".join(f"{message} ({level} {code})" for level, code, message in changed[:_SHOWN_WARNINGS])
    raise data_error(meta, f"the value would be changed on its way in: {text}", rows, staged=staged)
