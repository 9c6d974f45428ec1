"""PostgreSQL text output (as pgoutput sends it) to canonical values, per column type; no database needed."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from endpoints.engines.postgres.textvalues import ValueProblem, text_converter
from endpoints.engines.postgres.typemap import ColumnType
from endpoints.engines.types import DmsType, T


def convert(base: str, dms: DmsType, text: str):
    converter = text_converter(ColumnType(base_name=base), dms)
    return text if converter is None else converter(text)


@pytest.mark.parametrize(("base", "dms", "text", "expected"), [
    ("smallint", DmsType(T.INT2), "-32768", -32768),
    ("bigint", DmsType(T.INT8), "9223372036854775807", 9223372036854775807),
    ("numeric", DmsType(T.NUMERIC, precision=12, scale=2), "-1234.50", Decimal("-1234.50")),
    ("numeric", DmsType(T.NUMERIC), "-Infinity", Decimal("-Infinity")),
    ("numeric", DmsType(T.STRING, length=53), "123456789012345678901234567890123456789012345.12345",
     "123456789012345678901234567890123456789012345.12345"),
    ("money", DmsType(T.NUMERIC, precision=38, scale=4), "$1,234.50", Decimal("1234.50")),
    ("money", DmsType(T.NUMERIC, precision=38, scale=4), "-$92,233,720,368,547,758.08",
     Decimal("-92233720368547758.08")),
    ("real", DmsType(T.REAL4), "1.5", 1.5),
    ("double precision", DmsType(T.REAL8), "0.1", 0.1),
    ("double precision", DmsType(T.REAL8), "-Infinity", float("-inf")),
    ("boolean", DmsType(T.STRING, length=5), "t", "true"),
    ("boolean", DmsType(T.STRING, length=5), "f", "false"),
    ("boolean", DmsType(T.BOOLEAN), "t", True),
    ("boolean", DmsType(T.BOOLEAN), "f", False),
    ("inet", DmsType(T.STRING, length=50), "192.168.0.1", "192.168.0.1/32"),
    ("inet", DmsType(T.STRING, length=50), "192.168.0.1/24", "192.168.0.1/24"),
    ("inet", DmsType(T.STRING, length=50), "::1", "::1/128"),
    ("cidr", DmsType(T.STRING, length=50), "10.0.0.0/8", "10.0.0.0/8"),
    ("character", DmsType(T.WSTRING, length=5), "ab   ", "ab   "),
    ("text", DmsType(T.NCLOB), "clef 𝄞 and 😀", "clef 𝄞 and 😀"),
    ("jsonb", DmsType(T.NCLOB), '{"a": [1, 2], "b": 1}', '{"a": [1, 2], "b": 1}'),
    ("bytea", DmsType(T.BLOB), "\\x0001ff00", b"\x00\x01\xff\x00"),
    ("bytea", DmsType(T.BLOB), "\\x", b""),
    ("date", DmsType(T.DATE), "0001-01-01", date(1, 1, 1)),
    ("date", DmsType(T.DATE), "2024-02-29", date(2024, 2, 29)),
    ("time without time zone", DmsType(T.TIME, scale=6), "23:59:59.999999", time(23, 59, 59, 999999)),
    ("time with time zone", DmsType(T.TIME, scale=6), "10:00:00+02", time(8, 0)),
    ("time with time zone", DmsType(T.TIME, scale=6), "01:30:00.5+05:30", time(20, 0, 0, 500000)),
    ("time with time zone", DmsType(T.TIME, scale=6), "23:00:00-03:30:15", time(2, 30, 15)),
    ("timestamp without time zone", DmsType(T.DATETIME, scale=6), "1899-12-31 23:59:59.123456",
     datetime(1899, 12, 31, 23, 59, 59, 123456)),
    ("timestamp without time zone", DmsType(T.DATETIME, scale=3), "2024-02-29 12:00:00.5",
     datetime(2024, 2, 29, 12, 0, 0, 500000)),
    ("timestamp with time zone", DmsType(T.DATETIME, scale=6), "2024-03-09 19:32:03.654321+00",
     datetime(2024, 3, 9, 19, 32, 3, 654321)),
    ("timestamp with time zone", DmsType(T.DATETIME, scale=6), "1970-01-01 00:59:59+00",
     datetime(1970, 1, 1, 0, 59, 59)),
    ("timestamp with time zone", DmsType(T.DATETIME, scale=6), "2024-01-01 12:00:00+02",
     datetime(2024, 1, 1, 10, 0)),
    ("interval", DmsType(T.STRING, length=128), "1 year 2 mons 3 days 04:05:06.789",
     "1 year 2 mons 3 days 04:05:06.789"),
])
def test_it_converts_text_output_to_the_canonical_value(base, dms, text, expected):
    value = convert(base, dms, text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(("base", "dms", "text"), [
    ("date", DmsType(T.DATE), "infinity"),
    ("date", DmsType(T.DATE), "0044-03-15 BC"),
    ("date", DmsType(T.DATE), "10000-01-01"),
    ("timestamp without time zone", DmsType(T.DATETIME, scale=6), "-infinity"),
    ("timestamp with time zone", DmsType(T.DATETIME, scale=6), "infinity"),
    ("time without time zone", DmsType(T.TIME, scale=6), "24:00:00"),
    ("numeric", DmsType(T.NUMERIC, precision=10, scale=2), "12,5"),
    ("bytea", DmsType(T.BLOB), "\\001"),
])
def test_it_refuses_values_without_a_canonical_form(base, dms, text):
    with pytest.raises(ValueProblem):
        convert(base, dms, text)


def test_it_keeps_the_text_of_types_it_cannot_map():
    assert text_converter(ColumnType(base_name="public.geometry", builtin=False), None) is None
