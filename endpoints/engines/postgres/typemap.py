"""PostgreSQL <-> DMS type mapping, as data tables (DMS User Guide, PostgreSQL source and target pages).

Source side: `dms_type(column_type, options)` maps one catalog column type to its DMS
type, or to None with the reason it cannot be carried. Target side: `target_type()`
names the PostgreSQL DDL type for a DMS type, keeping the source's native type when
the source is PostgreSQL too (DMS keeps types PostgreSQL-to-PostgreSQL), except
user-defined types (enums, domains, composites, extension types), which become
character varying or text as DMS creates them.

`DOC_SOURCE_ROWS` and `DOC_TARGET_ROWS` feed the generated documentation table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..catalog import SourceColumn
from ..conninfo import ConnectionInfo
from ..types import DmsType, T

# DMS NUMERIC holds at most 38 digits; wider PostgreSQL numerics travel as strings.
MAX_NUMERIC_PRECISION = 38
# DMS maps numeric without precision to NUMERIC(28,6) and rounds to 6 decimals on other targets (a
# documented DMS limitation users complain of). We keep it unconstrained: each target takes its widest
# exact decimal, and a value that does not fit fails loudly instead of being rounded.
UNCONSTRAINED_NUMERIC = DmsType(T.NUMERIC)
# character varying without a length: DMS's default limit (unboundedVarcharMaxSize).
UNBOUNDED_VARCHAR_LENGTH = 8000
# STRING/WSTRING longer than this become varchar(65535) on a PostgreSQL target (DMS).
MAX_TARGET_VARCHAR = 21845


@dataclass(frozen=True)
class ColumnType:
    """What the catalog says about a column's type (see sql/columns.sql).

    `base_name` is the type name without modifiers (format_type(oid, NULL)) of the
    column's type, or of the domain's base type; for arrays it ends in "[]".
    `kind` is pg_type.typtype of the (base) type: b base, e enum, c composite,
    r range, m multirange, p pseudo. `builtin` is False when the (base or element) type lives
    outside pg_catalog; `domain` is True for a domain over that base type.
    """

    base_name: str
    kind: str = "b"
    builtin: bool = True
    domain: bool = False
    length: int | None = None  # char/varchar/bit length
    precision: int | None = None  # numeric precision; timestamp/time/interval fractional digits
    scale: int | None = None  # numeric scale

    @property
    def is_array(self) -> bool:
        return self.base_name.endswith("[]")


@dataclass(frozen=True)
class MappingOptions:
    """The endpoint attributes that change the source mapping (DMS extra connection attributes)."""

    boolean_as_boolean: bool = False
    jsonb_as_clob: bool = False
    long_varchar_as: str = "wstring"  # wstring | clob | nclob

    @classmethod
    def from_conninfo(cls, conninfo: ConnectionInfo) -> MappingOptions:
        return cls(boolean_as_boolean=conninfo.flag("mapBooleanAsBoolean"),
                   jsonb_as_clob=conninfo.flag("mapJsonbAsClob"),
                   long_varchar_as=(conninfo.attr("mapLongVarcharAs") or "wstring").strip().lower())


def _t(kind: T, first: int | None = None, second: int | None = None) -> DmsType:
    if kind is T.NUMERIC:
        return DmsType(kind, precision=first, scale=second)
    if kind in (T.STRING, T.WSTRING, T.BYTES):
        return DmsType(kind, length=first)
    if kind in (T.DATETIME, T.TIME):
        return DmsType(kind, scale=first)
    return DmsType(kind)


# Fixed mappings: PostgreSQL built-in type -> DMS type (types with modifiers are handled in _modified).
FIXED: dict[str, DmsType] = {
    "smallint": _t(T.INT2),
    "integer": _t(T.INT4),
    "bigint": _t(T.INT8),
    "real": _t(T.REAL4),
    "double precision": _t(T.REAL8),
    "money": _t(T.NUMERIC, 38, 4),
    "text": _t(T.NCLOB),
    "name": _t(T.WSTRING, 64),
    '"char"': _t(T.STRING, 1),
    "bytea": _t(T.BLOB),
    "date": _t(T.DATE),
    "interval": _t(T.STRING, 128),
    "uuid": _t(T.STRING, 36),
    "cidr": _t(T.STRING, 50),
    "inet": _t(T.STRING, 50),
    "macaddr": _t(T.STRING, 18),
    "macaddr8": _t(T.STRING, 24),
    "tsvector": _t(T.CLOB),
    "tsquery": _t(T.CLOB),
    "xml": _t(T.CLOB),
    "point": _t(T.STRING, 255),
    "line": _t(T.STRING, 255),
    "lseg": _t(T.STRING, 255),
    "box": _t(T.STRING, 255),
    "circle": _t(T.STRING, 255),
    "path": _t(T.CLOB),
    "polygon": _t(T.CLOB),
    "int4range": _t(T.STRING, 255),
    "int8range": _t(T.STRING, 255),
    "numrange": _t(T.STRING, 255),
    "daterange": _t(T.STRING, 255),
    "tsrange": _t(T.STRING, 255),
    "tstzrange": _t(T.STRING, 255),
    "pg_lsn": _t(T.STRING, 17),
}

# Documents and containers: NCLOB, or CLOB with mapJsonbAsClob.
DOCUMENT_TYPES = frozenset({"json", "jsonb", "hstore"})

# Types no target can carry faithfully, with the reason shown in the plan.
UNSUPPORTED: dict[str, str] = {
    "geometry": "PostGIS geometry is not supported: DMS carries PostGIS only between PostGIS databases. "
                "Exclude the column, or select ST_AsText(column) through a view.",
    "geography": "PostGIS geography is not supported: DMS carries PostGIS only between PostGIS databases. "
                 "Exclude the column, or select ST_AsText(column) through a view.",
    "oid": "OID large-object references are not migrated (DMS): the large objects themselves stay behind. "
           "Exclude the column or store the data in bytea.",
}


def dms_type(column: ColumnType, options: MappingOptions = MappingOptions()) -> tuple[DmsType | None, str | None]:
    """The DMS type of a PostgreSQL column type, or (None, reason)."""
    name = column.base_name
    document = T.CLOB if options.jsonb_as_clob else T.NCLOB
    if column.is_array or column.kind == "c":
        return DmsType(document), None
    if column.kind == "e":
        return _t(T.STRING, 64), None
    if column.kind == "m":
        return DmsType(T.CLOB), None
    if name in UNSUPPORTED or _bare(name) in UNSUPPORTED:
        return None, UNSUPPORTED.get(name) or UNSUPPORTED[_bare(name)]
    if name in DOCUMENT_TYPES or _bare(name) in DOCUMENT_TYPES:
        return DmsType(document), None
    if _bare(name) == "citext":
        return DmsType(T.NCLOB), None
    if not column.builtin and column.kind != "r":
        return None, (f"Type {name} (from an extension) has no DMS mapping. Exclude the column, or cast it "
                      "to text through a view.")
    if column.kind == "r" and name not in FIXED:
        return _t(T.STRING, 255), None
    if name == "boolean":
        return (DmsType(T.BOOLEAN) if options.boolean_as_boolean else _t(T.STRING, 5)), None
    if name in FIXED:
        return FIXED[name], None
    mapped = _modified(column, options)
    if mapped is None:
        return None, f"Type {name} has no DMS mapping. Exclude the column, or cast it to text through a view."
    return mapped, None


def _modified(column: ColumnType, options: MappingOptions) -> DmsType | None:
    name, length = column.base_name, column.length
    if name == "numeric":
        return _numeric(column.precision, column.scale)
    if name == "character":
        return _t(T.WSTRING, length) if length else _unbounded_varchar(options)
    if name == "character varying":
        return _t(T.WSTRING, length) if length else _unbounded_varchar(options)
    if name in ("bit", "bit varying"):
        return _t(T.STRING, length) if length else DmsType(T.CLOB)
    if name in ("timestamp without time zone", "timestamp with time zone"):
        return _t(T.DATETIME, _fraction(column.precision))
    if name in ("time without time zone", "time with time zone"):
        return _t(T.TIME, _fraction(column.precision))
    return None


def _fraction(precision: int | None) -> int:
    return 6 if precision is None else precision


def _numeric(precision: int | None, scale: int | None) -> DmsType:
    if precision is None:
        return UNCONSTRAINED_NUMERIC
    scale = scale or 0
    if scale < 0:  # numeric(5,-2) holds integers of precision - scale digits
        precision, scale = precision - scale, 0
    precision = max(precision, scale)  # numeric(3,5) holds 0.00xyz
    if precision > MAX_NUMERIC_PRECISION:
        return _t(T.STRING, precision + 3)  # digits, sign, point, leading zero
    return _t(T.NUMERIC, precision, scale)


def _unbounded_varchar(options: MappingOptions) -> DmsType:
    if options.long_varchar_as == "clob":
        return DmsType(T.CLOB)
    if options.long_varchar_as == "nclob":
        return DmsType(T.NCLOB)
    return _t(T.WSTRING, UNBOUNDED_VARCHAR_LENGTH)


def _bare(name: str) -> str:
    """A type name without its schema ("public.hstore" -> "hstore"): extension types may live anywhere."""
    return name.rpartition(".")[2].strip('"')


# ---- target side ------------------------------------------------------------------------------

def _varchar(dms: DmsType) -> str:
    length = dms.length or 0
    return f"character varying({length})" if 1 <= length <= MAX_TARGET_VARCHAR else "character varying(65535)"


def _numeric_target(dms: DmsType) -> str:
    if dms.precision is None:
        return "numeric"
    return f"numeric({dms.precision},{dms.scale or 0})"


def _datetime_target(dms: DmsType) -> str:
    scale = 6 if dms.scale is None else dms.scale
    if scale > 6:  # PostgreSQL keeps microseconds; DMS stores finer values as text
        return "character varying(37)"
    return "timestamp without time zone" if scale == 6 else f"timestamp({scale}) without time zone"


def _time_target(dms: DmsType) -> str:
    scale = 6 if dms.scale is None else min(dms.scale, 6)
    return "time without time zone" if scale == 6 else f"time({scale}) without time zone"


# DMS type -> (PostgreSQL type or a function of the DMS type, type as documented, note)
TARGET: dict[T, tuple[object, str, str]] = {
    T.BOOLEAN: ("boolean", "boolean", ""),
    T.BYTES: ("bytea", "bytea", ""),
    T.DATE: ("date", "date", ""),
    T.TIME: (_time_target, "time(s)", ""),
    T.DATETIME: (_datetime_target, "timestamp(s)", "scale 7-9: character varying(37)"),
    T.INT1: ("smallint", "smallint", ""),
    T.INT2: ("smallint", "smallint", ""),
    T.INT4: ("integer", "integer", ""),
    T.INT8: ("bigint", "bigint", ""),
    T.NUMERIC: (_numeric_target, "numeric(p,s)", "without precision: numeric"),
    T.REAL4: ("real", "real", ""),
    T.REAL8: ("double precision", "double precision", ""),
    T.STRING: (_varchar, "character varying(n)", "n above 21845 or unknown: character varying(65535)"),
    T.WSTRING: (_varchar, "character varying(n)", "n above 21845 or unknown: character varying(65535)"),
    T.UINT1: ("smallint", "smallint", ""),
    T.UINT2: ("integer", "integer", ""),
    T.UINT4: ("bigint", "bigint", ""),
    # Not DMS's bigint: unsigned 64-bit values above 2**63-1 must arrive intact.
    T.UINT8: ("numeric(20,0)", "numeric(20,0)", "DMS: bigint, which cannot hold values above "
                                                "9223372036854775807"),
    T.BLOB: ("bytea", "bytea", ""),
    T.CLOB: ("text", "text", ""),
    T.NCLOB: ("text", "text", ""),
}

_MODIFIERS = re.compile(r"\(\s*-?\d+(?:\s*,\s*-?\d+)?\s*\)")


def native_base(native_type: str) -> str:
    """'character varying(20)[]' -> 'character varying'; 'timestamp(3) with time zone' -> 'timestamp with time
    zone'; 'interval year to month' -> 'interval'."""
    name = _MODIFIERS.sub("", native_type).replace("[]", "").strip()
    name = " ".join(name.split())
    return "interval" if name.startswith("interval") else name


