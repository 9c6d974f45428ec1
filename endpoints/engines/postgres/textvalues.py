"""PostgreSQL text output (what pgoutput sends) -> the canonical values of types.py.

The change stream's session uses the settings of every other session (connection.SESSION_OPTIONS:
TimeZone UTC, ISO dates, hex bytea, round-trip floats) plus lc_monetary C, so each type has one
text form. Values equal what the full-load reader gives for the same column (values.read_expression
casts there; the same conversions happen here in Python), so a row loaded and the same row
changed later reach the target in the same form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..types import INTEGER_TYPES, TEXT_TYPES, DmsType, T
from .typemap import ColumnType

# None: the text is already the canonical value.
Converter = Callable[[str], Any] | None


class ValueProblem(ValueError):
    """A text value with no canonical form (e.g. infinity dates); the stream names the column."""


def text_converter(ctype: ColumnType | None, dms: DmsType | None) -> Converter:
    """How to turn one column's text output into its canonical value."""
    if dms is None:
        return None  # unsupported types travel as text; the plan excludes or reports them
    base = ctype.base_name if ctype else ""
    kind = dms.name
    if kind in TEXT_TYPES:
        # The full load reads text columns through ::text, which differs from the output function only here.
        if base == "boolean":
            return _boolean_text
        if base == "inet":
            return _inet_text
        return None
    if kind in INTEGER_TYPES:
        return int
    if kind is T.NUMERIC:
        return _money if base == "money" else _numeric
    if kind in (T.REAL4, T.REAL8):
        return float
    if kind is T.BOOLEAN:
        return _boolean
    if kind is T.DATE:
        return _date
    if kind is T.TIME:
        return _time_utc if base == "time with time zone" else _time
    if kind is T.DATETIME:
        return _timestamp_utc if base == "timestamp with time zone" else _timestamp
    if kind in (T.BLOB, T.BYTES):
        return _bytea
    return None


def _boolean_text(text: str) -> str:
    # boolean::text is 'true'/'false'; the output function writes 't'/'f'
    return "true" if text == "t" else "false"


def _boolean(text: str) -> bool:
    return text == "t"


def _inet_text(text: str) -> str:
    # inet::text always carries the netmask; the output function omits it for single hosts
    if "/" in text:
        return text
    return text + ("/128" if ":" in text else "/32")


def _numeric(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueProblem(f"{text!r} is not a number") from None


def _money(text: str) -> Decimal:
    # lc_monetary=C prints '$1,234.50' and '-$1,234.50'; the full load reads money::numeric
    negative = text.startswith("-") or text.startswith("(")
    digits = "".join(ch for ch in text if ch.isdigit() or ch == ".")
    value = _numeric(digits)
    return -value if negative else value


def _bytea(text: str) -> bytes:
    if not text.startswith("\\x"):
        raise ValueProblem("bytea value not in hex form (the session sets bytea_output=hex)")
    return bytes.fromhex(text[2:])


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _out_of_range(text) from None


def _timestamp(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise _out_of_range(text) from None


def _timestamp_utc(text: str) -> datetime:
    # TimeZone=UTC: the offset is +00 unless the value predates standardised zones (then still UTC, +00)
    if text.endswith("+00"):
        return _timestamp(text[:-3])
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _out_of_range(text) from None
    offset = value.utcoffset() or timedelta(0)
    return value.replace(tzinfo=None) - offset


def _time(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise _out_of_range(text) from None


_TIMETZ = re.compile(r"^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?$")


def _time_utc(text: str) -> time:
    """'12:34:56.5+05:30' -> 07:04:56.5, as (value AT TIME ZONE 'UTC')::time gives in the full load."""
    match = _TIMETZ.match(text)
    if not match:
        raise _out_of_range(text)
    hour, minute, second, fraction, sign, oh, om, osec = match.groups()
    micros = int((fraction or "0").ljust(6, "0"))
    local = (int(hour) * 3600 + int(minute) * 60 + int(second)) * 1_000_000 + micros
    offset = (int(oh) * 3600 + int(om or 0) * 60 + int(osec or 0)) * 1_000_000
    utc = (local - offset if sign == "+" else local + offset) % (86_400 * 1_000_000)
    seconds, micros = divmod(utc, 1_000_000)
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60, micros)


def _out_of_range(text: str) -> ValueProblem:
    return ValueProblem(f"{text!r} has no canonical form: dates and times must lie between years 1 and 9999 "
                        "(no infinity, no BC, no 24:00:00)")
