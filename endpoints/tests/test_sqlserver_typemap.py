"""SQL Server <-> DMS types both ways, and values between pyodbc and the canonical Python forms."""

from __future__ import annotations

import struct
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from endpoints.engines.catalog import SourceColumn
from endpoints.engines.sqlserver.typemap import DOC_SOURCE_ROWS, DOC_TARGET_ROWS, dms_type, spell, target_type
from endpoints.engines.sqlserver.values import (
    canonical,
    cut_lob,
    datetimeoffset_text,
    for_sqlserver,
    row_converter,
)
from endpoints.engines.types import DmsType, T, parse_dms_type

# (base type, max_length in bytes as sys.columns says, precision, scale) -> DMS type, DMS's table (§6.2)
SOURCE_CASES = [
    (("bit", 1, 1, 0), "BOOLEAN"),
    (("tinyint", 1, 3, 0), "UINT1"),
    (("smallint", 2, 5, 0), "INT2"),
    (("int", 4, 10, 0), "INT4"),
    (("bigint", 8, 19, 0), "INT8"),
    (("decimal", 9, 12, 2), "NUMERIC(12,2)"),
    (("numeric", 17, 38, 10), "NUMERIC(38,10)"),
    (("money", 8, 19, 4), "NUMERIC(19,4)"),
    (("smallmoney", 4, 10, 4), "NUMERIC(10,4)"),
    (("real", 4, 24, 0), "REAL4"),
    (("float", 8, 53, 0), "REAL8"),
    (("date", 3, 10, 0), "DATE"),
    (("time", 5, 16, 7), "TIME(7)"),
    (("time", 3, 8, 0), "TIME(0)"),
    (("datetime", 8, 23, 3), "DATETIME(3)"),
    (("datetime2", 8, 27, 7), "DATETIME(7)"),
    (("datetime2", 6, 19, 0), "DATETIME(0)"),
    (("smalldatetime", 4, 16, 0), "DATETIME(0)"),
    (("datetimeoffset", 10, 34, 7), "WSTRING(34)"),
    (("char", 10, 0, 0), "STRING(10)"),
    (("varchar", 50, 0, 0), "STRING(50)"),
    (("varchar", -1, 0, 0), "CLOB"),
    (("text", 16, 0, 0), "CLOB"),
    (("nchar", 20, 0, 0), "WSTRING(10)"),
    (("nvarchar", 100, 0, 0), "WSTRING(50)"),
    (("nvarchar", -1, 0, 0), "NCLOB"),
    (("ntext", 16, 0, 0), "NCLOB"),
    (("binary", 16, 0, 0), "BYTES(16)"),
    (("varbinary", 200, 0, 0), "BYTES(200)"),
    (("varbinary", -1, 0, 0), "BLOB"),
    (("image", 16, 0, 0), "BLOB"),
    (("uniqueidentifier", 16, 0, 0), "STRING(36)"),
    (("xml", -1, 0, 0), "NCLOB"),
    (("timestamp", 8, 0, 0), "BYTES(8)"),
    (("hierarchyid", 892, 0, 0), "WSTRING(250)"),
    (("geography", -1, 0, 0), "CLOB"),
    (("geometry", -1, 0, 0), "CLOB"),
]


@pytest.mark.parametrize(("column", "expected"), SOURCE_CASES, ids=[c[0][0] + str(c[0][1]) for c in SOURCE_CASES])
def test_it_maps_every_listed_source_type_as_dms_does(column, expected):
    mapped, reason = dms_type(*column)
    assert reason is None
    assert str(mapped) == expected


@pytest.mark.parametrize("base", ["sql_variant", "cursor", "table", "MyClrType"])
def test_it_reports_types_it_cannot_carry_with_the_reason(base):
    mapped, reason = dms_type(base, 8016, 0, 0)
    assert mapped is None and reason


def test_it_spells_types_as_sql_server_writes_them():
    assert spell("nvarchar", 100) == "nvarchar(50)"
    assert spell("nvarchar", -1) == "nvarchar(max)"
    assert spell("varbinary", -1) == "varbinary(max)"
    assert spell("char", 10) == "char(10)"
    assert spell("decimal", 9, 12, 2) == "decimal(12,2)"
    assert spell("datetime2", 8, 27, 3) == "datetime2(3)"
    assert spell("datetimeoffset", 10, 34, 7) == "datetimeoffset(7)"
    assert spell("money", 8, 19, 4) == "money"


TARGET_CASES = [
    ("BOOLEAN", "tinyint"),
    ("BYTES(16)", "varbinary(16)"),
    ("BYTES(9000)", "varbinary(max)"),
    ("DATE", "date"),
    ("TIME(3)", "time(3)"),
    ("TIME", "time(6)"),
    ("DATETIME(7)", "datetime2(7)"),
    ("DATETIME(9)", "datetime2(7)"),
    ("DATETIME", "datetime2(6)"),
    ("INT1", "smallint"),
    ("INT2", "smallint"),
    ("INT4", "int"),
    ("INT8", "bigint"),
    ("NUMERIC(12,2)", "numeric(12,2)"),
    ("NUMERIC", "numeric(38,10)"),
    ("REAL4", "real"),
    ("REAL8", "float"),
    ("STRING(20)", "nvarchar(20)"),
    ("STRING(5000)", "nvarchar(max)"),
    ("WSTRING(4000)", "nvarchar(4000)"),
    ("WSTRING(4001)", "nvarchar(max)"),
    ("UINT1", "tinyint"),
    ("UINT2", "int"),
    ("UINT4", "bigint"),
    ("UINT8", "numeric(20,0)"),
    ("BLOB", "varbinary(max)"),
    ("CLOB", "nvarchar(max)"),
    ("NCLOB", "nvarchar(max)"),
]


