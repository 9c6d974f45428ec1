"""SELECT expressions that make the server write bulk-load text lines itself.

PyMySQL parses every column of every row in pure Python; one column per row holding
the finished line, taken off the wire as bytes (wire.py), leaves Python only the join.
Two dialects of the same tab-separated text:
- PostgreSQL COPY text (PostgreSQL docs, COPY "Text Format"): NULL written as \\N;
  backslash, newline, carriage return and tab inside a value written as \\\\, \\n, \\r,
  \\t; bytea in hex form (\\x...), its backslash doubled; booleans t/f.
- MySQL LOAD DATA text (FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'): the same escapes
  and \\N; binary values as bare hex and booleans as 1/0, decoded by the loader's SET
  clause (loadfile.py writes Python rows the same way).

Changes DMS makes to values are counted, not silent: a zero or invalid date becomes
\\N and bumps @dms_zero; a LOB cut to the limited-mode size bumps @dms_lob. The
reader reads both user variables once the result is complete.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..catalog import SourceColumn
from ..types import DmsType, T
from .sqltext import quote

ZERO_VAR = "@dms_zero"
LOB_VAR = "@dms_lob"
RESET_COUNTERS = f"SET {ZERO_VAR} = 0, {LOB_VAR} = 0"
READ_COUNTERS = f"SELECT {ZERO_VAR}, {LOB_VAR}"

# SQL string literals (the session never has NO_BACKSLASH_ESCAPES, see connection.py).
_NULL = r"'\\N'"  # the two characters \N
PG = "pg"
MYSQL = "mysql"
_HEX_PREFIX = {PG: r"'\\\\x'", MYSQL: "''"}  # \\x: COPY turns it into \x, which bytea reads as hex
_BOOLEANS = {PG: ("'t'", "'f'"), MYSQL: ("'1'", "'0'")}
UTF8_CHARSETS = frozenset({"utf8mb4", "utf8mb3", "utf8", "ascii"})  # their bytes are already UTF-8
_PLAIN_TEXT_NATIVE = ("time", "uuid", "inet4", "inet6", "year")  # never hold \, tab, CR or LF


def line_expression(columns: list[SourceColumn], lob_limit: int | None,
                    charsets: Mapping[str, str | None] | None = None, dialect: str = PG) -> str:
    """One expression giving the text line (without its newline) for `columns`, in order.

    `charsets` maps text columns to their character set: UTF-8 ones are worked on as bytes."""
    charsets = charsets or {}
    fields = [field_expression(c, lob_limit, charsets.get(c.name), dialect) for c in columns]
    return "CONCAT_WS('\\t', " + ", ".join(fields) + ")"


def field_expression(column: SourceColumn, lob_limit: int | None, charset: str | None = None,
                     dialect: str = PG) -> str:
    """The text of one column; never NULL (CONCAT_WS would drop the field)."""
    dms_type = column.dms_type
    assert dms_type is not None, "unsupported columns are never read"
    name = quote(column.name)
    limit = lob_limit if dms_type.is_lob else None
    if dms_type.name in (T.DATE, T.DATETIME):
        return _date(name)
    if dms_type.name is T.BOOLEAN:
        true, false = _BOOLEANS[dialect]
        return f"CASE WHEN {name} IS NULL THEN {_NULL} WHEN {name} <> 0 THEN {true} ELSE {false} END"
    if dms_type.name in (T.BYTES, T.BLOB):
        expression = _binary(name, column, dms_type, limit, _HEX_PREFIX[dialect])
    elif dms_type.name in (T.STRING, T.WSTRING, T.CLOB, T.NCLOB):
        expression = _text(name, column, limit, charset)
    else:  # numbers: the server's own text form is what the loaders read
        expression = number_expression(name, column)
    return f"IFNULL({expression}, {_NULL})" if column.nullable else expression


def _date(name: str) -> str:
    # Adding zero days gives NULL for zero, zero-in-date, year-0 and invalid dates: exactly the
    # values PostgreSQL (and Python) refuse. Those become \N and are counted; a NULL stays \N.
    return (f"COALESCE({name} + INTERVAL 0 DAY, IF({name} IS NULL, {_NULL}, "
            f"CONCAT({_NULL}, LEFT({ZERO_VAR} := {ZERO_VAR} + 1, 0))))")


def number_expression(name: str, column: SourceColumn) -> str:
    """MySQL prints FLOAT with 6 significant digits (16777216 as 16777200) and FLOAT(M,D)/DOUBLE(M,D)
    with D decimals; as a DOUBLE the exact stored value comes out, shortest form."""
    if column.native_type.lower().startswith(("float", "double", "real")):
        return f"({name} + 0e0)"
    return name


def _binary(name: str, column: SourceColumn, dms_type: DmsType, limit: int | None, prefix: str) -> str:
    if column.native_type.lower().startswith("bit"):
        # HEX of a BIT value drops leading zero bytes; pad back to ceil(n/8) bytes.
        return f"CONCAT({prefix}, LPAD(HEX({name}), {2 * (dms_type.length or 1)}, '0'))"
    if limit is not None:
        cut = f"CONCAT(LEFT({name}, {int(limit)}), LEFT({LOB_VAR} := {LOB_VAR} + 1, 0))"
        value = f"IF(LENGTH({name}) > {int(limit)}, {cut}, {name})"
        return f"CONCAT({prefix}, HEX({value}))"
    return f"CONCAT({prefix}, HEX({name}))"


def _text(name: str, column: SourceColumn, limit: int | None, charset: str | None) -> str:
    if column.native_type.lower().split("(")[0] in _PLAIN_TEXT_NATIVE:
        return name
    # REPLACE on bytes is a plain byte search; on utf8mb4 text it walks characters (measured:
    # 2.6 s against 1.9 s of server CPU for three text columns of 1M rows). UTF-8 columns are
    # already the bytes COPY wants; others are converted first.
    if charset is None or charset.lower() in UTF8_CHARSETS:
        raw = f"CAST({name} AS BINARY)"
    else:
        raw = f"CAST(CONVERT({name} USING utf8mb4) AS BINARY)"
    return escape(_text_cut(raw, int(limit)) if limit is not None else raw)


def escape(value: str) -> str:
    r"""Backslash first, then tab, newline and carriage return as \t, \n, \r."""
    return (rf"REPLACE(REPLACE(REPLACE(REPLACE({value}, '\\', '\\\\'), '\t', '\\t'), "
            rf"'\n', '\\n'), '\r', '\\r')")


def _text_cut(raw: str, limit: int) -> str:
    """UTF-8 bytes `raw` cut to at most `limit` bytes at a character boundary, counted in @dms_lob.

    The prefix of L bytes ends on a character boundary when byte L+1 is not a UTF-8
    continuation byte (10xxxxxx); a character has at most 4 bytes, so L is limit..limit-3."""

    def starts_char(position: int) -> str:
        return f"(ASCII(SUBSTRING({raw}, {position}, 1)) & 192) <> 128"

    length = (f"CASE WHEN {starts_char(limit + 1)} THEN {limit} WHEN {starts_char(limit)} THEN {limit - 1} "
              f"WHEN {starts_char(limit - 1)} THEN {limit - 2} ELSE {limit - 3} END")
    cut = f"CONCAT(LEFT({raw}, {length}), LEFT({LOB_VAR} := {LOB_VAR} + 1, 0))"
    return f"IF(LENGTH({raw}) > {limit}, {cut}, {raw})"
