"""The pgoutput decoder on hand-built messages (protocol version 1), each with its decoded values written out."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from endpoints.engines.base import UNCHANGED
from endpoints.engines.postgres.lsn import format_lsn, is_lsn, parse_lsn
from endpoints.engines.postgres.pgoutput import (
    Begin,
    Column,
    Commit,
    DecodeError,
    Delete,
    Insert,
    LogicalMessage,
    Origin,
    RelationMessage,
    Truncate,
    TypeMessage,
    Update,
    begin_fields,
    commit_fields,
    decode,
)

# 2024-05-06 07:08:09.123456 UTC is 768294489123456 microseconds after 2000-01-01: 0x0002BAC2801B6A80.
COMMIT_TIME = "0002bac2801b6a80"


def msg(*parts: str | bytes) -> bytes:
    """Concatenate hex strings and raw bytes (names and text values are easier to read as bytes)."""
    return b"".join(bytes.fromhex(p) if isinstance(p, str) else p for p in parts)


def test_it_decodes_begin():
    data = msg(b"B", "00000016b374d848", COMMIT_TIME, "000003e9")
    assert decode(data) == Begin(final_lsn=0x16B374D848, commit_time=datetime(2024, 5, 6, 7, 8, 9, 123456), xid=1001)


def test_it_decodes_a_commit_time_before_the_postgres_epoch():
    data = msg(b"B", "0000000000000001", "fffffffffff0bdc0", "00000001")
    assert decode(data).commit_time == datetime(1999, 12, 31, 23, 59, 59)


def test_it_decodes_commit():
    data = msg(b"C", "00", "00000016b374d848", "00000016b374d878", COMMIT_TIME)
    assert decode(data) == Commit(commit_lsn=0x16B374D848, end_lsn=0x16B374D878,
                                  commit_time=datetime(2024, 5, 6, 7, 8, 9, 123456), flags=0)


def test_the_fast_begin_and_commit_paths_read_the_same_fields():
    begin = msg(b"B", "00000016b374d848", COMMIT_TIME, "000003e9")
    commit = msg(b"C", "00", "00000016b374d848", "00000016b374d878", COMMIT_TIME)
    assert begin_fields(begin) == (0x16B374D848, 0x0002BAC2801B6A80, 1001)
    assert commit_fields(commit) == (0x16B374D848, 0x16B374D878)


@pytest.mark.parametrize("fast", [begin_fields, commit_fields])
def test_the_fast_paths_refuse_a_truncated_message(fast):
    with pytest.raises(DecodeError, match="malformed"):
        fast(msg(b"B" if fast is begin_fields else b"C", "00000016"))


def test_it_decodes_origin():
    data = msg(b"O", "0000000100000020", b"node_a\x00")
    assert decode(data) == Origin(lsn=0x100000020, name="node_a")


def test_it_decodes_relation_with_key_flags_and_type_modifiers():
    data = msg(b"R", "00004001", b"app\x00", b"orders\x00", b"d", "0003",
               "01", b"id\x00", "00000014", "ffffffff",  # bigint, key
               "00", b"status\x00", "00000413", "00000018",  # varchar(20): typmod 20 + 4
               "00", b"amount\x00", "000006a4", "000c0006")  # numeric(12,2): ((12 << 16) | 2) + 4
    assert decode(data) == RelationMessage(
        relid=0x4001, schema="app", table="orders", replica_identity="d",
        columns=(Column("id", 20, -1, True), Column("status", 1043, 24, False),
                 Column("amount", 1700, 0x000C0006, False)))


def test_it_reads_an_empty_namespace_as_pg_catalog():
    data = msg(b"R", "00000001", b"\x00", b"t\x00", b"f", "0000")
    assert decode(data) == RelationMessage(relid=1, schema="pg_catalog", table="t", replica_identity="f", columns=())


def test_it_decodes_type():
    data = msg(b"Y", "00008002", b"public\x00", b"mood\x00")
    assert decode(data) == TypeMessage(type_oid=0x8002, schema="public", name="mood")


def test_it_decodes_insert_with_text_null_and_utf8_values():
    data = msg(b"I", "00004001", b"N", "0004",
               b"t", "00000002", b"42",
               b"n",
               b"t", "00000000",  # an empty string, not NULL
               b"t", "00000009", "636c656620f09d849e")  # 'clef 𝄞': 4-byte UTF-8
    assert decode(data) == Insert(relid=0x4001, new=("42", None, "", "clef 𝄞"))


def test_it_decodes_unchanged_toast_as_unchanged_never_a_placeholder():
    data = msg(b"U", "00004001", b"N", "0003", b"t", "00000001", b"7", b"u", b"t", "00000004", b"paid")
    decoded = decode(data)
    assert decoded == Update(relid=0x4001, new=("7", UNCHANGED, "paid"))
    assert decoded.new[1] is UNCHANGED


def test_it_decodes_update_without_old_tuple():
    data = msg(b"U", "00004001", b"N", "0002", b"t", "00000001", b"1", b"t", "00000001", b"x")
    assert decode(data) == Update(relid=0x4001, new=("1", "x"), old=None, old_kind=None)


def test_it_decodes_update_with_old_key():
    data = msg(b"U", "00004001",
               b"K", "0002", b"t", "00000001", b"1", b"n",
               b"N", "0002", b"t", "00000001", b"2", b"t", "00000001", b"x")
    assert decode(data) == Update(relid=0x4001, new=("2", "x"), old=("1", None), old_kind="K")


def test_it_decodes_update_with_old_tuple():
    data = msg(b"U", "00004001",
               b"O", "0002", b"t", "00000001", b"1", b"t", "00000003", b"old",
               b"N", "0002", b"t", "00000001", b"1", b"t", "00000003", b"new")
    assert decode(data) == Update(relid=0x4001, new=("1", "new"), old=("1", "old"), old_kind="O")


def test_it_decodes_delete_with_old_key():
    data = msg(b"D", "00004001", b"K", "0002", b"t", "00000002", b"99", b"n")
    assert decode(data) == Delete(relid=0x4001, old=("99", None), old_kind="K")


def test_it_decodes_delete_with_old_tuple():
    data = msg(b"D", "00004001", b"O", "0002", b"t", "00000002", b"99", b"t", "00000001", b"z")
    assert decode(data) == Delete(relid=0x4001, old=("99", "z"), old_kind="O")


@pytest.mark.parametrize(("flags", "cascade", "restart"), [
    ("00", False, False), ("01", True, False), ("02", False, True), ("03", True, True),
])
def test_it_decodes_truncate_with_its_options(flags, cascade, restart):
    data = msg(b"T", "00000002", flags, "00004001", "00004002")
    assert decode(data) == Truncate(relids=(0x4001, 0x4002), cascade=cascade, restart_identity=restart)


def test_it_decodes_a_transactional_logical_message():
    data = msg(b"M", "01", "000000024a1e7eb8", b"dms-heartbeat\x00", "00000002", b"hi")
    assert decode(data) == LogicalMessage(transactional=True, lsn=0x24A1E7EB8, prefix="dms-heartbeat", content=b"hi")


def test_it_decodes_a_binary_tuple_value_as_bytes():
    data = msg(b"I", "00000001", b"N", "0001", b"b", "00000004", "0000002a")
    assert decode(data) == Insert(relid=1, new=(b"\x00\x00\x00\x2a",))


def test_it_decodes_a_message_captured_from_postgresql_15():
    # An UPDATE of (id integer, ts timestamptz, b boolean) as the walsender sent it (session TimeZone=UTC).
    data = msg(b"U", "000071f1", b"N", "0003", b"t", "00000001", b"1",
               b"t", "00000016", b"2024-01-01 10:00:00+00", b"t", "00000001", b"f")
    assert decode(data) == Update(relid=0x71F1, new=("1", "2024-01-01 10:00:00+00", "f"))


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "empty message"),
    (b"Z\x00", "unknown message type 'Z'"),
    (msg(b"B", "0000"), "malformed 'B' message"),
    (msg(b"I", "00000001", b"X"), "expected 'N' before the new tuple"),
    (msg(b"I", "00000001", b"N", "0001", b"t", "00000010", b"short"), "run past the end"),
    (msg(b"I", "00000001", b"N", "0001", b"q"), "unknown tuple value kind 'q'"),
    (msg(b"U", "00000001", b"K", "0000", b"X"), "expected 'N' before the new tuple"),
    (msg(b"D", "00000001", b"N", "0000"), "expected 'K' or 'O'"),
    (msg(b"R", "00000001", b"no terminator"), "malformed 'R' message"),
])
def test_it_refuses_malformed_messages(data, problem):
    with pytest.raises(DecodeError, match=problem):
        decode(data)


@pytest.mark.parametrize(("text", "value"), [
    ("0/0", 0), ("16/B374D848", 0x16B374D848), ("4af/b00000d0", 0x4AFB00000D0), ("FFFFFFFF/FFFFFFFF", 2**64 - 1),
])
def test_it_parses_and_prints_lsns(text, value):
    assert parse_lsn(text) == value
    assert format_lsn(value) == text.upper()
    assert is_lsn(text)


@pytest.mark.parametrize("text", ["", "16", "16/", "/1", "G/1", "1/2/3", "123456789/0", "2024-01-01",
                                  "\u0661/2", "1_0/2", "+1/2", "1/-2"])
def test_it_refuses_text_that_is_not_an_lsn(text):
    assert not is_lsn(text)
    with pytest.raises(Exception, match="is not a PostgreSQL log position"):
        parse_lsn(text)


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_an_lsn_survives_printing_and_parsing(value):
    assert parse_lsn(format_lsn(value)) == value
    assert parse_lsn(format_lsn(value).lower()) == value
