"""Values between pyodbc and the canonical Python forms of endpoints.engines.types.

Most SQL Server values arrive from pyodbc already canonical (int, Decimal, float, str,
bytes, date, datetime). The converters here cover the rest: datetimeoffset's raw ODBC
struct, strings where FreeTDS sends date/time text, LOB cut-off in limited LOB mode,
and the few values SQL Server cannot take as pyodbc would bind them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from ..types import INTEGER_RANGES, DmsType, T

SQL_SS_TIMESTAMPOFFSET = -155  # ODBC type of datetimeoffset, unknown to pyodbc
_DTO = struct.Struct("<6hI2h")  # year month day hour minute second, fraction (ns), offset hours, minutes
_INT8_MAX = INTEGER_RANGES[T.INT8][1]


def datetimeoffset_text(raw: bytes) -> str:
    """SQL_SS_TIMESTAMPOFFSET_STRUCT as SQL Server prints datetimeoffset(7)."""
    year, month, day, hour, minute, second, nanos, off_h, off_m = _DTO.unpack(raw)
    sign = "-" if off_h < 0 or off_m < 0 else "+"
    return (f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}.{nanos // 100:07d} "
            f"{sign}{abs(off_h):02d}:{abs(off_m):02d}")


def add_output_converters(connection: Any) -> None:
    """Let a raw datetimeoffset read as text instead of failing with 'ODBC SQL type -155 is not supported'."""
    connection.add_output_converter(SQL_SS_TIMESTAMPOFFSET,
                                    lambda raw: None if raw is None else datetimeoffset_text(raw))


# ---- source values -> canonical -----------------------------------------------------------------

def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value).strip()[:10])


def _to_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, datetime):
        return value.time()
    return time.fromisoformat(_micro(str(value).strip()))


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(_micro(str(value).strip().replace("T", " ")))


def _micro(text: str) -> str:
    """Fractions longer than 6 digits (datetime2(7), time(7)) cut to microseconds for fromisoformat."""
    head, dot, fraction = text.partition(".")
    return head + dot + fraction[:6] if dot else head


def _to_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _to_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else bytes(value)


_CANONICAL: dict[T, Callable[[Any], Any]] = {
    T.BOOLEAN: bool,
    T.DATE: _to_date,
    T.TIME: _to_time,
    T.DATETIME: _to_datetime,
    T.NUMERIC: _to_decimal,
    T.BYTES: _to_bytes,
    T.BLOB: _to_bytes,
}


def canonical(dms: DmsType, value: Any) -> Any:
    """A value read from SQL Server in its canonical Python form (None stays None)."""
    if value is None:
        return None
    convert = _CANONICAL.get(dms.name)
    return convert(value) if convert else value


def row_converter(types: list[DmsType]) -> Callable[[tuple], tuple]:
    """A function making a row canonical; columns that need no work are passed through."""
    work = [(i, _CANONICAL[t.name]) for i, t in enumerate(types) if t.name in _CANONICAL]
    if not work:
        return tuple

    def convert(row: tuple) -> tuple:
        values = list(row)
        for index, function in work:
            if values[index] is not None:
                values[index] = function(values[index])
        return tuple(values)
    return convert


def cut_lob(value: Any, max_bytes: int) -> tuple[Any, bool]:
    """Limited LOB mode: (value cut to max_bytes, whether it was cut). Text is cut on a character
    boundary of its UTF-8 form, as DMS measures LobMaxSize."""
    if isinstance(value, str):
        encoded = value.encode("utf-8")
        if len(encoded) <= max_bytes:
            return value, False
        return encoded[:max_bytes].decode("utf-8", errors="ignore"), True
    if isinstance(value, bytes | bytearray) and len(value) > max_bytes:
        return bytes(value[:max_bytes]), True
    return value, False


# ---- canonical -> values pyodbc binds for SQL Server --------------------------------------------

def for_sqlserver(dms: DmsType, value: Any) -> Any:
    """A canonical value as pyodbc should bind it for a SQL Server column of this DMS type."""
    if value is None:
        return None
    if dms.name is T.UINT8 and value > _INT8_MAX:
        return Decimal(value)  # pyodbc binds ints as BIGINT; numeric(20,0) takes it as a decimal
    if dms.name is T.BOOLEAN:
        return int(value)  # the target column is tinyint (DMS)
    if dms.name is T.DATETIME and isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
