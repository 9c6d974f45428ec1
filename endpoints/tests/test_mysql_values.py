"""Every MySQL type family read as canonical Python values, and as COPY text PostgreSQL accepts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import psycopg
import pytest

from endpoints.engines.base import RowFormat

from .mysql_helpers import ZOO_DDL, ZOO_INSERTS, plan_for, read_all, run

pytestmark = pytest.mark.live

COLUMNS = ("id u64 i8 tf u8 i16 mi mu i32 u32 i64 dec65 dec12 f d b1 b10 dt dtm ts tm tm2 y c vc tt tx mt lt "
           "bn vb bl lb j e s").split()

EXTREMES = {
    "id": 1, "u64": 18446744073709551615, "i8": -128, "tf": 1, "u8": 255, "i16": -32768, "mi": -8388608,
    "mu": 16777215, "i32": -2147483648, "u32": 4294967295, "i64": -9223372036854775808,
    "dec65": Decimal("12345678901234567890123456789012345.123456789012345678901234567890"),
    "dec12": Decimal("-9999999999.99"), "f": 1.5, "d": 0.1,
    "b1": True, "b10": b"\x02\x01",
    "dt": date(99, 12, 31), "dtm": datetime(1899, 12, 31, 23, 59, 59, 999999),
    "ts": datetime(2024, 6, 1, 10, 0, 0, 250000),  # inserted at +02:00, read in UTC
    "tm": "-838:59:59", "tm2": "12:34:56.78", "y": 2155,
    "c": "ab", "vc": "\U0001F600 emoji", "tt": "", "tx": "tab\there\nnew\\end", "mt": "medium", "lt": "long",
    "bn": b"\x00\x01\x02\x00", "vb": b"\x00\xff\x00", "bl": b"", "lb": b"\xde\xad\xbe\xef",
    "j": '{"a": [1, 2]}', "e": "bbb", "s": "x,yy",
}


@pytest.fixture
def zoo(mysql_database):
    url = mysql_database()
    run(url, ZOO_DDL, *ZOO_INSERTS)
    return url


def _rows_by_id(batches) -> dict[int, dict]:
    rows = [row for batch in batches for row in batch.data]
    return {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in rows}


def test_it_reads_every_type_as_its_canonical_value(zoo):
    plan = plan_for(zoo, "zoo")
    assert plan.read_columns == tuple(COLUMNS)
    rows = _rows_by_id(read_all(zoo, plan))
    assert rows[1] == EXTREMES
    for name in COLUMNS:  # exact types too: True is not 1, '' is not None
        assert type(rows[1][name]) is type(EXTREMES[name]), name


def test_it_keeps_null_apart_from_empty_values(zoo):
    rows = _rows_by_id(read_all(zoo, plan_for(zoo, "zoo")))
    assert rows[2] == {name: (2 if name == "id" else None) for name in COLUMNS}
    assert rows[1]["tt"] == "" and rows[1]["bl"] == b""


def test_it_reads_zero_dates_as_null_and_counts_them(zoo):
    batches = read_all(zoo, plan_for(zoo, "zoo"))
    rows = _rows_by_id(batches)
    assert (rows[3]["dt"], rows[3]["dtm"], rows[3]["ts"]) == (None, None, None)
    assert sum(b.notes.get("zero_dates", 0) for b in batches) == 3


def test_it_puts_the_counts_on_the_last_batch(zoo):
    # The server counts while it streams, so the count is known once the result ends.
    short_last = read_all(zoo, plan_for(zoo, "zoo"), batch_rows=2)
    assert [(b.rows, b.notes) for b in short_last] == [(2, {}), (1, {"zero_dates": 3})]
    full_last = read_all(zoo, plan_for(zoo, "zoo"), batch_rows=1)
    assert [(b.rows, b.notes) for b in full_last] == [(1, {}), (1, {}), (1, {}), (0, {"zero_dates": 3})]
    assert full_last[-1].data == []


# ---- PostgreSQL COPY text -----------------------------------------------------------------------

PG_ZOO = """CREATE TABLE zoo (
  id int PRIMARY KEY, u64 numeric(20), i8 smallint, tf smallint, u8 smallint, i16 smallint, mi int, mu bigint,
  i32 int, u32 bigint, i64 bigint, dec65 numeric(65,30), dec12 numeric(12,2), f float8, d float8,
  b1 boolean, b10 bytea, dt date, dtm timestamp(6), ts timestamp(6), tm varchar(10), tm2 varchar(13), y smallint,
  c varchar(3), vc varchar(20), tt varchar(255), tx text, mt text, lt text,
  bn bytea, vb bytea, bl bytea, lb bytea, j text, e varchar(3), s varchar(4))"""


def _copy_into_postgres(pg_url: str, batches) -> dict[int, dict]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(PG_ZOO)
        with conn.cursor() as cursor, cursor.copy("COPY zoo FROM STDIN") as copy:
            for batch in batches:
                copy.write(batch.data)
        rows = conn.execute("SELECT * FROM zoo ORDER BY id").fetchall()
    return {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in rows}


def test_it_offers_copy_text_for_passthrough_plans(zoo):
    from endpoints.engines.conninfo import ConnectionInfo
    from endpoints.engines.mysql import MySQLEngine

    engine = MySQLEngine(ConnectionInfo.from_url(zoo))
    assert engine.source_formats(plan_for(zoo, "zoo")) == (RowFormat.PG_COPY_TEXT, RowFormat.MYSQL_LOAD_TEXT,
                                                           RowFormat.PYTHON)


def test_it_writes_copy_lines_postgresql_loads_with_the_same_values(zoo, pg_database):
    batches = read_all(zoo, plan_for(zoo, "zoo"), fmt=RowFormat.PG_COPY_TEXT, batch_rows=2)
    assert [b.format for b in batches] == [RowFormat.PG_COPY_TEXT] * 2
    assert [b.rows for b in batches] == [2, 1]
    rows = _copy_into_postgres(pg_database(), batches)
    expected = dict(EXTREMES, tf=1, u64=Decimal(18446744073709551615), b1=True)
    assert rows[1] == expected
    assert rows[2] == {name: (2 if name == "id" else None) for name in COLUMNS}
    assert (rows[3]["dt"], rows[3]["dtm"], rows[3]["ts"]) == (None, None, None)


def test_it_counts_zero_dates_on_the_copy_path(zoo):
    batches = read_all(zoo, plan_for(zoo, "zoo"), fmt=RowFormat.PG_COPY_TEXT, batch_rows=2)
    assert [b.notes for b in batches] == [{}, {"zero_dates": 3}]


def test_it_sends_copy_counts_alone_after_a_full_last_batch(zoo):
    batches = read_all(zoo, plan_for(zoo, "zoo"), fmt=RowFormat.PG_COPY_TEXT, batch_rows=3)
    assert [(b.rows, b.notes) for b in batches] == [(3, {}), (0, {"zero_dates": 3})]
    assert batches[1].data == b""


def test_it_escapes_every_copy_special_character(mysql_database, pg_database):
    url = mysql_database()
    nasty = "back\\slash\ttab\nnewline\rreturn \\N \\. end"
    run(url, "CREATE TABLE t (id int PRIMARY KEY, v varchar(100), b varbinary(10))",
        ("INSERT INTO t VALUES (1, %s, X'5C0A09'), (2, '\\\\.', NULL), (3, '\\\\N', X'')", (nasty,)))
    batches = read_all(url, plan_for(url, "t"), fmt=RowFormat.PG_COPY_TEXT)
    with psycopg.connect(pg_database(), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int, v text, b bytea)")
        with conn.cursor() as cursor, cursor.copy("COPY t FROM STDIN") as copy:
            for batch in batches:
                copy.write(batch.data)
        rows = conn.execute("SELECT id, v, b FROM t ORDER BY id").fetchall()
    assert rows == [(1, nasty, b"\\\n\t"), (2, "\\.", None), (3, "\\N", b"")]



def test_it_converts_other_character_sets_to_utf8_on_the_copy_path(mysql_database):
    from endpoints.engines.plan import LobMode, LobSettings

    url = mysql_database()
    run(url, "CREATE TABLE l1 (id int PRIMARY KEY, name varchar(10) CHARACTER SET latin1,"
             " body longtext CHARACTER SET latin1) DEFAULT CHARSET=utf8mb4",
        ("INSERT INTO l1 VALUES (1, %s, %s)", ("caf\u00e9\t", "\u00e9" * 5)))
    plan = plan_for(url, "l1", lob=LobSettings(LobMode.LIMITED, max_bytes=7))
    batches = read_all(url, plan, fmt=RowFormat.PG_COPY_TEXT)
    assert batches[0].data == "1\tcaf\u00e9\\t\t\u00e9\u00e9\u00e9\n".encode()  # 7 bytes of UTF-8 hold 3 é
    assert batches[0].notes == {"lob_truncated": 1}
    python = read_all(url, plan)
    assert python[0].data == [(1, "caf\u00e9\t", "\u00e9" * 3)]
    assert python[0].notes == {"lob_truncated": 1}


def test_it_reads_floats_exactly_although_mysql_prints_six_digits(mysql_database, pg_database):
    url = mysql_database()
    run(url, "CREATE TABLE fl (id int PRIMARY KEY, f float, d2 double(10,2), d double)",
        "INSERT INTO fl VALUES (1, 16777216, 1.25, 0.1), (2, 3.14159274, NULL, 1e300)")
    expected = [(1, 16777216.0, 1.25, 0.1), (2, 3.1415927410125732, None, 1e300)]
    assert [r for b in read_all(url, plan_for(url, "fl")) for r in b.data] == expected
    batches = read_all(url, plan_for(url, "fl"), fmt=RowFormat.PG_COPY_TEXT)
    with psycopg.connect(pg_database(), autocommit=True) as conn:
        conn.execute("CREATE TABLE fl (id int, f float8, d2 float8, d float8)")
        with conn.cursor() as cursor, cursor.copy("COPY fl FROM STDIN") as copy:
            for batch in batches:
                copy.write(batch.data)
        assert conn.execute("SELECT * FROM fl ORDER BY id").fetchall() == expected