@pytest.mark.parametrize(("dms", "expected"), TARGET_CASES)
def test_it_names_the_t_sql_type_for_every_dms_type(dms, expected):
    assert target_type(parse_dms_type(dms), None, "postgres") == expected


def test_it_covers_every_dms_type_on_the_target():
    assert {parse_dms_type(d).name for d, _ in TARGET_CASES} == set(T)


def test_it_keeps_native_types_from_sql_server_to_sql_server():
    def col(native: str, dms: str) -> SourceColumn:
        return SourceColumn("c", native, parse_dms_type(dms))

    assert target_type(parse_dms_type("NUMERIC(19,4)"), col("money", "NUMERIC(19,4)"), "sqlserver") == "money"
    assert target_type(parse_dms_type("WSTRING(34)"), col("datetimeoffset(7)", "WSTRING(34)"),
                       "sqlserver") == "datetimeoffset(7)"
    assert target_type(parse_dms_type("CLOB"), col("geography", "CLOB"), "sqlserver") == "geography"
    assert target_type(parse_dms_type("BOOLEAN"), col("bit", "BOOLEAN"), "sqlserver") == "bit"


def test_it_replaces_native_types_a_target_cannot_take_back():
    rowversion = SourceColumn("rv", "timestamp", DmsType(T.BYTES, length=8))
    assert target_type(rowversion.dms_type, rowversion, "sqlserver") == "binary(8)"
    ntext = SourceColumn("n", "ntext", DmsType(T.NCLOB))
    assert target_type(ntext.dms_type, ntext, "sqlserver") == "nvarchar(max)"


def test_it_maps_by_dms_type_when_a_transformation_changed_the_type():
    money = SourceColumn("m", "money", parse_dms_type("NUMERIC(19,4)"))
    assert target_type(parse_dms_type("STRING(30)"), money, "sqlserver") == "nvarchar(30)"


def test_it_documents_every_source_and_target_row():
    sources = {row[0] for row in DOC_SOURCE_ROWS}
    assert {case[0][0] for case in SOURCE_CASES} <= sources
    assert {"sql_variant", "datetimeoffset", "geography"} <= sources
    assert {row[0] for row in DOC_TARGET_ROWS} >= {t.value for t in T}
    assert all(len(row) == 3 for row in DOC_SOURCE_ROWS + DOC_TARGET_ROWS)


# ---- values --------------------------------------------------------------------------------------

def test_it_prints_a_raw_datetimeoffset_as_sql_server_does():
    raw = struct.pack("<6hI2h", 2024, 5, 1, 10, 0, 3, 123456700, 2, 0)
    assert datetimeoffset_text(raw) == "2024-05-01 10:00:03.1234567 +02:00"
    west = struct.pack("<6hI2h", 1999, 12, 31, 23, 59, 59, 0, -5, -30)
    assert datetimeoffset_text(west) == "1999-12-31 23:59:59.0000000 -05:30"


def test_it_makes_values_canonical():
    assert canonical(DmsType(T.NUMERIC, precision=19, scale=4), Decimal("12.3400")) == Decimal("12.3400")
    assert canonical(DmsType(T.NUMERIC, precision=10, scale=4), 1.5) == Decimal("1.5")
    assert canonical(DmsType(T.BOOLEAN), 1) is True
    assert canonical(DmsType(T.BYTES, length=8), bytearray(b"\x00\x00\x00\x00\x00\x00\x07\xd1")) == \
        b"\x00\x00\x00\x00\x00\x00\x07\xd1"
    assert canonical(DmsType(T.STRING, length=36), "6F9619FF-8B86-D011-B42D-00C04FC964FF") == \
        "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    assert canonical(DmsType(T.DATE), None) is None


def test_it_reads_date_and_time_text_as_freetds_may_send_it():
    assert canonical(DmsType(T.DATE), "2024-05-01") == date(2024, 5, 1)
    assert canonical(DmsType(T.TIME, scale=7), "10:11:12.1234567") == time(10, 11, 12, 123456)
    assert canonical(DmsType(T.DATETIME, scale=7), "2024-05-01 10:11:12.1234567") == \
        datetime(2024, 5, 1, 10, 11, 12, 123456)
    aware = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert canonical(DmsType(T.DATETIME), aware) == datetime(2024, 5, 1, 10, 0)


def test_it_converts_only_the_columns_that_need_it():
    convert = row_converter([DmsType(T.INT4), DmsType(T.NUMERIC, precision=5, scale=1), DmsType(T.WSTRING)])
    assert convert((1, 2.5, "x")) == (1, Decimal("2.5"), "x")
    assert row_converter([DmsType(T.INT4)])([7]) == (7,)


def test_it_cuts_lobs_on_character_boundaries():
    assert cut_lob("héllo", 3) == ("hé", True)
    assert cut_lob("hi", 3) == ("hi", False)
    assert cut_lob(b"\x00\x01\x02\x03", 2) == (b"\x00\x01", True)


def test_it_binds_values_sql_server_can_take():
    assert for_sqlserver(DmsType(T.UINT8), 2**64 - 1) == Decimal(2**64 - 1)
    assert for_sqlserver(DmsType(T.UINT8), 5) == 5
    assert for_sqlserver(DmsType(T.BOOLEAN), True) == 1
    aware = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=-3)))
    assert for_sqlserver(DmsType(T.DATETIME), aware) == datetime(2024, 5, 1, 15, 0)
    assert for_sqlserver(DmsType(T.WSTRING), "𝄞") == "𝄞"
    assert for_sqlserver(DmsType(T.INT4), None) is None
