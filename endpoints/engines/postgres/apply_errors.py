"""Errors of the applier, sorted into the kinds the apply loop acts on.

A unique violation is DUPLICATE (ApplyErrorInsertPolicy); any other refused value is
DATA (DataErrorPolicy), worded with the table and, when it can be found, the column;
lost connections, timeouts, deadlocks and serialization failures are transient, so the
loop rolls back, reconnects and retries; everything else goes through the engine's
general translation (missing objects, privileges, ...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

import psycopg

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from .apply_meta import TableMeta, TargetColumn
from .connection import translate_error

# Worth another try on a fresh transaction: serialization failure, deadlock, lock not available.
_RETRY_STATES = {"40001", "40P01", "55P03"}
_INT_RANGES = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
# COPY names the failing column in its context: 'COPY awsdms_apply_1, line 3, column c2: "abc"'.
_COPY_COLUMN = re.compile(r"^COPY [^,]+, line \d+, column ([^:]+):")
_QUOTED_VALUE = re.compile(r': "(.*)"$', re.DOTALL)


def apply_error(exc: BaseException, conninfo: ConnectionInfo, meta: TableMeta | None,
                rows: Sequence[tuple] = (), *, doing: str = "", temp_columns: dict[str, str] | None = None
                ) -> EngineError:
    """The EngineError for `exc`, raised while applying `rows` (target column order) to `meta`'s table.
    `temp_columns` maps the columns of a staging table to target column names (for COPY contexts)."""
    state = getattr(exc, "sqlstate", None) or ""
    diag = getattr(exc, "diag", None)
    primary = (getattr(diag, "message_primary", None) or str(exc)).strip()
    detail = getattr(diag, "message_detail", None)
    table = meta.name if meta is not None else "?"
    if state == "23505":
        return EngineError(f"Target table {table}: a row with the same key already exists"
                           f"{f' ({detail})' if detail else ''}.", kind=ErrorKind.DUPLICATE)
    if not state and isinstance(exc, psycopg.DataError):
        state = "22021"  # refused by psycopg before sending: a NUL character in a text value
    if state.startswith(("22", "23")):
        column = find_column(exc, meta, rows, temp_columns or {}) if meta is not None else None
        where = f"Target table {table}, column {column}" if column else f"Target table {table}"
        extra = f" ({detail})" if detail else ""
        return EngineError(f"{where}: {primary}{extra}", kind=ErrorKind.DATA)
    if state in _RETRY_STATES:
        return EngineError(f"Target table {table}: {primary}. The transaction is retried.", kind=ErrorKind.OTHER,
                           permanent=False)
    if state == "42P10":
        return EngineError(f"Target table {table} has no primary key or unique index on the task's key columns, "
                           f"so rows cannot be upserted ({primary}). Add the key on the target.",
                           kind=ErrorKind.SCHEMA)
    return translate_error(exc, conninfo, doing=doing or f"applying changes to target table {table}")


def find_column(exc: BaseException, meta: TableMeta, rows: Sequence[tuple], temp_columns: dict[str, str]
                ) -> str | None:
    """The target column a data error is about: from the server when it says, else by checking the
    values that were sent against the column types (the server does not name the column of an
    over-long or out-of-range value)."""
    diag = getattr(exc, "diag", None)
    named = getattr(diag, "column_name", None)
    if named:
        return named
    context = getattr(diag, "context", None) or ""
    match = _COPY_COLUMN.match(context.strip())
    if match:
        return temp_columns.get(match.group(1), match.group(1))
    state = getattr(exc, "sqlstate", None) or ("22021" if isinstance(exc, psycopg.DataError) else "")
    message = (getattr(diag, "message_primary", None) or str(exc)).strip()
    for column, values in _columns_with_values(meta, rows):
        if _explains(state, message, column, values):
            return column.name
    return None


def _columns_with_values(meta: TableMeta, rows: Sequence[tuple]):
    for i, column in enumerate(meta.columns):
        yield column, [row[i] for row in rows if i < len(row)]


def _explains(state: str, message: str, column: TargetColumn, values: list) -> bool:
    if state == "22001":
        limit = column.max_length
        return limit is not None and any(isinstance(v, str) and len(v) > limit for v in values)
    if state == "22003":
        return _out_of_range(column, values)
    if state in ("22021", "22P05"):
        return any(isinstance(v, str) and "\x00" in v for v in values)
    quoted = _QUOTED_VALUE.search(message)
    if quoted:
        text = quoted.group(1)
        return any(v is not None and not isinstance(v, bytes) and str(v) == text for v in values)
    return False


def _out_of_range(column: TargetColumn, values: list) -> bool:
    bounds = _INT_RANGES.get(column.base_type)
    if bounds is not None:
        low, high = bounds
        return any(isinstance(v, int | Decimal) and not isinstance(v, bool) and not low <= v <= high for v in values)
    numeric = column.numeric_bounds
    if numeric is not None:
        precision, scale = numeric
        limit = Decimal(10) ** (precision - scale)
        for v in values:
            if isinstance(v, int | Decimal | float) and not isinstance(v, bool):
                try:
                    if abs(round(Decimal(v), scale)) >= limit:
                        return True
                except (InvalidOperation, ValueError):
                    continue
    return False


def is_connection_problem(exc: BaseException) -> bool:
    """True when the session itself is gone (nothing more can run on it)."""
    return isinstance(exc, psycopg.OperationalError) and not getattr(exc, "sqlstate", None)
