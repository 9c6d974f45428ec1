"""MySQL/MariaDB types <-> DMS types, as data tables (AWS DMS user guide, MySQL source and target pages).

`source_type()` maps a column as information_schema describes it; `target_type()` names the
DDL type for a DMS type. The tables below also render the documentation
(`DOC_SOURCE_ROWS`, `DOC_TARGET_ROWS`), so the docs cannot drift from the code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..catalog import SourceColumn
from ..types import DmsType, T, make_type

HOMOGENEOUS_ENGINES = frozenset({"mysql", "mariadb"})


@dataclass(frozen=True)
class NativeType:
    """A column's type facts from information_schema.COLUMNS."""

    data_type: str  # DATA_TYPE: "int", "varchar", "json"
    column_type: str  # COLUMN_TYPE: "int(10) unsigned", "enum('a','b')"
    length: int | None = None  # CHARACTER_MAXIMUM_LENGTH (ENUM: longest value, SET: all values with commas)
    precision: int | None = None  # NUMERIC_PRECISION (BIT: number of bits)
    scale: int | None = None  # NUMERIC_SCALE
    fraction: int | None = None  # DATETIME_PRECISION

    @property
    def unsigned(self) -> bool:
        return " unsigned" in self.column_type.lower()

    @property
    def key(self) -> str:
        """The row of SOURCE_TYPES this column uses."""
        name = self.data_type.lower()
        if name in _INTEGERS and self.unsigned:
            return f"{name} unsigned"
        if name == "bit" and self.precision == 1:
            return "bit(1)"
        return name


_INTEGERS = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"}

# How a DMS type's size comes from the native facts.
Sizer = Callable[[NativeType], DmsType]


def _plain(kind: T) -> Sizer:
    return lambda native: DmsType(kind)


def _fixed(kind: T, length: int) -> Sizer:
    return lambda native: make_type(kind, length)


def _char_length(kind: T) -> Sizer:
    return lambda native: make_type(kind, native.length)


def _numeric(native: NativeType) -> DmsType:
    return make_type(T.NUMERIC, native.precision, native.scale or 0)


def _fraction(native: NativeType) -> DmsType:
    return make_type(T.DATETIME, native.fraction or 0)


def _bit_bytes(native: NativeType) -> DmsType:
    return make_type(T.BYTES, math.ceil((native.precision or 1) / 8))


def _time_text(native: NativeType) -> DmsType:
    # '-838:59:59' is 10 characters; a fraction adds its point and digits.
    return make_type(T.STRING, 10 + ((native.fraction or 0) + 1 if native.fraction else 0))


_GEOMETRY_REASON = ("spatial values are MySQL's internal WKB with an SRID prefix, which no other engine "
                    "reads; exclude the column or convert it with ST_AsText in a view")

