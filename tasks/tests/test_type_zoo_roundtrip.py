"""Full load of a "type zoo" between every pair of engines: each value arrives as the mapped value.

One zoo table per source engine holds the edge values of issue 3 (unsigned 64-bit integers,
DECIMAL(65,30), microsecond timestamps, time zones, dates before 1900, MySQL zero dates,
tinyint(1), bit(n), enum/set, json/jsonb, uuid, arrays, binary with NUL bytes, 4-byte UTF-8,
empty string versus NULL). The expected target values are written out here by hand from the
mapping tables in docs/type-mapping.md, never computed by the code under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from ipaddress import IPv4Interface
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg
import pymysql
import pytest

from endpoints.engines.conninfo import ConnectionInfo

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.live

PG_ZOO = r"""
CREATE SCHEMA zoo; CREATE TYPE zoo.mood AS ENUM ('happy', 'sad');
CREATE TABLE zoo.z (id int PRIMARY KEY, big numeric(20,0), dec numeric(38,10), free numeric, ts timestamp(6),
  tstz timestamptz, d date, t time(6), b boolean, j json, jb jsonb, u uuid, arr int[], bytes bytea, txt text,
  vc varchar(20), bits bit(10), mood zoo.mood, ip inet, r real, f double precision, sm smallint, iv interval);
INSERT INTO zoo.z VALUES
 (1, 18446744073709551615, 1234567890123456789012345678.1234567891, 3.14159265358979, '1899-12-31 23:59:59.123456',
  '2024-03-10 02:30:00.000001+05', '1800-06-15', '23:59:59.999999', true, '{"a": [1, 2, "é😀"]}', '{"b": 1, "a": 2}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,2,3}', '\x00ff00', E'𝄞😀 tab\there', '', B'1010101010', 'sad',
  '192.168.0.1/24', 1.5, 1.7976931348623157e308, -32768, '1 year 2 mons 3 days 04:05:06'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL)