def is_builtin_native(native_type: str) -> bool:
    """True for PostgreSQL built-in types (format_type prints them unqualified and unquoted, except "char")."""
    base = native_base(native_type)
    return base in FIXED or base in _BUILTIN_MODIFIED or base in ("boolean", "json", "jsonb")


_BUILTIN_MODIFIED = frozenset({
    "numeric", "character", "bpchar", "character varying", "bit", "bit varying",
    "timestamp without time zone", "timestamp with time zone", "time without time zone", "time with time zone",
})


def target_type(dms: DmsType, source: SourceColumn | None = None, source_engine: str | None = None) -> str:
    """The PostgreSQL DDL type for a column of DMS type `dms`."""
    if source_engine == "postgres" and source is not None and source.dms_type == dms:
        if is_builtin_native(source.native_type):
            return source.native_type
        # DMS creates user-defined types (enums, domains, composites, extension types) as character varying.
        return "text" if dms.is_lob else "character varying"
    rule = TARGET[dms.name][0]
    return rule(dms) if callable(rule) else rule  # type: ignore[return-value]


# ---- documentation rows -----------------------------------------------------------------------

_FIXED_NOTES = {
    "money": "read as money::numeric, independent of lc_monetary",
    "text": "LOB: subject to the task's LOB mode",
    "bytea": "LOB: subject to the task's LOB mode",
    "date": "infinity and BC dates cannot be carried: the read fails naming the table",
    "interval": "PostgreSQL text form (IntervalStyle postgres)",
}