# native type -> (sizer or None when unsupported, DMS type as documented, note)
SOURCE_TYPES: dict[str, tuple[Sizer | None, str, str]] = {
    "tinyint": (_plain(T.INT1), "INT1", "TINYINT(1) stays INT1, as DMS does (not BOOLEAN)"),
    "tinyint unsigned": (_plain(T.UINT1), "UINT1", ""),
    "smallint": (_plain(T.INT2), "INT2", ""),
    "smallint unsigned": (_plain(T.UINT2), "UINT2", ""),
    "mediumint": (_plain(T.INT4), "INT4", ""),
    "mediumint unsigned": (_plain(T.UINT4), "UINT4", ""),
    "int": (_plain(T.INT4), "INT4", ""),
    "int unsigned": (_plain(T.UINT4), "UINT4", ""),
    "integer": (_plain(T.INT4), "INT4", ""),
    "integer unsigned": (_plain(T.UINT4), "UINT4", ""),
    "bigint": (_plain(T.INT8), "INT8", ""),
    "bigint unsigned": (_plain(T.UINT8), "UINT8", "up to 18446744073709551615"),
    "decimal": (_numeric, "NUMERIC(p,s)", "precision up to 65, exact"),
    "float": (_plain(T.REAL8), "REAL8", "DMS reads FLOAT as REAL(DOUBLE)"),
    "double": (_plain(T.REAL8), "REAL8", ""),
    "bit(1)": (_plain(T.BOOLEAN), "BOOLEAN", ""),
    "bit": (_bit_bytes, "BYTES(ceil(n/8))", "BIT(n>1): big-endian bytes"),
    "date": (_plain(T.DATE), "DATE", "zero dates ('0000-00-00', '2020-00-10') are read as NULL and counted"),
    "datetime": (_fraction, "DATETIME(n)", "not converted to UTC; zero dates read as NULL and counted"),
    "timestamp": (_fraction, "DATETIME(n)", "read in UTC; zero dates read as NULL and counted"),
    "time": (_time_text, "STRING", "text such as '-838:59:59' (MySQL TIME is a duration)"),
    "year": (_plain(T.INT2), "INT2", ""),
    "char": (_char_length(T.WSTRING), "WSTRING(n)", ""),
    "varchar": (_char_length(T.WSTRING), "WSTRING(n)", ""),
    "tinytext": (_fixed(T.WSTRING, 255), "WSTRING(255)", ""),
    "text": (_fixed(T.WSTRING, 65535), "WSTRING(65535)", ""),
    "mediumtext": (_plain(T.NCLOB), "NCLOB", ""),
    "longtext": (_plain(T.NCLOB), "NCLOB", ""),
    "binary": (_char_length(T.BYTES), "BYTES(n)", ""),
    "varbinary": (_char_length(T.BYTES), "BYTES(n)", ""),
    "tinyblob": (_fixed(T.BYTES, 255), "BYTES(255)", ""),
    "blob": (_fixed(T.BYTES, 65535), "BYTES(65535)", ""),
    "mediumblob": (_plain(T.BLOB), "BLOB", ""),
    "longblob": (_plain(T.BLOB), "BLOB", ""),
    "json": (_plain(T.CLOB), "CLOB", "MariaDB JSON (LONGTEXT with json_valid) too"),
    "enum": (_char_length(T.WSTRING), "WSTRING(longest value)", ""),
    "set": (_char_length(T.WSTRING), "WSTRING(all values with commas)", ""),
    "uuid": (_fixed(T.WSTRING, 36), "WSTRING(36)", "MariaDB 10.7+; not in DMS's table"),
    "inet4": (_fixed(T.WSTRING, 15), "WSTRING(15)", "MariaDB 10.10+; not in DMS's table"),
    "inet6": (_fixed(T.WSTRING, 39), "WSTRING(39)", "MariaDB 10.5+; not in DMS's table"),
    **{name: (None, "not supported", "DMS says BLOB; " + _GEOMETRY_REASON)
       for name in ("geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
                    "multipolygon", "geometrycollection", "geomcollection")},
}


def source_type(native: NativeType) -> tuple[DmsType | None, str | None]:
    """(DMS type, None) or (None, why the column cannot be carried)."""
    row = SOURCE_TYPES.get(native.key)
    if row is None:
        return None, f"MySQL type {native.column_type} has no DMS mapping"
    sizer, _doc, note = row
    if sizer is None:
        return None, f"{native.column_type}: {_GEOMETRY_REASON}"
    return sizer(native), None


# ---- DMS -> MySQL ------------------------------------------------------------------------------

# utf8mb4 spends up to 4 bytes a character and a VARCHAR holds at most 65,535 bytes.
VARCHAR_MAX_CHARS = 16383
VARBINARY_MAX = 65535
MYSQL_MAX_PRECISION = 65
MYSQL_MAX_SCALE = 30

Namer = Callable[[DmsType], str]


def _varchar(t: DmsType) -> str:
    length = t.length or 0
    return f"VARCHAR({length})" if 1 <= length <= VARCHAR_MAX_CHARS else "LONGTEXT"


def _varbinary(t: DmsType) -> str:
    length = t.length or 0
    return f"VARBINARY({length})" if 1 <= length <= VARBINARY_MAX else "LONGBLOB"


