"""MySQL <-> DMS type mapping tables (DMS user guide, MySQL source and target pages)."""

from __future__ import annotations

import pytest

from endpoints.engines.catalog import SourceColumn
from endpoints.engines.mysql import typemap
from endpoints.engines.mysql.typemap import NativeType, source_type, target_type
from endpoints.engines.types import DmsType, T, parse_dms_type


@pytest.mark.parametrize(("native", "expected"), [
    (NativeType("tinyint", "tinyint(4)"), "INT1"),
    (NativeType("tinyint", "tinyint(1)"), "INT1"),
    (NativeType("tinyint", "tinyint(3) unsigned"), "UINT1"),
    (NativeType("smallint", "smallint(6)"), "INT2"),
    (NativeType("smallint", "smallint(5) unsigned"), "UINT2"),
    (NativeType("mediumint", "mediumint(9)"), "INT4"),
    (NativeType("mediumint", "mediumint(8) unsigned"), "UINT4"),
    (NativeType("int", "int(11)"), "INT4"),
    (NativeType("int", "int(10) unsigned"), "UINT4"),
    (NativeType("bigint", "bigint(20)"), "INT8"),
    (NativeType("bigint", "bigint(20) unsigned"), "UINT8"),
    (NativeType("decimal", "decimal(10,0)", precision=10, scale=0), "NUMERIC(10,0)"),
    (NativeType("decimal", "decimal(65,30)", precision=65, scale=30), "NUMERIC(65,30)"),
    (NativeType("float", "float"), "REAL8"),
    (NativeType("double", "double"), "REAL8"),
    (NativeType("bit", "bit(1)", precision=1), "BOOLEAN"),
    (NativeType("bit", "bit(10)", precision=10), "BYTES(2)"),
    (NativeType("bit", "bit(64)", precision=64), "BYTES(8)"),
    (NativeType("date", "date"), "DATE"),
    (NativeType("datetime", "datetime", fraction=0), "DATETIME(0)"),
    (NativeType("datetime", "datetime(6)", fraction=6), "DATETIME(6)"),
    (NativeType("timestamp", "timestamp(3)", fraction=3), "DATETIME(3)"),
    (NativeType("time", "time", fraction=0), "STRING(10)"),
    (NativeType("time", "time(2)", fraction=2), "STRING(13)"),
    (NativeType("year", "year(4)"), "INT2"),
    (NativeType("char", "char(3)", length=3), "WSTRING(3)"),
    (NativeType("varchar", "varchar(20)", length=20), "WSTRING(20)"),
    (NativeType("tinytext", "tinytext", length=255), "WSTRING(255)"),
    (NativeType("text", "text", length=65535), "WSTRING(65535)"),
    (NativeType("mediumtext", "mediumtext"), "NCLOB"),
    (NativeType("longtext", "longtext"), "NCLOB"),
    (NativeType("binary", "binary(1)", length=1), "BYTES(1)"),
    (NativeType("varbinary", "varbinary(300)", length=300), "BYTES(300)"),
    (NativeType("tinyblob", "tinyblob"), "BYTES(255)"),
    (NativeType("blob", "blob"), "BYTES(65535)"),
    (NativeType("mediumblob", "mediumblob"), "BLOB"),
    (NativeType("longblob", "longblob"), "BLOB"),
    (NativeType("json", "json"), "CLOB"),
    (NativeType("enum", "enum('a','bbb')", length=3), "WSTRING(3)"),
    (NativeType("set", "set('x','yy')", length=4), "WSTRING(4)"),
])
def test_it_maps_mysql_types_as_dms_does(native, expected):
    dms_type, reason = source_type(native)
    assert reason is None
    assert dms_type == parse_dms_type(expected)


@pytest.mark.parametrize("name", ["geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
                                  "multipolygon", "geometrycollection"])
def test_it_refuses_spatial_types_with_a_reason(name):
    dms_type, reason = source_type(NativeType(name, name))
    assert dms_type is None
    assert "SRID" in reason


def test_it_refuses_an_unknown_type():
    dms_type, reason = source_type(NativeType("vector", "vector(3)"))
    assert dms_type is None
    assert reason == "MySQL type vector(3) has no DMS mapping"


@pytest.mark.parametrize(("dms", "expected"), [
    ("BOOLEAN", "BOOLEAN"),
    ("BYTES(16)", "VARBINARY(16)"),
    ("BYTES(65535)", "VARBINARY(65535)"),
    ("BYTES(70000)", "LONGBLOB"),
    ("DATE", "DATE"),
    ("TIME", "TIME"),
    ("TIME(3)", "TIME(3)"),
    ("DATETIME(0)", "DATETIME(0)"),
    ("DATETIME(6)", "DATETIME(6)"),
    ("DATETIME(9)", "VARCHAR(37)"),
    ("INT1", "TINYINT"),
    ("INT2", "SMALLINT"),
    ("INT4", "INT"),
    ("INT8", "BIGINT"),
    ("NUMERIC(12,2)", "DECIMAL(12,2)"),
    ("NUMERIC(70,2)", "VARCHAR(72)"),
    ("REAL4", "FLOAT"),
    ("REAL8", "DOUBLE"),
    ("STRING(20)", "VARCHAR(20)"),
    ("WSTRING(16383)", "VARCHAR(16383)"),
    ("WSTRING(16384)", "LONGTEXT"),
    ("UINT1", "TINYINT UNSIGNED"),
    ("UINT2", "SMALLINT UNSIGNED"),
    ("UINT4", "INT UNSIGNED"),
    ("UINT8", "BIGINT UNSIGNED"),
    ("BLOB", "LONGBLOB"),
    ("CLOB", "LONGTEXT"),
    ("NCLOB", "LONGTEXT"),
])
def test_it_names_mysql_target_types(dms, expected):
    assert target_type(parse_dms_type(dms)) == expected


def test_it_gives_unbounded_numerics_the_widest_decimal():
    assert target_type(DmsType(T.NUMERIC)) == "DECIMAL(65,30)"


def test_it_keeps_native_types_mysql_to_mysql():
    column = SourceColumn("e", "enum('a','b')", DmsType(T.WSTRING, length=1))
    assert target_type(column.dms_type, column, "mysql") == "enum('a','b')"
    assert target_type(column.dms_type, column, "mariadb") == "enum('a','b')"
    assert target_type(column.dms_type, column, "postgres") == "VARCHAR(1)"


def test_it_uses_the_mapping_when_a_homogeneous_type_was_changed():
    column = SourceColumn("n", "int(11)", DmsType(T.INT4))
    assert target_type(DmsType(T.INT8), column, "mysql") == "BIGINT"


def test_it_documents_every_row_of_both_tables():
    assert ("BIGINT UNSIGNED", "UINT8", "up to 18446744073709551615") in typemap.DOC_SOURCE_ROWS
    assert ("POINT", "not supported", typemap.SOURCE_TYPES["point"][2]) in typemap.DOC_SOURCE_ROWS
    assert len(typemap.DOC_SOURCE_ROWS) == len(typemap.SOURCE_TYPES)
    assert [row[0] for row in typemap.DOC_TARGET_ROWS] == [t.value for t in T]
    assert all(isinstance(cell, str) for row in typemap.DOC_SOURCE_ROWS + typemap.DOC_TARGET_ROWS for cell in row)
