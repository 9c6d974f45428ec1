"""change-data-type conversions: exact, or a clear error; never approximate."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from endpoints.engines.types import DmsType, T
from tasks.engine.conversion import ConversionError, converter


def conv(value, source, target):
    return converter(source, target)(value)


S = DmsType(T.STRING, length=50)


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        ("42", S, DmsType(T.INT4), 42),
        (" -7 ", S, DmsType(T.INT2), -7),
        ("18446744073709551615", S, DmsType(T.UINT8), 18446744073709551615),
        (Decimal("12.00"), DmsType(T.NUMERIC, precision=12, scale=2), DmsType(T.INT8), 12),
        ("3.14159", S, DmsType(T.NUMERIC, precision=6, scale=5), Decimal("3.14159")),
        (12, DmsType(T.INT4), DmsType(T.NUMERIC, precision=10, scale=2), Decimal("12.00")),
        (0.1, DmsType(T.REAL8), DmsType(T.NUMERIC, precision=5, scale=1), Decimal("0.1")),
        ("2024:02:29", S, DmsType(T.DATE), date(2024, 2, 29)),
        ("1899-12-31", S, DmsType(T.DATE), date(1899, 12, 31)),
        ("2024-02-29 23:59:58.123456", S, DmsType(T.DATETIME, scale=6), datetime(2024, 2, 29, 23, 59, 58, 123456)),
        ("2024:02:29 01:02:03", S, DmsType(T.DATETIME), datetime(2024, 2, 29, 1, 2, 3)),
        ("13:45:07", S, DmsType(T.TIME), time(13, 45, 7)),
        ("t", S, DmsType(T.BOOLEAN), True),
        ("false", S, DmsType(T.BOOLEAN), False),
        (True, DmsType(T.BOOLEAN), DmsType(T.STRING, length=5), "true"),
        (datetime(2020, 1, 2, 3, 4, 5, 6), DmsType(T.DATETIME, scale=6), DmsType(T.WSTRING, length=40),
         "2020-01-02 03:04:05.000006"),
        (Decimal("-0.50"), DmsType(T.NUMERIC, precision=4, scale=2), DmsType(T.STRING, length=10), "-0.50"),
        ("héllo 🙂", DmsType(T.NCLOB), DmsType(T.BLOB), "héllo 🙂".encode()),
        (b"\x00abc", DmsType(T.BYTES, length=4), DmsType(T.BLOB), b"\x00abc"),
        ("2.5", S, DmsType(T.REAL8), 2.5),
    ],
)
def test_it_converts_values_exactly(value, source, target, expected):
    assert conv(value, source, target) == expected


@pytest.mark.parametrize(
    ("value", "source", "target", "message"),
    [
        ("1.5", S, DmsType(T.INT4), "has a fraction"),
        (2.5, DmsType(T.REAL8), DmsType(T.INT8), "has a fraction"),
        ("70000", S, DmsType(T.INT2), "outside the range of INT2"),
        (-1, DmsType(T.INT4), DmsType(T.UINT4), "outside the range of UINT4"),
        ("12345.6", S, DmsType(T.NUMERIC, precision=5, scale=1), "does not fit NUMERIC(5,1)"),
        ("1.25", S, DmsType(T.NUMERIC, precision=5, scale=1), "more than 1 decimal places"),
        ("31/12/2024", S, DmsType(T.DATE), "is not a date"),
        ("maybe", S, DmsType(T.BOOLEAN), "is not a boolean"),
        ("x" * 11, S, DmsType(T.STRING, length=10), "is longer than STRING(10)"),
        ("abc", S, DmsType(T.INT4), "cannot convert 'abc' from STRING(50) to INT4"),
    ],
)
def test_it_refuses_what_cannot_convert_exactly(value, source, target, message):
    with pytest.raises(ConversionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        conv(value, source, target)


def test_it_passes_null_through():
    assert conv(None, S, DmsType(T.INT4)) is None
