"""Converting a canonical value from one DMS type to another (change-data-type rules).

Conversions follow DMS's documented input formats (DATE 'YYYY-MM-DD' or
'YYYY:MM:DD', DATETIME 'YYYY-MM-DD HH:MM:SS', TIME 'HH:MM:SS'). A value that
cannot be converted raises ConversionError with the value and the types, so
ErrorBehavior's DataErrorPolicy decides; nothing is converted approximately
(a REAL with a fraction never becomes an integer silently).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from endpoints.engines.types import BINARY_TYPES, INTEGER_RANGES, INTEGER_TYPES, TEXT_TYPES, DmsType, T


class ConversionError(ValueError):
    pass


_DATE = re.compile(r"^(-?\d{1,4})[-:](\d{1,2})[-:](\d{1,2})$")
_DATETIME = re.compile(r"^(-?\d{1,4})[-:](\d{1,2})[-:](\d{1,2})[ T](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?$")
_TRUE = {"true", "t", "1", "yes", "y", "on"}
_FALSE = {"false", "f", "0", "no", "n", "off"}


def converter(source: DmsType, target: DmsType) -> Callable[[Any], Any]:
    """A function converting non-NULL canonical values of `source` to `target` (NULL passes through)."""
    if source == target:
        return _identity
    to = _TO[_family(target.name)]

    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            return to(value, target)
        except ConversionError:
            raise
        except (ValueError, ArithmeticError, TypeError, UnicodeDecodeError) as exc:
            raise ConversionError(f"cannot convert {_show(value)} from {source} to {target}: {exc}") from None

    return convert


def _identity(value: Any) -> Any:
    return value


def _family(kind: T) -> str:
    if kind in INTEGER_TYPES:
        return "int"
    if kind in TEXT_TYPES:
        return "text"
    if kind in BINARY_TYPES:
        return "bytes"
    return kind.value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def to_text(value: Any, target: DmsType | None = None) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, date | time):
        text = value.isoformat()
    elif isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value).decode("utf-8")
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = str(value)
    if target is not None and target.length is not None and target.name in (T.STRING, T.WSTRING):
        if len(text) > target.length:
            raise ConversionError(f"value {_show(text)} is longer than {target}")
    return text


def _to_int(value: Any, target: DmsType) -> int:
    if isinstance(value, bool):
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):
        if value != int(value):
            raise ConversionError(f"{_show(value)} has a fraction and cannot become {target}")
        number = int(value)
    else:
        text = to_text(value).strip()
        number = int(Decimal(text)) if "." in text or "e" in text.lower() else int(text)
        if Decimal(text) != number:
            raise ConversionError(f"{_show(value)} has a fraction and cannot become {target}")
    low, high = INTEGER_RANGES[target.name]
    if not low <= number <= high:
        raise ConversionError(f"{number} is outside the range of {target} ({low}..{high})")
    return number


def _to_numeric(value: Any, target: DmsType) -> Decimal:
    if isinstance(value, bool):
        number = Decimal(int(value))
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    else:
        try:
            number = Decimal(to_text(value).strip())
        except InvalidOperation:
            raise ConversionError(f"{_show(value)} is not a number") from None
    if target.precision is not None and number.is_finite():
        scale = target.scale or 0
        quantized = number.quantize(Decimal(1).scaleb(-scale))
        if quantized != number:
            raise ConversionError(f"{number} has more than {scale} decimal places for {target}")
        integer_digits = quantized.adjusted() + 1 if abs(quantized) >= 1 else 0
        if integer_digits > target.precision - scale:
            raise ConversionError(f"{number} does not fit {target}")
        return quantized
    return number


def _to_real(value: Any, target: DmsType) -> float:
    if isinstance(value, str):
        return float(value.strip())
    return float(value)


def _to_bool(value: Any, target: DmsType) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal | float):
        if value in (0, 1):
            return bool(value)
        raise ConversionError(f"{_show(value)} is not 0 or 1")
    text = to_text(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConversionError(f"{_show(value)} is not a boolean (true/false, t/f, 1/0)")


def _to_date(value: Any, target: DmsType) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE.match(to_text(value).strip())
    if not match:
        raise ConversionError(f"{_show(value)} is not a date (YYYY-MM-DD or YYYY:MM:DD)")
    return date(*(int(g) for g in match.groups()))


def _to_datetime(value: Any, target: DmsType) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = to_text(value).strip()
    match = _DATETIME.match(text)
    if not match:
        if _DATE.match(text):
            return _to_datetime(_to_date(text, target), target)
        raise ConversionError(f"{_show(value)} is not a datetime (YYYY-MM-DD HH:MM:SS)")
    *parts, fraction = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    return datetime(*(int(p) for p in parts), micro)


def _to_time(value: Any, target: DmsType) -> time:
    if isinstance(value, datetime):
        return value.time()
    if isinstance(value, time):
        return value
    match = _TIME.match(to_text(value).strip())
    if not match:
        raise ConversionError(f"{_show(value)} is not a time (HH:MM:SS)")
    hours, minutes, seconds, fraction = match.groups()
    return time(int(hours), int(minutes), int(seconds), int((fraction or "0").ljust(6, "0")[:6]))


def _to_bytes(value: Any, target: DmsType) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
    else:
        data = to_text(value).encode("utf-8")
    if target.length is not None and target.name is T.BYTES and len(data) > target.length:
        raise ConversionError(f"{len(data)} bytes do not fit {target}")
    return data


_TO: dict[str, Callable[[Any, DmsType], Any]] = {
    "int": _to_int,
    "text": to_text,
    "bytes": _to_bytes,
    T.NUMERIC.value: _to_numeric,
    T.REAL4.value: _to_real,
    T.REAL8.value: _to_real,
    T.BOOLEAN.value: _to_bool,
    T.DATE.value: _to_date,
    T.DATETIME.value: _to_datetime,
    T.TIME.value: _to_time,
}
