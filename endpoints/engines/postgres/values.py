"""Values between PostgreSQL and the canonical forms of types.py.

Reads let the server produce canonical values where it can (one cast per column:
text forms, UTC for zone-aware types), so the Python side only handles LOB limits.
COPY text lines are parsed only when they could hold an over-long LOB.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

from ..types import TEXT_TYPES, DmsType, T
from .typemap import ColumnType

# Casts that turn a domain's value into its base type, so psycopg loads it as that type.
_BASE_CASTS: dict[T, str] = {
    T.INT2: "smallint", T.INT4: "integer", T.INT8: "bigint", T.NUMERIC: "numeric", T.REAL4: "real",
    T.REAL8: "double precision", T.BOOLEAN: "boolean", T.DATE: "date", T.BLOB: "bytea", T.BYTES: "bytea",
}


def read_expression(column: str, ctype: ColumnType | None, dms: DmsType) -> sql.Composable:
    """The select-list expression giving the canonical value of `column` for DMS type `dms`."""
    ident = sql.Identifier(column)
    base = ctype.base_name if ctype else ""
    if dms.name in TEXT_TYPES:
        # bpchar::text would strip the padding that char(n) values carry
        return ident if base == "character" else sql.SQL("{}::text").format(ident)
    if dms.name is T.DATETIME:
        if base == "timestamp with time zone":
            return sql.SQL("({}::timestamptz AT TIME ZONE 'UTC')").format(ident)
        return sql.SQL("{}::timestamp").format(ident) if ctype and ctype.domain else ident
    if dms.name is T.TIME:
        if base == "time with time zone":
            return sql.SQL("({}::timetz AT TIME ZONE 'UTC')::time").format(ident)
        return sql.SQL("{}::time").format(ident) if ctype and ctype.domain else ident
    if base == "money":
        return sql.SQL("{}::numeric").format(ident)
    if ctype and ctype.domain and dms.name in _BASE_CASTS:
        return sql.SQL("{}::" + _BASE_CASTS[dms.name]).format(ident)
    return ident


# ---- LOB limits --------------------------------------------------------------------------------

def cut_utf8(raw: bytes, limit: int) -> bytes:
    """The longest prefix of UTF-8 `raw` of at most `limit` bytes that ends on a character boundary."""
    if len(raw) <= limit:
        return raw
    end = limit
    while end > 0 and (raw[end] & 0xC0) == 0x80:  # raw[end] continues the character that starts before it
        end -= 1
    return raw[:end]


def truncate_value(value: object, limit: int) -> tuple[object, bool]:
    """(value cut to `limit` bytes, whether it was cut). Text is cut at a character boundary."""
    if isinstance(value, str):
        if len(value) * 4 <= limit:  # cannot exceed the limit in UTF-8: skip encoding
            return value, False
        raw = value.encode("utf-8")
        if len(raw) <= limit:
            return value, False
        return cut_utf8(raw, limit).decode("utf-8"), True
    if isinstance(value, bytes | bytearray | memoryview):
        if len(value) <= limit:
            return value, False
        return bytes(value[:limit]), True
    return value, False


def value_size(value: object) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    return 0


# ---- COPY text format -----------------------------------------------------------------------------

_UNESCAPE = {b"\\": b"\\", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"v": b"\v"}
_ESCAPE = [(b"\\", b"\\\\"), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"\t", b"\\t"), (b"\b", b"\\b"),
           (b"\f", b"\\f"), (b"\v", b"\\v")]
_ESCAPED = re.compile(rb"\\(.)", re.DOTALL)
NULL_FIELD = b"\\N"


def copy_unescape(field: bytes) -> bytes:
    # COPY TO only writes these single-letter escapes (octal/hex forms appear only in input)
    return _ESCAPED.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(1)), field)


def copy_escape(raw: bytes) -> bytes:
    for plain, escaped in _ESCAPE:
        raw = raw.replace(plain, escaped)
    return raw


@dataclass(frozen=True)
class CopyLobField:
    index: int  # position of the field in the line
    binary: bool  # bytea in hex form, else text


def truncate_copy_line(line: bytes, fields: Sequence[CopyLobField], limit: int) -> tuple[bytes, int, int]:
    """Cut over-long LOB fields of one COPY text line (with its newline).

    Returns (line, number of values cut, size in bytes of the longest value cut).
    """
    parts = line[:-1].split(b"\t")  # tabs inside values are escaped, so this split is exact
    cut = longest = 0
    for lob in fields:
        field = parts[lob.index]
        if field == NULL_FIELD or len(field) <= limit:
            continue
        if lob.binary:  # \\x followed by two hex digits per byte
            size = (len(field) - 3) // 2
            if size > limit:
                parts[lob.index] = field[:3 + 2 * limit]
                cut, longest = cut + 1, max(longest, size)
            continue
        raw = copy_unescape(field)
        if len(raw) > limit:
            parts[lob.index] = copy_escape(cut_utf8(raw, limit))
            cut, longest = cut + 1, max(longest, len(raw))
    if not cut:
        return line, 0, 0
    return b"\t".join(parts) + b"\n", cut, longest
