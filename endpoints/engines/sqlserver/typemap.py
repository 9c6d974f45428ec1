"""SQL Server <-> DMS type mapping, as data tables (DMS User Guide, SQL Server source and target pages).

Source side: `dms_type(base, max_length, precision, scale)` maps a column as sys.columns
describes it (base = the system type behind any alias type) to its DMS type, or to None
with the reason. Target side: `target_type()` names the T-SQL type for a DMS type; a
SQL Server source keeps its native type, except the few that cannot be written back.

Choices where this engine differs from DMS, each said in its row's note:
- datetimeoffset is WSTRING(34) as in DMS, read as SQL Server prints it ('2024-05-01 10:00:00.1234567 +02:00'),
  so the offset survives; a UTC instant is one transformation away.
- geography / geometry travel as CLOB holding WKT (DMS: CLOB); the SRID is not carried (as DMS).
- STRING / CLOB become nvarchar, not DMS's varchar: varchar keeps only the characters of the
  database's code page, and the canonical STRING value may hold any Unicode.
- UINT2 / UINT4 / UINT8 get a type wide enough for every value (DMS's smallint/int/bigint overflow).
- TIME becomes time(s), not DMS's datetime2: the value has no date to invent.
"""

from __future__ import annotations

from collections.abc import Callable

from ..catalog import SourceColumn
from ..types import DmsType, T, make_type

HOMOGENEOUS_ENGINES = frozenset({"sqlserver"})
MAX_NUMERIC_PRECISION = 38
MAX_VARCHAR = 8000  # bytes; longer is (max)
MAX_NVARCHAR = 4000  # characters; longer is (max)
MAX_FRACTION = 7  # datetime2 / time fractional digits
DEFAULT_FRACTION = 6  # the canonical value (datetime, time) carries microseconds

Sizer = Callable[[int, int, int], "DmsType | str"]  # (max_length, precision, scale) -> type or reason


def _fixed(kind: T, first: int | None = None, second: int | None = None) -> Sizer:
    return lambda _length, _precision, _scale: make_type(kind, first, second)


