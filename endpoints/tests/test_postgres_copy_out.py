"""COPY TO STDOUT taken off libpq in blocks: whole lines, exact counts, server errors raised, the
session left ready for the next statement."""

from __future__ import annotations

import psycopg
import pytest

from endpoints.engines.postgres.copy_out import copy_out_blocks

pytestmark = pytest.mark.live


@pytest.fixture
def conn(pg_database):
    with psycopg.connect(pg_database()) as connection:
        yield connection


def _lines(n: int) -> bytes:
    return b"".join(f"{i}\tvalue {i}\n".encode() for i in range(1, n + 1))


def test_it_yields_every_line_once_in_blocks_of_whole_lines(conn):
    statement = b"COPY (SELECT g, 'value ' || g FROM generate_series(1, 2500) g) TO STDOUT"
    blocks = list(copy_out_blocks(conn, statement, 1000))
    assert [rows for _, rows in blocks] == [1000, 1000, 500]
    assert all(data.endswith(b"\n") and data.count(b"\n") == rows for data, rows in blocks)
    assert b"".join(data for data, _ in blocks) == _lines(2500)
    assert conn.execute("SELECT 41 + 1").fetchone() == (42,)  # the protocol was read to its end


def test_it_yields_nothing_for_an_empty_result(conn):
    assert list(copy_out_blocks(conn, b"COPY (SELECT 1 WHERE false) TO STDOUT", 10)) == []
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_it_raises_the_servers_error_when_the_copy_fails_midway(conn):
    statement = b"COPY (SELECT 1 / (g - 1500) FROM generate_series(1, 3000) g) TO STDOUT"
    received = 0
    with pytest.raises(psycopg.errors.DivisionByZero):
        for _, rows in copy_out_blocks(conn, statement, 100):
            received += rows
    assert 0 < received < 1500


def test_it_raises_the_servers_error_for_a_statement_that_cannot_start(conn):
    with pytest.raises(psycopg.errors.UndefinedTable) as caught:
        list(copy_out_blocks(conn, b"COPY (SELECT * FROM no_such_table) TO STDOUT", 10))
    assert caught.value.sqlstate == "42P01"


def test_it_refuses_a_statement_that_is_not_a_copy_out(conn):
    with pytest.raises(psycopg.errors.InternalError, match="TUPLES_OK"):
        list(copy_out_blocks(conn, b"SELECT 1", 10))


def test_it_hands_only_lines_longer_than_the_limit_to_the_callback(conn):
    statement = b"COPY (SELECT g, repeat('x', g * 4) FROM generate_series(1, 6) g) TO STDOUT"
    seen = []

    def shorten(line: bytes) -> bytes:
        seen.append(line)
        return line[:3] + b"\n"

    data = b"".join(d for d, _ in copy_out_blocks(conn, statement, 10, long_line=15, on_long_line=shorten))
    assert [line.split(b"\t")[0] for line in seen] == [b"4", b"5", b"6"]  # lines of 19, 23 and 27 bytes
    assert data.split(b"\n")[:6] == [b"1\txxxx", b"2\txxxxxxxx", b"3\txxxxxxxxxxxx", b"4\tx", b"5\tx", b"6\tx"]
