"""Rows as LOAD DATA text: tab-separated, backslash-escaped, NULL as \\N.

LOAD DATA ... FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' reads
\\\\, \\t, \\n, \\r as the characters and \\N as NULL. Binary values travel as hex and are
decoded by a SET clause (UNHEX, or CONV for BIT columns, which LOAD DATA cannot fill from
text directly), so the file is always valid UTF-8.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from ..plan import ColumnPlan
from ..types import T
from .sqltext import quote

NULL = "\\N"
Formatter = Callable[[Any], str]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        return _any(value)
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _hex(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return bytes(value).hex()


def _bool(value: Any) -> str:
    return "1" if value else "0"


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def _datetime(value: datetime) -> str:
    return value.isoformat(" ")


def _float(value: float) -> str:
    return repr(value)


_BY_TYPE: dict[type, Formatter] = {
    str: _text, int: str, bool: _bool, float: _float, Decimal: _decimal,
    datetime: _datetime, date: date.isoformat, time: time.isoformat,
    bytes: _hex, bytearray: _hex, memoryview: _hex,
}


def _any(value: Any) -> str:
    try:
        return _BY_TYPE[type(value)](value)
    except KeyError:
        return _text(str(value))


def _nullable(formatter: Formatter) -> Formatter:
    def format_value(value: Any) -> str:
        return NULL if value is None else formatter(value)
    return format_value


@dataclass(frozen=True)
class LoadLayout:
    """How one table's rows are written and read back: per-column formatters, the column
    list of the LOAD DATA statement and its SET clause."""

    formatters: tuple[Formatter, ...]
    targets: str  # "(`a`, @v1, `c`)"
    assignments: str  # " SET `b` = UNHEX(@v1)" or ""

    def lines(self, rows: Sequence[Sequence[Any]]) -> bytes:
        formatters = self.formatters
        text = "\n".join(["\t".join([f(v) for f, v in zip(formatters, row, strict=True)]) for row in rows])
        return (text + "\n").encode("utf-8") if rows else b""


def layout(columns: Sequence[ColumnPlan]) -> LoadLayout:
    formatters: list[Formatter] = []
    targets: list[str] = []
    sets: list[str] = []
    for index, column in enumerate(columns):
        name = quote(column.name)
        native = column.target_type.strip().lower()
        if native.startswith("bit"):
            formatters.append(_nullable(_hex if column.dms_type.name is not T.BOOLEAN else _bit_flag))
            targets.append(f"@v{index}")
            sets.append(f"{name} = CAST(CONV(@v{index}, 16, 10) AS UNSIGNED)")
        elif column.dms_type.name in (T.BYTES, T.BLOB):
            formatters.append(_nullable(_hex))
            targets.append(f"@v{index}")
            sets.append(f"{name} = UNHEX(@v{index})")
        else:
            formatters.append(_nullable(_formatter(column.dms_type.name)))
            targets.append(name)
    return LoadLayout(tuple(formatters), "(" + ", ".join(targets) + ")",
                      (" SET " + ", ".join(sets)) if sets else "")


def _bit_flag(value: Any) -> str:
    return "1" if value else "0"


def _formatter(kind: T) -> Formatter:
    if kind in (T.STRING, T.WSTRING, T.CLOB, T.NCLOB):
        return _text
    if kind is T.BOOLEAN:
        return _bool
    return _any
