"""Values read from MySQL as canonical Python values (see types.py), and values written back.

Reading: PyMySQL decoders replaced per connection, so the per-value work happens once,
where PyMySQL already touches the value. Zero and invalid dates ('0000-00-00',
'2020-00-10', '2020-02-30', year 0) become None, as DMS does, and are counted in the
connection's ReadNotes. TIME stays text ('-838:59:59' is a valid MySQL TIME).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pymysql.constants import FIELD_TYPE
from pymysql.converters import conversions as _PYMYSQL_CONVERSIONS

from ..types import DmsType, T


@dataclass
class ReadNotes:
    """Value changes made while reading, counted so nothing changes silently."""

    zero_dates: int = 0
    lob_truncated: int = 0

    def take(self) -> dict[str, int]:
        """The counts so far (only the non-zero ones), then reset."""
        notes = {k: v for k, v in (("zero_dates", self.zero_dates), ("lob_truncated", self.lob_truncated)) if v}
        self.zero_dates = self.lob_truncated = 0
        return notes


def decoders(notes: ReadNotes) -> dict[Any, Any]:
    """A PyMySQL `conv` mapping producing canonical values and counting zero dates into `notes`."""

    def to_date(text: str) -> date | None:
        try:
            return date.fromisoformat(text)
        except ValueError:
            notes.zero_dates += 1
            return None

    def to_datetime(text: str) -> datetime | None:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            notes.zero_dates += 1
            return None

    conv = dict(_PYMYSQL_CONVERSIONS)
    conv.update({
        FIELD_TYPE.DATE: to_date,
        FIELD_TYPE.NEWDATE: to_date,
        FIELD_TYPE.DATETIME: to_datetime,
        FIELD_TYPE.TIMESTAMP: to_datetime,
        FIELD_TYPE.TIME: str,
        FIELD_TYPE.YEAR: int,
        FIELD_TYPE.DECIMAL: Decimal,
        FIELD_TYPE.NEWDECIMAL: Decimal,
        FIELD_TYPE.JSON: str,
    })
    return conv


RowFixer = Callable[[list[Any]], None]


def row_fixers(types: Sequence[DmsType], *, lob_limit: int | None, notes: ReadNotes) -> list[RowFixer]:
    """Per-row work PyMySQL's decoders cannot do: BIT(1) -> bool, LOB values cut to `lob_limit` bytes."""
    fixers: list[RowFixer] = []
    for index, dms_type in enumerate(types):
        if dms_type.name is T.BOOLEAN:
            fixers.append(_boolean(index))
        elif lob_limit is not None and dms_type.is_lob:
            fixers.append(_lob_cut(index, lob_limit, notes))
    return fixers


def _boolean(index: int) -> RowFixer:
    def fix(row: list[Any]) -> None:
        value = row[index]
        if value is not None:
            row[index] = value != b"\x00" if isinstance(value, bytes) else bool(value)
    return fix


def _lob_cut(index: int, limit: int, notes: ReadNotes) -> RowFixer:
    # A str of at most limit/4 characters cannot pass `limit` bytes in UTF-8: most values skip encoding.
    quick = limit // 4

    def fix(row: list[Any]) -> None:
        value = row[index]
        if value is None or len(value) <= quick:
            return
        if isinstance(value, bytes):
            if len(value) > limit:
                row[index] = value[:limit]
                notes.lob_truncated += 1
            return
        encoded = value.encode("utf-8")
        if len(encoded) > limit:
            row[index] = encoded[:limit].decode("utf-8", errors="ignore")  # drops a cut character's head
            notes.lob_truncated += 1
    return fix


# ---- writing -----------------------------------------------------------------------------------

def bit_bytes(value: Any, nbytes: int) -> bytes:
    """A BIT(n) value as MySQL returns it: big-endian, ceil(n/8) bytes."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).rjust(nbytes, b"\x00")
    return int(value).to_bytes(nbytes, "big")