"""

MY_ZOO = [
    "SET SESSION sql_mode = ''",  # the zero date must get in, as it does on old MySQL servers
    """CREATE TABLE z (id int PRIMARY KEY, ubig bigint unsigned, dec1 decimal(65,30), dt datetime(6),
       ts timestamp(6) NULL, zd date, tiny tinyint(1), bits bit(12), b1 bit(1), en enum('a','b'), st set('x','y','z'),
       js json, bin varbinary(10), txt text, vc varchar(20), tm time, yr year, fl double, fl4 float,
       mi mediumint unsigned)""",
    """INSERT INTO z VALUES (1, 18446744073709551615,
       '12345678901234567890123456789012345.123456789012345678901234567890', '1850-01-02 03:04:05.678901',
       '2024-01-01 00:00:00.500000', '0000-00-00', 1, b'101010101010', b'1', 'b', 'x,z', '{"k": "v"}', x'00ff00',
       '𝄞😀 tab\there', '', '-838:59:59', 2024, 1.7976931348623157e308, 1.5, 16777215)""",
    "INSERT INTO z (id) VALUES (2)",
]

PG_ROW = (
    1, Decimal("18446744073709551615"), Decimal("1234567890123456789012345678.1234567891"), Decimal("3.14159265358979"),
    datetime(1899, 12, 31, 23, 59, 59, 123456), datetime(2024, 3, 9, 21, 30, 0, 1, tzinfo=ZoneInfo("Etc/UTC")),
    date(1800, 6, 15), time(23, 59, 59, 999999), True, {"a": [1, 2, "é😀"]}, {"a": 2, "b": 1},
    UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), [1, 2, 3], b"\x00\xff\x00", "𝄞😀 tab\there", "", "1010101010",
    "sad", IPv4Interface("192.168.0.1/24"), 1.5, 1.7976931348623157e308, -32768, timedelta(days=428, seconds=14706),
)

EXPECTED = {
    # PostgreSQL keeps its own types (user-defined types become character varying, as DMS does).
    ("postgres", "postgres"): [PG_ROW,
                               (2, None, None, None, None, None, None, None, False) + (None,) * 14],
    # DMS types into MySQL: boolean as 'true'/'false' (no mapBooleanAsBoolean), json/array/text as text, uuid,
    # bit(n), enum, inet and interval as their text, timestamptz in UTC, numeric without precision DECIMAL(65,30).
    ("postgres", "mysql"): [
        (1, Decimal("18446744073709551615"), Decimal("1234567890123456789012345678.1234567891"),
         Decimal("3.141592653589790000000000000000"), datetime(1899, 12, 31, 23, 59, 59, 123456),
         datetime(2024, 3, 9, 21, 30, 0, 1), date(1800, 6, 15), timedelta(seconds=86399, microseconds=999999), "true",
         '{"a": [1, 2, "é😀"]}', '{"a": 2, "b": 1}', "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{1,2,3}",
         b"\x00\xff\x00", "𝄞😀 tab\there", "", "1010101010", "sad", "192.168.0.1/24", 1.5, 1.7976931348623157e308,
         -32768, "1 year 2 mons 3 days 04:05:06"),
        (2, None, None, None, None, None, None, None, "false") + (None,) * 14],
    # MySQL into PostgreSQL: unsigned bigint in numeric(20,0), zero date as NULL, tinyint(1) a number,
    # bit(12) as bytes, bit(1) as boolean, enum/set/json/time as text, year as smallint.
    ("mysql", "postgres"): [
        (1, Decimal("18446744073709551615"),
         Decimal("12345678901234567890123456789012345.123456789012345678901234567890"),
         datetime(1850, 1, 2, 3, 4, 5, 678901), datetime(2024, 1, 1, 0, 0, 0, 500000), None, 1, b"\x0a\xaa", True,
         "b", "x,z", '{"k": "v"}', b"\x00\xff\x00", "𝄞😀 tab\there", "", "-838:59:59", 2024, 1.7976931348623157e308,
         1.5, 16777215),
        (2,) + (None,) * 19],
    # MySQL keeps its own types; only the zero date changes (to NULL, counted and logged).
    ("mysql", "mysql"): [
        (1, 18446744073709551615, Decimal("12345678901234567890123456789012345.123456789012345678901234567890"),
         datetime(1850, 1, 2, 3, 4, 5, 678901), datetime(2024, 1, 1, 0, 0, 0, 500000), None, 1, b"\x0a\xaa", b"\x01",
         "b", "x,z", '{"k": "v"}', b"\x00\xff\x00", "𝄞😀 tab\there", "", timedelta(days=-35, seconds=3601), 2024,
         1.7976931348623157e308, 1.5, 16777215),
        (2,) + (None,) * 19],
}

PAIRS = list(EXPECTED)


def mysql_connection(url: str):
    info = ConnectionInfo.from_url(url)
    return pymysql.connect(host=info.host, port=info.port, user=info.username, password=info.password,
                           database=info.database, charset="utf8mb4", autocommit=True)


def create_zoo(kind: str, url: str) -> str:
    if kind == "postgres":
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(PG_ZOO)
        return "zoo"
    conn = mysql_connection(url)
    try:
        for statement in MY_ZOO:
            conn.cursor().execute(statement)
    finally:
        conn.close()
    return ConnectionInfo.from_url(url).database


def target_rows(kind: str, url: str, schema: str) -> list[tuple]:
    if kind == "postgres":
        with psycopg.connect(url) as conn:
            return conn.execute(f'SELECT * FROM "{schema}".z ORDER BY id').fetchall()
    conn = mysql_connection(url)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT * FROM z ORDER BY id")
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        conn.close()


@pytest.mark.parametrize(("source_kind", "target_kind"), PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
def test_it_carries_every_edge_value_to_its_mapped_value(source_kind, target_kind, pg_database, mysql_database,
                                                         tmp_path):
    source = pg_database() if source_kind == "postgres" else mysql_database()
    target = pg_database() if target_kind == "postgres" else mysql_database()
    schema = create_zoo(source_kind, source)
    settings = {}
    if target_kind == "mysql":
        settings = {"TargetMetadata": {"TargetSchema": ConnectionInfo.from_url(target).database}}
    mappings = {"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "zoo",
                           "object-locator": {"schema-name": schema, "table-name": "%"}, "rule-action": "include"}]}
    (tmp_path / "m.json").write_text(json.dumps(mappings))
    (tmp_path / "s.json").write_text(json.dumps(settings))
    result = subprocess.run([sys.executable, "-m", "tasks.engine", "run", "--source", source, "--target", target,
                             "--table-mappings", str(tmp_path / "m.json"), "--task-settings", str(tmp_path / "s.json"),
                             "--threads"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    if source_kind == "mysql":
        assert "1 zero date value(s) were loaded as NULL" in result.stdout
    rows = target_rows(target_kind, target, schema if target_kind == "postgres" else "")
    expected = EXPECTED[(source_kind, target_kind)]
    for got, want in zip(rows, expected, strict=True):
        for index, (value, wanted) in enumerate(zip(got, want, strict=True)):
            assert value == wanted and type(value) is type(wanted), (index, value, wanted)