def _decimal(t: DmsType) -> str:
    if t.precision is None:
        return f"DECIMAL({MYSQL_MAX_PRECISION},{MYSQL_MAX_SCALE})"
    scale = t.scale or 0
    if t.precision > MYSQL_MAX_PRECISION or scale > MYSQL_MAX_SCALE:
        return f"VARCHAR({t.precision + 2})"
    return f"DECIMAL({t.precision},{scale})"


def _datetime(t: DmsType) -> str:
    scale = 6 if t.scale is None else t.scale
    return f"DATETIME({scale})" if scale <= 6 else "VARCHAR(37)"


def _time(t: DmsType) -> str:
    return f"TIME({min(t.scale, 6)})" if t.scale else "TIME"


def _named(text: str) -> Namer:
    return lambda t: text


# DMS type -> (namer, MySQL type as documented, note)
TARGET_TYPES: dict[T, tuple[Namer, str, str]] = {
    T.BOOLEAN: (_named("BOOLEAN"), "BOOLEAN", "TINYINT(1)"),
    T.BYTES: (_varbinary, "VARBINARY(len) if 1-65,535, else LONGBLOB",
              "a table whose row would pass 65,535 bytes gets BLOB instead"),
    T.DATE: (_named("DATE"), "DATE", ""),
    T.TIME: (_time, "TIME", ""),
    T.DATETIME: (_datetime, "DATETIME(scale) if 0-6, VARCHAR(37) if 7-9", ""),
    T.INT1: (_named("TINYINT"), "TINYINT", ""),
    T.INT2: (_named("SMALLINT"), "SMALLINT", ""),
    T.INT4: (_named("INT"), "INTEGER", ""),
    T.INT8: (_named("BIGINT"), "BIGINT", ""),
    T.NUMERIC: (_decimal, "DECIMAL(p,s)", "no precision: DECIMAL(65,30); p > 65 or s > 30: VARCHAR(p+2)"),
    T.REAL4: (_named("FLOAT"), "FLOAT", ""),
    T.REAL8: (_named("DOUBLE"), "DOUBLE PRECISION", ""),
    T.STRING: (_varchar, "VARCHAR(len) if 1-16,383, else LONGTEXT",
               "DMS says 21,845 (3-byte utf8); utf8mb4 fits 16,383 characters"),
    T.WSTRING: (_varchar, "VARCHAR(len) if 1-16,383, else LONGTEXT",
                "DMS says 32,767 (ucs2); utf8mb4 fits 16,383 characters"),
    T.UINT1: (_named("TINYINT UNSIGNED"), "UNSIGNED TINYINT", ""),
    T.UINT2: (_named("SMALLINT UNSIGNED"), "UNSIGNED SMALLINT", ""),
    T.UINT4: (_named("INT UNSIGNED"), "UNSIGNED INTEGER", ""),
    T.UINT8: (_named("BIGINT UNSIGNED"), "UNSIGNED BIGINT", ""),
    T.BLOB: (_named("LONGBLOB"), "LONGBLOB", "DMS uses BLOB up to 65,535 bytes"),
    T.CLOB: (_named("LONGTEXT"), "LONGTEXT", "utf8mb4"),
    T.NCLOB: (_named("LONGTEXT"), "LONGTEXT", "utf8mb4"),
}


def target_type(dms_type: DmsType, source: SourceColumn | None = None, source_engine: str | None = None) -> str:
    """The DDL type for a target column; MySQL-to-MySQL keeps the source's own type."""
    if (source is not None and source_engine in HOMOGENEOUS_ENGINES and source.dms_type == dms_type
            and source.native_type):
        return source.native_type
    namer, _doc, _note = TARGET_TYPES[dms_type.name]
    return namer(dms_type)


DOC_SOURCE_ROWS: list[tuple[str, str, str]] = [
    (name.upper(), doc, note) for name, (_sizer, doc, note) in SOURCE_TYPES.items()
]
DOC_TARGET_ROWS: list[tuple[str, str, str]] = [
    (kind.value, doc, note) for kind, (_namer, doc, note) in TARGET_TYPES.items()
]
