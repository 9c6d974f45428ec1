"""Bulk load into a SQL Server table.

With Microsoft's driver, rows go as parameter arrays (pyodbc's fast_executemany: one round
trip per batch). FreeTDS's parameter arrays are unreliable (pyodbc's driver notes), so
there rows go as multi-row INSERT statements of up to 1000 rows / 2100 parameters. When
the target table has identity columns among the loaded ones (a table the DBA created),
IDENTITY_INSERT is switched on around the load so the source's values are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..base import LoadResult, RowBatch
from ..plan import TablePlan
from .sqlfiles import sql
from .sqltext import qualified
from .statements import identity_insert, insert_statement, rows_per_insert
from .values import for_sqlserver

# ODBC SQL types for setinputsizes. (max) columns must not be sized from their first value, or pyodbc's
# parameter arrays reserve (or cut to) the wrong width; columns whose values travel as text (datetimeoffset,
# uniqueidentifier, the CLR types read through ToString()) are bound as text for the server to convert,
# instead of as the type the driver describes, which pyodbc cannot fill from a str.
SQL_WVARCHAR = -9
SQL_VARBINARY = -3
_TEXT_SIZES = {"nvarchar(max)": 0, "varchar(max)": 0, "xml": 0, "geography": 0, "geometry": 0,
               "hierarchyid": 4000, "uniqueidentifier": 36, "datetimeoffset": 34}


def input_sizes(plan: TablePlan) -> list[tuple[int, int, int] | None]:
    sizes: list[tuple[int, int, int] | None] = []
    for column in plan.columns:
        target = column.target_type.lower()
        key = target if target in _TEXT_SIZES else target.split("(", 1)[0]
        if key in _TEXT_SIZES:
            sizes.append((SQL_WVARCHAR, _TEXT_SIZES[key], 0))
        elif target == "varbinary(max)":
            sizes.append((SQL_VARBINARY, 0, 0))
        else:
            sizes.append(None)
    return sizes


def row_converter(plan: TablePlan) -> Callable[[tuple], tuple]:
    types = [c.dms_type for c in plan.columns]
    return lambda row: tuple(for_sqlserver(t, v) for t, v in zip(types, row, strict=True))


def identity_columns(connection: Any, plan: TablePlan) -> set[str]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql("target_identity_columns"), qualified(plan.target_schema, plan.target_table))
        return {row[0] for row in cursor.fetchall()}
    finally:
        cursor.close()


def load(connection: Any, plan: TablePlan, batches: Iterable[RowBatch], *, commit_rows: int,
         parameter_arrays: bool) -> LoadResult:
    """Write PYTHON batches (target column order), committing about every commit_rows rows."""
    identity = bool(identity_columns(connection, plan) & {c.name for c in plan.columns})
    cursor = connection.cursor()
    convert = row_converter(plan)
    result, pending = LoadResult(), 0
    try:
        if identity:
            cursor.execute(identity_insert(plan, True))
        if parameter_arrays:
            cursor.fast_executemany = True
            cursor.setinputsizes(input_sizes(plan))
        for batch in batches:
            rows = [convert(row) for row in batch.data]
            write_rows(cursor, plan, rows, parameter_arrays)
            result.rows += len(rows)
            result.nbytes += batch.nbytes
            for note, count in batch.notes.items():
                result.notes[note] = result.notes.get(note, 0) + count
            pending += len(rows)
            if pending >= commit_rows:
                connection.commit()
                pending = 0
        connection.commit()
    finally:
        if identity:
            cursor.execute(identity_insert(plan, False))
        cursor.close()
    return result


def write_rows(cursor: Any, plan: TablePlan, rows: list[tuple], parameter_arrays: bool) -> None:
    """INSERT converted rows (plan column order): one parameter array (the cursor set up for it), else
    multi-row INSERTs within SQL Server's limits."""
    if not rows:
        return
    if parameter_arrays:
        cursor.executemany(insert_statement(plan), rows)
        return
    size = rows_per_insert(len(plan.columns))
    full = insert_statement(plan, size)
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        statement = full if len(chunk) == size else insert_statement(plan, len(chunk))
        cursor.execute(statement, [value for row in chunk for value in row])
