"""PostgreSQL <-> DMS type mapping tables (dms.md §6.2 and §6.3); no database needed."""

from __future__ import annotations

from endpoints.engines.catalog import SourceColumn
from endpoints.engines.postgres.typemap import (
    DOC_SOURCE_ROWS,
    DOC_TARGET_ROWS,
    ColumnType,
    MappingOptions,
    dms_type,
    native_base,
    target_type,
)
from endpoints.engines.types import DmsType, T


def _map(name: str, **kw) -> DmsType | None:
    options = kw.pop("options", MappingOptions())
    return dms_type(ColumnType(base_name=name, **kw), options)[0]


def test_it_maps_integers_and_floats():
    assert _map("smallint") == DmsType(T.INT2)
    assert _map("integer") == DmsType(T.INT4)
    assert _map("bigint") == DmsType(T.INT8)
    assert _map("real") == DmsType(T.REAL4)
    assert _map("double precision") == DmsType(T.REAL8)


def test_it_maps_numerics_by_precision():
    assert _map("numeric", precision=38, scale=10) == DmsType(T.NUMERIC, precision=38, scale=10)
    assert _map("numeric", precision=39, scale=2) == DmsType(T.STRING, length=42)
    assert _map("numeric") == DmsType(T.NUMERIC)
    assert _map("numeric", precision=5, scale=-2) == DmsType(T.NUMERIC, precision=7, scale=0)
    assert _map("money") == DmsType(T.NUMERIC, precision=38, scale=4)


def test_it_maps_character_types():
    assert _map("character", length=1) == DmsType(T.WSTRING, length=1)
    assert _map("character varying", length=20) == DmsType(T.WSTRING, length=20)
    assert _map("character varying") == DmsType(T.WSTRING, length=8000)
    assert _map("character varying", options=MappingOptions(long_varchar_as="nclob")) == DmsType(T.NCLOB)
    assert _map("character varying", options=MappingOptions(long_varchar_as="clob")) == DmsType(T.CLOB)
    assert _map("text") == DmsType(T.NCLOB)
    assert _map("bytea") == DmsType(T.BLOB)


def test_it_maps_dates_and_times_with_their_fractions():
    assert _map("timestamp without time zone") == DmsType(T.DATETIME, scale=6)
    assert _map("timestamp with time zone", precision=3) == DmsType(T.DATETIME, scale=3)
    assert _map("date") == DmsType(T.DATE)
    assert _map("time without time zone", precision=0) == DmsType(T.TIME, scale=0)
    assert _map("time with time zone") == DmsType(T.TIME, scale=6)
    assert _map("interval") == DmsType(T.STRING, length=128)


def test_it_maps_boolean_as_string_unless_asked():
    assert _map("boolean") == DmsType(T.STRING, length=5)
    assert _map("boolean", options=MappingOptions(boolean_as_boolean=True)) == DmsType(T.BOOLEAN)


def test_it_maps_documents_arrays_and_composites_to_nclob_or_clob():
    for name, kind in (("json", "b"), ("jsonb", "b"), ("integer[]", "b"), ("app.pair", "c"), ("hstore", "b")):
        builtin = name in ("json", "jsonb", "integer[]")
        assert _map(name, kind=kind, builtin=builtin) == DmsType(T.NCLOB), name
        assert _map(name, kind=kind, builtin=builtin,
                    options=MappingOptions(jsonb_as_clob=True)) == DmsType(T.CLOB), name


def test_it_maps_the_other_builtin_types():
    assert _map("uuid") == DmsType(T.STRING, length=36)
    assert _map("inet") == DmsType(T.STRING, length=50)
    assert _map("cidr") == DmsType(T.STRING, length=50)
    assert _map("macaddr") == DmsType(T.STRING, length=18)
    assert _map("bit", length=4) == DmsType(T.STRING, length=4)
    assert _map("bit varying", length=8) == DmsType(T.STRING, length=8)
    assert _map("xml") == DmsType(T.CLOB)
    assert _map("tsvector") == DmsType(T.CLOB)
    assert _map("point") == DmsType(T.STRING, length=255)
    assert _map("polygon") == DmsType(T.CLOB)
    assert _map("int4range", kind="r") == DmsType(T.STRING, length=255)
    assert _map("app.mood", kind="e", builtin=False) == DmsType(T.STRING, length=64)


def test_it_refuses_postgis_and_unknown_extension_types_with_a_reason():
    mapped, reason = dms_type(ColumnType(base_name="public.geometry", builtin=False))
    assert mapped is None
    assert "PostGIS geometry is not supported" in reason
    mapped, reason = dms_type(ColumnType(base_name="geography", builtin=False))
    assert mapped is None
    mapped, reason = dms_type(ColumnType(base_name="ltree", builtin=False))
    assert mapped is None
    assert "ltree" in reason and "Exclude the column" in reason


