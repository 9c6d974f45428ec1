"""The intermediate type system: AWS DMS's data types, with length, precision and scale.

Every source column is mapped to a `DmsType`; every target column type is derived
from one. Values travel between engines in one canonical Python form per type:

    BOOLEAN                      bool
    INT1..INT8, UINT1..UINT8     int (UINT8 up to 2**64-1)
    NUMERIC(p,s)                 decimal.Decimal (never float)
    REAL4, REAL8                 float
    STRING, WSTRING, CLOB, NCLOB str (may hold any Unicode, including 4-byte UTF-8)
    BYTES, BLOB                  bytes (NUL bytes included)
    DATE                         datetime.date
    TIME                         datetime.time (microseconds)
    DATETIME                     datetime.datetime, naive, in UTC for zone-aware sources

NULL is None everywhere; an empty string is '' and stays distinct from NULL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class T(StrEnum):
    BOOLEAN = "BOOLEAN"
    BYTES = "BYTES"
    DATE = "DATE"
    TIME = "TIME"
    DATETIME = "DATETIME"
    INT1 = "INT1"
    INT2 = "INT2"
    INT4 = "INT4"
    INT8 = "INT8"
    NUMERIC = "NUMERIC"
    REAL4 = "REAL4"
    REAL8 = "REAL8"
    STRING = "STRING"
    WSTRING = "WSTRING"
    UINT1 = "UINT1"
    UINT2 = "UINT2"
    UINT4 = "UINT4"
    UINT8 = "UINT8"
    BLOB = "BLOB"
    CLOB = "CLOB"
    NCLOB = "NCLOB"


LOB_TYPES = frozenset({T.BLOB, T.CLOB, T.NCLOB})
INTEGER_TYPES = frozenset({T.INT1, T.INT2, T.INT4, T.INT8, T.UINT1, T.UINT2, T.UINT4, T.UINT8})
TEXT_TYPES = frozenset({T.STRING, T.WSTRING, T.CLOB, T.NCLOB})
BINARY_TYPES = frozenset({T.BYTES, T.BLOB})

# Inclusive value ranges of the integer types, for checks and for choosing target types.
INTEGER_RANGES: dict[T, tuple[int, int]] = {
    T.INT1: (-(2**7), 2**7 - 1),
    T.INT2: (-(2**15), 2**15 - 1),
    T.INT4: (-(2**31), 2**31 - 1),
    T.INT8: (-(2**63), 2**63 - 1),
    T.UINT1: (0, 2**8 - 1),
    T.UINT2: (0, 2**16 - 1),
    T.UINT4: (0, 2**32 - 1),
    T.UINT8: (0, 2**64 - 1),
}


@dataclass(frozen=True, slots=True)
class DmsType:
    """One intermediate type. `length` for STRING/WSTRING/BYTES (characters or bytes),
    `precision`/`scale` for NUMERIC, `scale` (fractional digits) for DATETIME and TIME."""

    name: T
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    @property
    def is_lob(self) -> bool:
        return self.name in LOB_TYPES

    def __str__(self) -> str:
        if self.name is T.NUMERIC and self.precision is not None:
            return f"NUMERIC({self.precision},{self.scale or 0})"
        if self.name in (T.STRING, T.WSTRING, T.BYTES) and self.length is not None:
            return f"{self.name}({self.length})"
        if self.name in (T.DATETIME, T.TIME) and self.scale is not None:
            return f"{self.name}({self.scale})"
        return str(self.name)

    def to_json(self) -> dict:
        out: dict = {"type": self.name.value}
        for key in ("length", "precision", "scale"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


_TEXT_FORM = re.compile(r"^\s*([A-Za-z0-9]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")


def parse_dms_type(text: str) -> DmsType:
    """Parse 'NUMERIC(12,2)', 'wstring(20)', 'int8' (the forms DMS documents and prints)."""
    match = _TEXT_FORM.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a DMS data type")
    name, first, second = match.groups()
    try:
        kind = T(name.upper())
    except ValueError:
        allowed = ", ".join(t.value.lower() for t in T)
        raise ValueError(f"{name!r} is not a DMS data type; use one of {allowed}") from None
    return make_type(kind, first and int(first), second and int(second))


def make_type(kind: T, first: int | None = None, second: int | None = None) -> DmsType:
    if kind is T.NUMERIC:
        return DmsType(kind, precision=first, scale=second if second is not None else (0 if first else None))
    if kind in (T.STRING, T.WSTRING, T.BYTES):
        return DmsType(kind, length=first)
    if kind in (T.DATETIME, T.TIME):
        return DmsType(kind, scale=first)
    return DmsType(kind)