# Types mapped by rule rather than by the FIXED table.
_RULE_ROWS: list[tuple[str, str, str]] = [
    ("numeric(p,s) / decimal(p,s), p <= 38", "NUMERIC(p,s)", "negative scale widens the precision"),
    ("numeric(p,s), p > 38", "STRING(p+3)", "exact text form"),
    ("numeric (no precision)", "NUMERIC", "DMS: NUMERIC(28,6), rounding to 6 decimals; here the target's widest "
                                          "exact decimal, and values that do not fit fail their row"),
    ("character(n) / character varying(n)", "WSTRING(n)", ""),
    ("character varying (no length)", "WSTRING(8000)", "mapLongVarcharAs=clob|nclob maps it to CLOB/NCLOB"),
    ("citext", "NCLOB", "created as text on a PostgreSQL target"),
    ("timestamp(p) [with time zone]", "DATETIME(p)", "with time zone: converted to UTC"),
    ("time(p) [with time zone]", "TIME(p)", "with time zone: converted to UTC"),
    ("boolean", "STRING(5)", "'true'/'false'; mapBooleanAsBoolean=Y keeps BOOLEAN"),
    ("enum", "STRING(64)", "created as character varying on a PostgreSQL target"),
    ("bit(n) / bit varying(n)", "STRING(n)", "bit varying without length: CLOB"),
    ("json / jsonb / hstore / arrays / composites", "NCLOB", "mapJsonbAsClob=Y maps them to CLOB"),
    ("user-defined ranges", "STRING(255)", ""),
    ("multiranges", "CLOB", ""),
    ("domains", "as the base type", "created as character varying (text for LOBs) on a PostgreSQL target"),
]

DOC_SOURCE_ROWS: list[tuple[str, str, str]] = (
    [(name, str(dms), _FIXED_NOTES.get(name, "")) for name, dms in FIXED.items()]
    + _RULE_ROWS
    + [(name, "not supported", reason) for name, reason in UNSUPPORTED.items()]
)

DOC_TARGET_ROWS: list[tuple[str, str, str]] = [
    *((kind.value, doc, note) for kind, (_rule, doc, note) in TARGET.items()),
    ("(any, from a PostgreSQL source)", "the source's type",
     "kept as is, except user-defined types: character varying, or text for LOBs"),
]
