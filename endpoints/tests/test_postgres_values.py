"""Reading every PostgreSQL type into canonical values (types.py), with edge values."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from endpoints.engines.base import RowFormat
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.plan import identity_plan
from endpoints.engines.types import DmsType, T
from endpoints.tests.postgres_support import engine_for, run_sql

TYPES_SQL = [
    "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
    "CREATE TYPE pair AS (x integer, y text)",
    "CREATE DOMAIN positive AS numeric(6,2) CHECK (VALUE > 0)",
    """CREATE TABLE every_type (
        id integer PRIMARY KEY,
        i2 smallint, i4 integer, i8 bigint,
        n38 numeric(38,10), nfree numeric, nwide numeric(50,5),
        r4 real, r8 double precision, m money,
        ch character(5), vc character varying(10), vfree character varying, tx text,
        by bytea,
        ts timestamp, ts3 timestamp(3), tstz timestamp with time zone,
        d date, t time, ttz time with time zone, iv interval,
        b boolean, bits bit(4), vbits bit varying(8),
        e mood, ip inet, net cidr, mac macaddr, u uuid,
        j json, jb jsonb, ints integer[], texts text[],
        pt point, rng int4range, dom positive, comp pair)""",
    r"""INSERT INTO every_type VALUES (
        1,
        -32768, 2147483647, -9223372036854775808,
        1234567890123456789012345678.0123456789, 3.14159265358979323846264338327950288419716939937510,
        123456789012345678901234567890123456789012345.12345,
        1.5, 0.1, 12.34,
        'ab', '', 'free text', 'clef 𝄞 and 😀',
        '\x0001ff00',
        '1899-12-31 23:59:59.123456', '2024-02-29 12:00:00.5', '2024-03-10 01:02:03.654321+05:30',
        '0001-01-01', '23:59:59.999999', '10:00:00+02', '1 year 2 mons 3 days 04:05:06.789',
        true, B'1010', B'101',
        'happy', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
        '{"b": 1,  "a": [1, 2]}', '{"b": 1, "a": [1, 2]}', '{1,NULL,3}', '{"a b",c}',
        '(1,2)', '[1,5)', 12.5, ROW(1, 'a b'))""",
    """INSERT INTO every_type (id, vc, b, d, tstz, ts) VALUES (2, NULL, false, '1850-06-15',
        '1969-12-31 23:59:59-01', '2000-01-01 00:00:00')""",
]

EXPECTED_ROW_1 = {
    "id": 1,
    "i2": -32768, "i4": 2147483647, "i8": -9223372036854775808,
    "n38": Decimal("1234567890123456789012345678.0123456789"),
    "nfree": Decimal("3.14159265358979323846264338327950288419716939937510"),
    "nwide": "123456789012345678901234567890123456789012345.12345",
    "r4": 1.5, "r8": 0.1, "m": Decimal("12.34"),
    "ch": "ab   ", "vc": "", "vfree": "free text", "tx": "clef 𝄞 and 😀",
    "by": b"\x00\x01\xff\x00",
    "ts": datetime(1899, 12, 31, 23, 59, 59, 123456),
    "ts3": datetime(2024, 2, 29, 12, 0, 0, 500000),
    "tstz": datetime(2024, 3, 9, 19, 32, 3, 654321),
    "d": date(1, 1, 1), "t": time(23, 59, 59, 999999), "ttz": time(8, 0), "iv": "1 year 2 mons 3 days 04:05:06.789",
    "b": "true", "bits": "1010", "vbits": "101",
    "e": "happy", "ip": "192.168.0.1/24", "net": "10.0.0.0/8", "mac": "08:00:2b:01:02:03",
    "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "j": '{"b": 1,  "a": [1, 2]}', "jb": '{"a": [1, 2], "b": 1}', "ints": "{1,NULL,3}", "texts": '{"a b",c}',
    "pt": "(1,2)", "rng": "[1,5)", "dom": Decimal("12.50"), "comp": '(1,"a b")',
}


@pytest.fixture
def typed_db(pg_database):
    url = pg_database()
    run_sql(url, *TYPES_SQL)
    return url


def _read_all(url: str, table: str = "every_type", **extra: str) -> dict[int, dict]:
    engine = engine_for(url, **extra)
    [source] = [t for t in engine.list_tables() if t.name == table]
    plan = identity_plan(source, engine, source_engine="postgres")
    rows = {}
    for batch in engine.read(plan, None, fmt=RowFormat.PYTHON, batch_rows=100):
        for row in batch.data:
            values = dict(zip(plan.read_columns, row, strict=True))
            rows[values["id"]] = values
    return rows


@pytest.mark.live
def test_it_reads_every_type_as_its_canonical_value(typed_db):
    row = _read_all(typed_db)[1]
    for name, expected in EXPECTED_ROW_1.items():
        assert row[name] == expected, name
        assert type(row[name]) is type(expected), name


@pytest.mark.live
def test_it_keeps_empty_strings_apart_from_null_and_converts_to_utc(typed_db):
    row = _read_all(typed_db)[2]
    assert row["vc"] is None
    assert row["b"] == "false"
    assert row["d"] == date(1850, 6, 15)
    assert row["tstz"] == datetime(1970, 1, 1, 0, 59, 59)
    assert row["ch"] is None
    assert _read_all(typed_db)[1]["vc"] == ""


@pytest.mark.live
def test_it_maps_the_catalog_types_as_dms_does(typed_db):
    engine = engine_for(typed_db)
    [table] = engine.list_tables()
    types = {c.name: c.dms_type for c in table.columns}
    assert types["n38"] == DmsType(T.NUMERIC, precision=38, scale=10)
    assert types["nfree"] == DmsType(T.NUMERIC)
    assert types["nwide"] == DmsType(T.STRING, length=53)
    assert types["vfree"] == DmsType(T.WSTRING, length=8000)
    assert types["ch"] == DmsType(T.WSTRING, length=5)
    assert types["ts3"] == DmsType(T.DATETIME, scale=3)
    assert types["b"] == DmsType(T.STRING, length=5)
    assert types["bits"] == DmsType(T.STRING, length=4)
    assert types["e"] == DmsType(T.STRING, length=64)
    assert types["ints"] == DmsType(T.NCLOB)
    assert types["comp"] == DmsType(T.NCLOB)
    assert types["dom"] == DmsType(T.NUMERIC, precision=6, scale=2)
    assert types["jb"] == DmsType(T.NCLOB)
    assert types["m"] == DmsType(T.NUMERIC, precision=38, scale=4)


@pytest.mark.live
def test_it_reads_booleans_as_booleans_and_documents_as_clob_when_asked(typed_db):
    engine = engine_for(typed_db, mapBooleanAsBoolean="Y", mapJsonbAsClob="true")
    [table] = engine.list_tables()
    types = {c.name: c.dms_type for c in table.columns}
    assert types["b"] == DmsType(T.BOOLEAN)
    assert types["jb"] == DmsType(T.CLOB)
    rows = _read_all(typed_db, mapBooleanAsBoolean="Y")
    assert rows[1]["b"] is True
    assert rows[2]["b"] is False


@pytest.mark.live
def test_it_refuses_infinite_dates_with_a_data_error(pg_database):
    url = pg_database()
    run_sql(url, "CREATE TABLE forever (id integer PRIMARY KEY, d date)",
            "INSERT INTO forever VALUES (1, 'infinity')")
    with pytest.raises(EngineError) as caught:
        _read_all(url, "forever")
    assert caught.value.kind is ErrorKind.DATA
    assert "reading table public.forever" in caught.value.message
    assert "infinity" in caught.value.message


def test_it_cuts_utf8_only_between_characters():
    from endpoints.engines.postgres.values import cut_utf8

    text = "a😀b".encode()  # 1 + 4 + 1 bytes
    assert cut_utf8(text, 6) == text
    assert cut_utf8(text, 5) == "a😀".encode()
    assert cut_utf8(text, 4) == b"a"
    assert cut_utf8(text, 1) == b"a"
    assert cut_utf8(text, 0) == b""


def test_it_unescapes_and_escapes_copy_text_fields():
    from endpoints.engines.postgres.values import copy_escape, copy_unescape

    field = b"a\\tb\\\\n\\nc\\r"
    assert copy_unescape(field) == b"a\tb\\n\nc\r"
    assert copy_escape(b"a\tb\\n\nc\r") == field
