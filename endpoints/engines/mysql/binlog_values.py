"""Canonical Python values (see types.py) from the values python-mysql-replication decodes off row events.

The package decodes the binary row image; what it hands over differs from what a full-load
read gives (values.py) in a few places, and is brought to the same canonical value here:

* BIT(1) arrives as '1'/'0' text (BOOLEAN), BIT(n) as a string of bits (big-endian bytes);
* BINARY(n) arrives without its trailing zero bytes (the row image strips the padding);
  an empty binary value arrives as '' rather than b'';
* TIME arrives as a timedelta (text such as '-838:59:59', fraction digits as declared);
* YEAR 0000 arrives as 1900, a zero TIMESTAMP as 1970-01-01 00:00:00 (no valid TIMESTAMP is
  exactly the epoch): 0 and None; zero DATE/DATETIME values already arrive as None;
* SET arrives as a Python set (or None when empty): its text in definition order;
* MySQL's binary JSON arrives parsed: it is printed back to JSON text. MariaDB JSON is text;
* MariaDB UUID / INET4 / INET6 arrive as their 16/4/16 bytes: their text.

Signedness, ENUM/SET values and column names need binlog_row_metadata=FULL (checked before
capture starts). Everything else (integers, DECIMAL, FLOAT as its double, DATETIME(6),
TIMESTAMP(6) in UTC, text in any character set, bytes) arrives canonical already.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pymysqlreplication.column import Column
from pymysqlreplication.constants import FIELD_TYPE, NONE_SOURCE

from ..catalog import SourceColumn

Convert = Callable[[Any], Any]

_EPOCH = datetime(1970, 1, 1)
_TEXT_TYPES = {FIELD_TYPE.STRING, FIELD_TYPE.VAR_STRING, FIELD_TYPE.VARCHAR, FIELD_TYPE.BLOB}
_STRING_TYPES = {FIELD_TYPE.STRING, FIELD_TYPE.VAR_STRING}


def converter(column: Column, source: SourceColumn | None) -> Convert | None:
    """How to bring one column's decoded values to canonical values (None: they already are).

    `column` is the column as the table map event describes it; `source` the catalog's column of
    the same name when known (it tells MariaDB's UUID/INET types apart from BINARY)."""
    kind = column.type
    native = (source.native_type.lower() if source is not None else "").split("(")[0].strip()
    if kind == FIELD_TYPE.BIT:
        return _bool if column.bits == 1 else _bits(column.bytes)
    if kind in _TEXT_TYPES and column.character_set_name == "binary":
        if native == "uuid":
            return _uuid
        if native in ("inet4", "inet6"):
            return _inet
        if kind in _STRING_TYPES:
            return _padded(column.max_length)
        return _bytes
    if kind in (FIELD_TYPE.TIME2, FIELD_TYPE.TIME):
        return _time_text(getattr(column, "fsp", 0) or 0)
    if kind in (FIELD_TYPE.TIMESTAMP2, FIELD_TYPE.TIMESTAMP):
        return _timestamp
    if kind == FIELD_TYPE.YEAR:
        return _year
    if kind == FIELD_TYPE.SET:
        return _set_text(tuple(column.set_values or ()))
    if kind == FIELD_TYPE.JSON:
        return _json_text
    return None


def is_zero_date(none_source: str | None) -> bool:
    """True when a None came from a zero or invalid date (counted, as the full load counts them)."""
    return none_source in (NONE_SOURCE.OUT_OF_DATE_RANGE, NONE_SOURCE.OUT_OF_DATETIME_RANGE,
                           NONE_SOURCE.OUT_OF_DATETIME2_RANGE)


def is_left_out(none_source: str | None) -> bool:
    """True when the row image left the column out (a session with binlog_row_image=MINIMAL/NOBLOB)."""
    return none_source == NONE_SOURCE.COLS_BITMAP


def is_empty_set(none_source: str | None) -> bool:
    return none_source == NONE_SOURCE.EMPTY_SET


# ---- converters ---------------------------------------------------------------------------------

def _bool(value: str) -> bool:
    return value == "1"


def _bits(size: int) -> Convert:
    def to_bytes(value: str) -> bytes:
        return int(value, 2).to_bytes(size, "big")
    return to_bytes


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _padded(length: int) -> Convert:
    def pad(value: bytes | str) -> bytes:
        raw = value.encode() if isinstance(value, str) else value
        return raw.ljust(length, b"\0") if len(raw) < length else raw
    return pad


def _uuid(value: bytes) -> str:
    return str(uuid.UUID(bytes=_padded(16)(value)))


def _inet(value: bytes | str) -> str:
    raw = _bytes(value)
    if len(raw) <= 4:
        return str(ipaddress.IPv4Address(raw.ljust(4, b"\0")))
    address = ipaddress.IPv6Address(raw.ljust(16, b"\0"))
    mapped = address.ipv4_mapped
    # The server prints IPv4-mapped addresses with the IPv4 part dotted.
    return f"::ffff:{mapped}" if mapped is not None else str(address)


def _time_text(digits: int) -> Convert:
    def text(value: timedelta) -> str:
        micros = value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds
        sign = "-" if micros < 0 else ""
        micros = abs(micros)
        seconds, fraction = divmod(micros, 1_000_000)
        hours, rest = divmod(seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        out = f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
        if digits:
            out += "." + f"{fraction:06d}"[:digits]
        return out
    return text


def _timestamp(value: datetime) -> datetime | None:
    return None if value == _EPOCH else value


def _year(value: int) -> int:
    return 0 if value == 1900 else value  # YEAR 0000 is stored as 0; the package adds 1900


def _set_text(members: tuple[str, ...]) -> Convert:
    def text(value: set[str]) -> str:
        return ",".join(m for m in members if m in value)
    return text


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value  # already text (e.g. MariaDB)
    return json.dumps(_plain_json(value), ensure_ascii=False)


def _plain_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {_plain_json(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(v) for v in value]
    if isinstance(value, Decimal | date | datetime | timedelta):
        return str(value)
    return value