def test_it_maps_dms_types_to_postgresql_target_types():
    assert target_type(DmsType(T.BOOLEAN)) == "boolean"
    assert target_type(DmsType(T.BYTES, length=16)) == "bytea"
    assert target_type(DmsType(T.DATETIME, scale=6)) == "timestamp without time zone"
    assert target_type(DmsType(T.DATETIME, scale=3)) == "timestamp(3) without time zone"
    assert target_type(DmsType(T.DATETIME, scale=9)) == "character varying(37)"
    assert target_type(DmsType(T.TIME)) == "time without time zone"
    assert target_type(DmsType(T.INT1)) == "smallint"
    assert target_type(DmsType(T.INT4)) == "integer"
    assert target_type(DmsType(T.NUMERIC, precision=12, scale=2)) == "numeric(12,2)"
    assert target_type(DmsType(T.REAL4)) == "real"
    assert target_type(DmsType(T.REAL8)) == "double precision"
    assert target_type(DmsType(T.STRING, length=100)) == "character varying(100)"
    assert target_type(DmsType(T.WSTRING, length=21846)) == "character varying(65535)"
    assert target_type(DmsType(T.UINT1)) == "smallint"
    assert target_type(DmsType(T.UINT2)) == "integer"
    assert target_type(DmsType(T.UINT4)) == "bigint"
    assert target_type(DmsType(T.UINT8)) == "numeric(20,0)"
    assert target_type(DmsType(T.BLOB)) == "bytea"
    assert target_type(DmsType(T.CLOB)) == "text"
    assert target_type(DmsType(T.NCLOB)) == "text"


def test_it_keeps_native_types_from_a_postgresql_source():
    jsonb = SourceColumn("doc", "jsonb", DmsType(T.NCLOB))
    assert target_type(DmsType(T.NCLOB), jsonb, "postgres") == "jsonb"
    assert target_type(DmsType(T.NCLOB), jsonb, "mysql") == "text"
    flag = SourceColumn("flag", "boolean", DmsType(T.STRING, length=5))
    assert target_type(DmsType(T.STRING, length=5), flag, "postgres") == "boolean"
    tstz = SourceColumn("at", "timestamp(3) with time zone", DmsType(T.DATETIME, scale=3))
    assert target_type(DmsType(T.DATETIME, scale=3), tstz, "postgres") == "timestamp(3) with time zone"
    ints = SourceColumn("xs", "integer[]", DmsType(T.NCLOB))
    assert target_type(DmsType(T.NCLOB), ints, "postgres") == "integer[]"


def test_it_creates_user_defined_types_as_character_varying_or_text():
    assert target_type(DmsType(T.STRING, length=64), SourceColumn("m", "app.mood", DmsType(T.STRING, length=64)),
                       "postgres") == "character varying"
    assert target_type(DmsType(T.INT4), SourceColumn("q", "app.positive", DmsType(T.INT4)),
                       "postgres") == "character varying"
    assert target_type(DmsType(T.NCLOB), SourceColumn("p", "app.pair", DmsType(T.NCLOB)), "postgres") == "text"
    assert target_type(DmsType(T.NCLOB), SourceColumn("e", "app.mood[]", DmsType(T.NCLOB)), "postgres") == "text"


def test_it_follows_a_changed_data_type_instead_of_the_native_one():
    amount = SourceColumn("amount", "numeric(12,2)", DmsType(T.NUMERIC, precision=12, scale=2))
    assert target_type(DmsType(T.STRING, length=20), amount, "postgres") == "character varying(20)"


def test_it_strips_modifiers_from_native_type_names():
    assert native_base("character varying(20)[]") == "character varying"
    assert native_base("timestamp(3) with time zone") == "timestamp with time zone"
    assert native_base("numeric(5,-2)") == "numeric"
    assert native_base("interval year to month") == "interval"


def test_it_documents_both_directions_as_three_column_rows():
    assert ("bytea", "BLOB", "LOB: subject to the task's LOB mode") in DOC_SOURCE_ROWS
    uint8 = [row for row in DOC_TARGET_ROWS if row[0] == "UINT8"]
    assert uint8 and uint8[0][1] == "numeric(20,0)" and "9223372036854775807" in uint8[0][2]
    assert all(len(row) == 3 and all(isinstance(x, str) for x in row) for row in DOC_SOURCE_ROWS + DOC_TARGET_ROWS)
    assert {row[0] for row in DOC_TARGET_ROWS} >= {t.value for t in T}
    assert ("geometry", "not supported") == DOC_SOURCE_ROWS[-3][:2]
