"""A relation's own tuple decoder (the capture's path for new images) against the general decoder.

tuple_decoder must give exactly what read_tuple followed by the tuple converter gives, and
step aside (None, or the converter's error) wherever the general path would do something else.
"""

from __future__ import annotations

import struct
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from endpoints.engines.postgres.pgoutput import read_tuple
from endpoints.engines.postgres.relations import tuple_converter, tuple_decoder

TOAST = object()  # stands for an unchanged TOAST value in tuple_data


def tuple_data(values: list) -> bytes:
    """TupleData: None as 'n', TOAST as 'u', bytes as binary ('b'), anything else as text ('t')."""
    out = struct.pack("!H", len(values))
    for value in values:
        if value is None:
            out += b"n"
        elif value is TOAST:
            out += b"u"
        elif isinstance(value, bytes):
            out += b"b" + struct.pack("!I", len(value)) + value
        else:
            text = str(value).encode()
            out += b"t" + struct.pack("!I", len(text)) + text
    return out


CONVERTERS = (int, None, Decimal, None)


def general(buf: bytes, pos: int, converters=CONVERTERS) -> tuple:
    values, end = read_tuple(buf, pos)
    assert end == len(buf)
    convert = tuple_converter(converters)
    return convert(values) if convert is not None else values


ROW = st.tuples(st.integers(-2**40, 2**40) | st.none(),
                st.text() | st.none(),
                st.decimals(allow_nan=False, allow_infinity=False, places=3) | st.none(),
                st.text(alphabet=st.characters(codec="utf-8")) | st.none())


@given(ROW)
def test_it_decodes_text_and_nulls_as_the_general_path_does(row):
    buf = b"U\x00\x00\x00\x05N" + tuple_data(list(row))
    decoded = tuple_decoder(CONVERTERS)(buf, 6)
    assert decoded == general(buf, 6)
    assert [type(v) for v in decoded] == [type(v) for v in general(buf, 6)]


@pytest.mark.parametrize("values", [
    [1, TOAST, Decimal(1), "x"],  # an unchanged TOAST value: the general path keeps UNCHANGED
    [1, b"\x00\x01", Decimal(1), "x"],  # a binary value
    [1, "a", Decimal(1)],  # fewer columns than the relation has
    [1, "a", Decimal(1), "x", "extra"],  # more
])
def test_it_steps_aside_for_what_only_the_general_path_knows(values):
    assert tuple_decoder(CONVERTERS)(tuple_data(values), 0) is None


def test_it_steps_aside_when_the_tuple_does_not_end_the_message():
    buf = tuple_data([1, "a", Decimal(1), "x"])
    assert tuple_decoder(CONVERTERS)(buf + b"?", 0) is None
    assert tuple_decoder(CONVERTERS)(buf[:-1], 0) is None  # cut short: the last value is incomplete


def test_a_value_its_converter_refuses_raises_as_in_the_general_path():
    buf = tuple_data(["not a number", "a", Decimal(1), "x"])
    with pytest.raises(ValueError):
        tuple_decoder(CONVERTERS)(buf, 0)
    with pytest.raises(ValueError):
        general(buf, 0)


def test_a_relation_of_text_columns_only_and_one_without_columns():
    assert tuple_decoder((None, None))(tuple_data(["a", None]), 0) == ("a", None)
    assert tuple_decoder(())(tuple_data([]), 0) == ()