def _sized(kind: T, lob: T, *, per_char: int = 1) -> Sizer:
    """char/varchar/binary (bytes), nchar/nvarchar (2 bytes a character); max_length -1 is (max)."""
    return lambda length, _p, _s: DmsType(lob) if length == -1 else make_type(kind, length // per_char)


def _decimal(_length: int, precision: int, scale: int) -> DmsType:
    return make_type(T.NUMERIC, precision, scale)


def _fraction(kind: T) -> Sizer:
    return lambda _length, _precision, scale: make_type(kind, scale)


def _unsupported(reason: str) -> Sizer:
    return lambda _length, _precision, _scale: reason


# SQL Server system type -> (sizer, DMS type as documented, note)
SOURCE_TYPES: dict[str, tuple[Sizer, str, str]] = {
    "bit": (_fixed(T.BOOLEAN), "BOOLEAN", ""),
    "tinyint": (_fixed(T.UINT1), "UINT1", "SQL Server's tinyint is unsigned (0-255)"),
    "smallint": (_fixed(T.INT2), "INT2", ""),
    "int": (_fixed(T.INT4), "INT4", ""),
    "bigint": (_fixed(T.INT8), "INT8", ""),
    "decimal": (_decimal, "NUMERIC(p,s)", ""),
    "numeric": (_decimal, "NUMERIC(p,s)", ""),
    "money": (_fixed(T.NUMERIC, 19, 4), "NUMERIC(19,4)", "read as decimal, exact"),
    "smallmoney": (_fixed(T.NUMERIC, 10, 4), "NUMERIC(10,4)", "read as decimal, exact"),
    "real": (_fixed(T.REAL4), "REAL4", ""),
    "float": (_fixed(T.REAL8), "REAL8", "float(1-24) is stored as real and maps to REAL4"),
    "date": (_fixed(T.DATE), "DATE", ""),
    "time": (_fraction(T.TIME), "TIME(s)", "7 fractional digits are carried as 6 (microseconds)"),
    "datetime": (_fixed(T.DATETIME, 3), "DATETIME(3)", ""),
    "datetime2": (_fraction(T.DATETIME), "DATETIME(s)", "7 fractional digits are carried as 6 (microseconds)"),
    "smalldatetime": (_fixed(T.DATETIME, 0), "DATETIME(0)", ""),
    "datetimeoffset": (_fixed(T.WSTRING, 34), "WSTRING(34)",
                       "as DMS; the text SQL Server prints, offset included ('2024-05-01 10:00:00.1234567 +02:00')"),
    "char": (_sized(T.STRING, T.CLOB), "STRING(n)", "trailing spaces trimmed unless trimSpaceInChar=N (DMS)"),
    "varchar": (_sized(T.STRING, T.CLOB), "STRING(n); varchar(max): CLOB", "CLOB is subject to the LOB mode"),
    "text": (_fixed(T.CLOB), "CLOB", "subject to the LOB mode"),
    "nchar": (_sized(T.WSTRING, T.NCLOB, per_char=2), "WSTRING(n)",
              "trailing spaces trimmed unless trimSpaceInChar=N (DMS)"),
    "nvarchar": (_sized(T.WSTRING, T.NCLOB, per_char=2), "WSTRING(n); nvarchar(max): NCLOB",
                 "NCLOB is subject to the LOB mode"),
    "ntext": (_fixed(T.NCLOB), "NCLOB", "subject to the LOB mode"),
    "binary": (_sized(T.BYTES, T.BLOB), "BYTES(n)", ""),
    "varbinary": (_sized(T.BYTES, T.BLOB), "BYTES(n); varbinary(max): BLOB", "BLOB is subject to the LOB mode"),
    "image": (_fixed(T.BLOB), "BLOB", "subject to the LOB mode"),
    "uniqueidentifier": (_fixed(T.STRING, 36), "STRING(36)", "upper-case text, as SQL Server prints it"),
    "xml": (_fixed(T.NCLOB), "NCLOB", "subject to the LOB mode"),
    "timestamp": (_fixed(T.BYTES, 8), "BYTES(8)", "rowversion: binary(8) on a SQL Server target"),
    "hierarchyid": (_fixed(T.WSTRING, 250), "WSTRING(250)", "as DMS; the ToString() path ('/1/3/'); "
                    "hierarchyid on a SQL Server target"),
    "geography": (_fixed(T.CLOB), "CLOB", "as DMS; WKT text from ToString(), SRID not carried; "
                  "geography on a SQL Server target"),
    "geometry": (_fixed(T.CLOB), "CLOB", "as DMS; WKT text from ToString(), SRID not carried; "
                 "geometry on a SQL Server target"),
    "sql_variant": (_unsupported("sql_variant values have no single type; DMS does not migrate them"),
                    "not supported", "the column is reported and skipped"),
    "cursor": (_unsupported("cursor is not a storable type"), "not supported", ""),
    "table": (_unsupported("table-valued columns cannot be carried"), "not supported", ""),
}

# Source types whose values are read through an expression (see reads.select_expression).
CONVERTED_ON_READ = frozenset({"datetimeoffset", "uniqueidentifier", "hierarchyid", "geography", "geometry", "xml"})
PADDED_TYPES = frozenset({"char", "nchar"})


def dms_type(base: str, max_length: int = 0, precision: int = 0, scale: int = 0) -> tuple[DmsType | None, str | None]:
    """(DMS type, None) for a supported column, (None, reason) otherwise."""
    rule = SOURCE_TYPES.get(base.lower())
    if rule is None:
        return None, f"{base} is a user-defined CLR type; DMS does not migrate it"
    result = rule[0](max_length, precision, scale)
    if isinstance(result, str):
        return None, result
    if base.lower() == "float" and 0 < precision <= 24:
        return DmsType(T.REAL4), None
    return result, None


def spell(base: str, max_length: int = 0, precision: int = 0, scale: int = 0) -> str:
    """The type as SQL Server spells it in DDL: nvarchar(50), decimal(12,2), varbinary(max), datetime2(3)."""
    name = base.lower()
    if name in {"char", "varchar", "binary", "varbinary"}:
        return f"{name}({'max' if max_length == -1 else max_length})"
    if name in {"nchar", "nvarchar"}:
        return f"{name}({'max' if max_length == -1 else max_length // 2})"
    if name in {"decimal", "numeric"}:
        return f"{name}({precision},{scale})"
    if name in {"datetime2", "time", "datetimeoffset"}:
        return f"{name}({scale})"
    return name


# ---- target side ---------------------------------------------------------------------------------

def _bounded(name: str, limit: int, default: int | None = None) -> Callable[[DmsType], str]:
    def namer(dms: DmsType) -> str:
        length = dms.length or default
        return f"{name}({length})" if length and length <= limit else f"{name}(max)"
    return namer


def _named(name: str) -> Callable[[DmsType], str]:
    return lambda _dms: name


def _numeric(dms: DmsType) -> str:
    if dms.precision is None:
        return "numeric(38,10)"
    precision = min(dms.precision, MAX_NUMERIC_PRECISION)
    return f"numeric({precision},{min(dms.scale or 0, precision)})"


def _fractional(name: str) -> Callable[[DmsType], str]:
    return lambda dms: f"{name}({DEFAULT_FRACTION if dms.scale is None else min(dms.scale, MAX_FRACTION)})"


# DMS type -> (namer, the T-SQL type it gives, note; "DMS:" says where DMS's own choice differs)
TARGET_TYPES: dict[T, tuple[Callable[[DmsType], str], str, str]] = {
    T.BOOLEAN: (_named("tinyint"), "tinyint", "as DMS: 1/0"),
    T.BYTES: (_bounded("varbinary", MAX_VARCHAR), "varbinary(n)", "over 8000 bytes or no length: varbinary(max)"),
    T.DATE: (_named("date"), "date", ""),
    T.TIME: (_fractional("time"), "time(s)", "DMS: datetime2(s); a time of day needs no invented date"),
    T.DATETIME: (_fractional("datetime2"), "datetime2(s)", "scale above 7 is cut to 7; no scale: datetime2(6)"),
    T.INT1: (_named("smallint"), "smallint", "tinyint is unsigned"),
    T.INT2: (_named("smallint"), "smallint", ""),
    T.INT4: (_named("int"), "int", ""),
    T.INT8: (_named("bigint"), "bigint", ""),
    T.NUMERIC: (_numeric, "numeric(p,s)", "no precision: numeric(38,10)"),
    T.REAL4: (_named("real"), "real", ""),
    T.REAL8: (_named("float"), "float", ""),
    T.STRING: (_bounded("nvarchar", MAX_NVARCHAR), "nvarchar(n)", "DMS: varchar(n), which keeps only the "
               "characters of the database's code page; over 4000 or no length: nvarchar(max)"),
    T.WSTRING: (_bounded("nvarchar", MAX_NVARCHAR), "nvarchar(n)", "over 4000 or no length: nvarchar(max)"),
    T.UINT1: (_named("tinyint"), "tinyint", ""),
    T.UINT2: (_named("int"), "int", "DMS: smallint, which cannot hold 32768-65535"),
    T.UINT4: (_named("bigint"), "bigint", "DMS: int, which cannot hold values above 2147483647"),
    T.UINT8: (_named("numeric(20,0)"), "numeric(20,0)", "DMS: bigint, which cannot hold values above 2^63-1"),
    T.BLOB: (_named("varbinary(max)"), "varbinary(max)", ""),
    T.CLOB: (_named("nvarchar(max)"), "nvarchar(max)", "DMS: varchar(max); see STRING"),
    T.NCLOB: (_named("nvarchar(max)"), "nvarchar(max)", ""),
}

# Native types a SQL Server target cannot take back as they are.
HOMOGENEOUS_REPLACEMENTS = {
    "timestamp": "binary(8)",  # rowversion columns cannot be written
    "text": "varchar(max)",  # deprecated LOB types: their modern equivalents
    "ntext": "nvarchar(max)",
    "image": "varbinary(max)",
}


def target_type(dms_type: DmsType, source: SourceColumn | None = None, source_engine: str | None = None) -> str:
    """The T-SQL DDL type for a target column; SQL Server to SQL Server keeps the native type."""
    if (source is not None and source_engine in HOMOGENEOUS_ENGINES and source.dms_type == dms_type
            and source.native_type):
        return HOMOGENEOUS_REPLACEMENTS.get(source.native_type.lower(), source.native_type)
    namer, _doc, _note = TARGET_TYPES[dms_type.name]
    return namer(dms_type)


DOC_SOURCE_ROWS: list[tuple[str, str, str]] = [
    (name, doc, note) for name, (_sizer, doc, note) in SOURCE_TYPES.items()
] + [("CLR user-defined types", "not supported", "the column is reported and skipped"),
     ("alias types (CREATE TYPE ... FROM)", "as the base type", "")]

DOC_TARGET_ROWS: list[tuple[str, str, str]] = [
    (kind.value, doc, note) for kind, (_namer, doc, note) in TARGET_TYPES.items()
] + [("(SQL Server source)", "the source's type", "kept as is, except rowversion: binary(8); text, ntext, "
      "image: varchar(max), nvarchar(max), varbinary(max); IDENTITY is not kept (as DMS)")]
