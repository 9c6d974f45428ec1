"""Values as python-mysql-replication decodes them, brought to the full load's canonical values."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymysqlreplication.column import Column
from pymysqlreplication.constants import FIELD_TYPE

from endpoints.engines.catalog import SourceColumn
from endpoints.engines.mysql.binlog_values import converter


def column(kind: int, **facts) -> Column:
    defaults = {"name": "c", "unsigned": False, "character_set_name": None, "set_values": None}
    return Column(type=kind, **{**defaults, **facts})


def source(native: str) -> SourceColumn:
    return SourceColumn(name="c", native_type=native, dms_type=None)


def test_it_turns_bits_into_a_boolean_or_big_endian_bytes():
    assert converter(column(FIELD_TYPE.BIT, bits=1, bytes=1), None)("1") is True
    assert converter(column(FIELD_TYPE.BIT, bits=1, bytes=1), None)("0") is False
    assert converter(column(FIELD_TYPE.BIT, bits=10, bytes=2), None)("1000000001") == b"\x02\x01"
    assert converter(column(FIELD_TYPE.BIT, bits=64, bytes=8), None)("1" * 64) == b"\xff" * 8


def test_it_restores_the_zero_padding_of_binary_values():
    binary = converter(column(FIELD_TYPE.STRING, character_set_name="binary", max_length=4), None)
    assert binary(b"\x00\x01\x02") == b"\x00\x01\x02\x00"
    assert binary("") == b"\x00\x00\x00\x00"
    varbinary = converter(column(FIELD_TYPE.VARCHAR, character_set_name="binary", max_length=8), None)
    assert varbinary("") == b""
    assert varbinary(b"\x00\xff") == b"\x00\xff"
    assert converter(column(FIELD_TYPE.VARCHAR, character_set_name="utf8", max_length=8), None) is None


def test_it_prints_time_as_mysql_does():
    plain = converter(column(FIELD_TYPE.TIME2, fsp=0), None)
    assert plain(timedelta(days=-35, seconds=3601)) == "-838:59:59"
    assert plain(timedelta(hours=838, minutes=59, seconds=59)) == "838:59:59"
    assert plain(timedelta(0)) == "00:00:00"
    assert converter(column(FIELD_TYPE.TIME2, fsp=2), None)(timedelta(seconds=45296, microseconds=780000)) == \
        "12:34:56.78"
    assert converter(column(FIELD_TYPE.TIME2, fsp=6), None)(-timedelta(microseconds=1)) == "-00:00:00.000001"


def test_it_reads_zero_timestamps_and_years_as_the_server_stores_them():
    timestamp = converter(column(FIELD_TYPE.TIMESTAMP2, fsp=6), None)
    assert timestamp(datetime(1970, 1, 1)) is None
    assert timestamp(datetime(1970, 1, 1, 0, 0, 1)) == datetime(1970, 1, 1, 0, 0, 1)
    year = converter(column(FIELD_TYPE.YEAR, unsigned=True), None)
    assert (year(1900), year(1901), year(2155)) == (0, 1901, 2155)


def test_it_writes_sets_in_definition_order():
    members = converter(column(FIELD_TYPE.SET, set_values=["x", "yy", "z"]), None)
    assert members({"z", "x"}) == "x,z"
    assert members({"yy"}) == "yy"


def test_it_prints_mysql_binary_json_as_json_text():
    text = converter(column(FIELD_TYPE.JSON, length_size=4), None)
    assert text({b"a": [1, 2.5, b"caf\xc3\xa9", None, True]}) == '{"a": [1, 2.5, "café", null, true]}'
    assert text('{"a": 1}') == '{"a": 1}'  # MariaDB: already text


def test_it_prints_mariadb_uuid_and_inet_types():
    binary16 = column(FIELD_TYPE.STRING, character_set_name="binary", max_length=16)
    assert converter(binary16, source("uuid"))(bytes.fromhex("c2a8f2c81d1e4f2b9a3c0123456789ab")) == \
        "c2a8f2c8-1d1e-4f2b-9a3c-0123456789ab"
    inet6 = converter(binary16, source("inet6"))
    assert inet6(bytes.fromhex("20010db8000000000000000000000001")) == "2001:db8::1"
    assert inet6(bytes.fromhex("00000000000000000000ffff01020304")) == "::ffff:1.2.3.4"
    binary4 = column(FIELD_TYPE.STRING, character_set_name="binary", max_length=4)
    assert converter(binary4, source("inet4"))(b"\n\x01\x02\x03") == "10.1.2.3"


def test_it_leaves_values_that_arrive_canonical_alone():
    for kind in (FIELD_TYPE.LONGLONG, FIELD_TYPE.NEWDECIMAL, FIELD_TYPE.DATETIME2, FIELD_TYPE.DATE, FIELD_TYPE.DOUBLE,
                 FIELD_TYPE.FLOAT, FIELD_TYPE.ENUM):
        assert converter(column(kind), None) is None
    assert converter(column(FIELD_TYPE.BLOB, character_set_name="utf8mb4"), None) is None
