"""Reading MySQL tables: DMS filters, key-range segments, splitting, LOB limits, snapshot positions."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from endpoints.engines.base import RowFormat
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.mysql import MySQLEngine
from endpoints.engines.mysql.where import segment_clause, where_clause
from endpoints.engines.plan import ColumnFilter, FilterCondition, FilterOp, LobMode, LobSettings, Segment, identity_plan

from .mysql_helpers import plan_for, read_all, run

# ---- SQL text, no database -----------------------------------------------------------------------


def test_it_writes_segment_bounds_as_index_friendly_comparisons():
    clause = segment_clause(Segment(0, ("a", "b"), lower=(1, "x"), upper=(5, "y")))
    assert clause.text == ("(`a` > %s OR (`a` = %s AND (`b` > %s))) AND "
                           "(`a` < %s OR (`a` = %s AND (`b` <= %s)))")
    assert clause.params == [1, 1, "x", 5, 5, "y"]


def test_it_passes_filter_values_as_parameters():
    hostile = "1' OR '1'='1"
    clause = where_clause((ColumnFilter("name", (FilterCondition(FilterOp.EQ, value=hostile),)),), None)
    assert clause.text == " WHERE ((`name` = %s))"
    assert clause.params == [hostile]


def test_it_reads_timestamp_filter_values_in_the_server_time_zone():
    clause = where_clause((ColumnFilter("ts", (FilterCondition(FilterOp.GTE, value="2024-01-01"),)),), None,
                          timestamp_columns=frozenset({"ts"}), server_timezone="+02:00")
    assert clause.text == " WHERE ((`ts` >= CONVERT_TZ(%s, %s, '+00:00')))"
    assert clause.params == ["2024-01-01", "+02:00"]


# ---- live ------------------------------------------------------------------------------------------


@pytest.fixture
def numbers(mysql_database):
    """n: 1..20 with k = n, grp = n % 3 and NULL k for n in (19, 20)."""
    url = mysql_database()
    values = ", ".join(f"({n}, {'NULL' if n > 18 else n}, {n % 3}, 'v{n}')" for n in range(1, 21))
    run(url, "CREATE TABLE nums (n int PRIMARY KEY, k int NULL, grp int NOT NULL, label varchar(10))",
        f"INSERT INTO nums VALUES {values}")
    return url


def _ids(url, plan, segment=None, **kwargs) -> list[int]:
    return sorted(row[0] for batch in read_all(url, plan, segment=segment, **kwargs) for row in batch.data)


def _filtered(url, *filters: ColumnFilter):
    return dataclasses.replace(plan_for(url, "nums"), filters=filters)


def _cond(op: FilterOp, value=None, start=None, end=None) -> FilterCondition:
    return FilterCondition(op, value=value, start=start, end=end)


@pytest.mark.live
@pytest.mark.parametrize(("condition", "expected"), [
    (_cond(FilterOp.EQ, "5"), [5]),
    (_cond(FilterOp.NOTEQ, "5"), [n for n in range(1, 19) if n != 5]),
    (_cond(FilterOp.LTE, "3"), [1, 2, 3]),
    (_cond(FilterOp.STE, "3"), [1, 2, 3]),
    (_cond(FilterOp.GTE, "17"), [17, 18]),
    (_cond(FilterOp.BETWEEN, start="4", end="6"), [4, 5, 6]),
    (_cond(FilterOp.NOTBETWEEN, start="2", end="17"), [1, 18]),
    (_cond(FilterOp.NULL), [19, 20]),
    (_cond(FilterOp.NOTNULL), list(range(1, 19))),
])
def test_it_applies_each_dms_filter_operator(numbers, condition, expected):
    assert _ids(numbers, _filtered(numbers, ColumnFilter("k", (condition,)))) == expected


@pytest.mark.live
def test_it_ors_conditions_of_one_column_and_ands_columns(numbers):
    plan = _filtered(numbers,
                     ColumnFilter("k", (_cond(FilterOp.LTE, "4"), _cond(FilterOp.GTE, "15"), _cond(FilterOp.NULL))),
                     ColumnFilter("grp", (_cond(FilterOp.EQ, "1"),)))
    assert _ids(numbers, plan) == [1, 4, 16, 19]


@pytest.mark.live
def test_it_reads_a_segment_between_its_bounds(numbers):
    plan = plan_for(numbers, "nums")
    assert _ids(numbers, plan, Segment(0, ("n",), lower=(5,), upper=(8,))) == [6, 7, 8]
    assert _ids(numbers, plan, Segment(0, ("n",), upper=(2,))) == [1, 2]
    assert _ids(numbers, plan, Segment(0, ("n",), lower=(18,))) == [19, 20]


@pytest.mark.live
def test_it_adds_rows_with_null_key_columns_when_asked(numbers):
    plan = plan_for(numbers, "nums")
    assert _ids(numbers, plan, Segment(0, ("k",), lower=(16,))) == [17, 18]
    assert _ids(numbers, plan, Segment(0, ("k",), lower=(16,), include_nulls=True)) == [17, 18, 19, 20]


@pytest.mark.live
def test_it_compares_composite_bounds_as_tuples(numbers):
    plan = plan_for(numbers, "nums")
    segment = Segment(0, ("grp", "n"), lower=(0, 15), upper=(1, 4))
    assert _ids(numbers, plan, segment) == [1, 4, 18]  # (0,18) (1,1) (1,4)


@pytest.mark.live
def test_it_applies_filters_and_segment_together(numbers):
    plan = _filtered(numbers, ColumnFilter("grp", (_cond(FilterOp.EQ, "0"),)))
    assert _ids(numbers, plan, Segment(0, ("n",), lower=(3,), upper=(12,))) == [6, 9, 12]


@pytest.mark.live
def test_it_streams_in_batches_of_the_asked_size(numbers):
    batches = read_all(numbers, plan_for(numbers, "nums"), batch_rows=8)
    assert [b.rows for b in batches] == [8, 8, 4]
    assert [len(b.data) for b in batches] == [8, 8, 4]


@pytest.mark.live
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("fmt", [RowFormat.PYTHON, RowFormat.PG_COPY_TEXT])
def test_it_lets_a_reader_stop_halfway(numbers, fmt):
    import gc

    batches = MySQLEngine(ConnectionInfo.from_url(numbers)).read(plan_for(numbers, "nums"), None, fmt=fmt,
                                                                 batch_rows=5)
    assert next(batches).rows == 5
    batches.close()  # the loader failed: the rest of the table is never read
    gc.collect()
    assert _ids(numbers, plan_for(numbers, "nums")) == list(range(1, 21))


@pytest.mark.live
def test_it_splits_an_integer_key_covering_every_row_once(numbers):
    engine = MySQLEngine(ConnectionInfo.from_url(numbers))
    plan = plan_for(numbers, "nums")
    segments = engine.split(plan, 4)
    assert [(s.lower, s.upper) for s in segments] == [(None, (5,)), ((5,), (10,)), ((10,), (15,)), ((15,), None)]
    seen = [n for s in segments for n in _ids(numbers, plan, s)]
    assert sorted(seen) == list(range(1, 21))


@pytest.mark.live
def test_it_splits_a_text_key_by_sampling(mysql_database):
    url = mysql_database()
    run(url, "CREATE TABLE words (w varchar(10) NOT NULL, n int NOT NULL, PRIMARY KEY (w, n))",
        "INSERT INTO words SELECT CONCAT('w', LPAD(seq, 4, '0')), seq % 7 FROM seq_1_to_3000")
    engine = MySQLEngine(ConnectionInfo.from_url(url))
    plan = plan_for(url, "words")
    segments = engine.split(plan, 3)
    assert len(segments) == 3
    assert segments[0].lower is None and segments[-1].upper is None
    sizes = [sum(b.rows for b in read_all(url, plan, segment=s)) for s in segments]
    assert sum(sizes) == 3000
    assert min(sizes) > 500  # similar sizes, not one segment with everything
    words = sorted(r[0] for s in segments for b in read_all(url, plan, segment=s) for r in b.data)
    assert words == [f"w{n:04d}" for n in range(1, 3001)]


@pytest.mark.live
def test_it_cannot_split_without_a_key(mysql_database):
    url = mysql_database()
    run(url, "CREATE TABLE heap (x int)", "INSERT INTO heap VALUES (1), (2), (3)")
    assert MySQLEngine(ConnectionInfo.from_url(url)).split(plan_for(url, "heap"), 4) == ()


@pytest.mark.live
def test_it_reads_one_partition(mysql_database):
    url = mysql_database()
    run(url, "CREATE TABLE parts (id int PRIMARY KEY) PARTITION BY RANGE (id)"
             " (PARTITION p_low VALUES LESS THAN (3), PARTITION p_high VALUES LESS THAN MAXVALUE)",
        "INSERT INTO parts VALUES (1), (2), (3), (4), (5)")
    plan = plan_for(url, "parts")
    assert _ids(url, plan, Segment(0, (), partition="p_high")) == [3, 4, 5]


@pytest.mark.live
def test_it_puts_the_snapshot_binlog_position_on_the_first_batch(numbers):
    batches = read_all(numbers, plan_for(numbers, "nums"), batch_rows=8)
    first = batches[0].snapshot_position
    name, _, offset = first.rpartition(":")
    assert name and offset.isdigit()
    assert [b.snapshot_position for b in batches[1:]] == [None, None]
    with MySQLEngine(ConnectionInfo.from_url(numbers)).open_snapshot() as snapshot:
        assert snapshot.token is None
        engine = MySQLEngine(ConnectionInfo.from_url(numbers))
        assert engine.position_key(snapshot.position) >= engine.position_key(first)


@pytest.mark.live
def test_it_filters_timestamps_in_the_server_time_zone(mysql_database):
    url = mysql_database()
    run(url, "SET time_zone = '+00:00'", "CREATE TABLE ev (id int PRIMARY KEY, at timestamp NULL)",
        "INSERT INTO ev VALUES (1, '2024-01-01 09:00:00'), (2, '2024-01-01 11:00:00')")
    zoned = url + "?serverTimezone=%2B02:00"
    table = next(t for t in MySQLEngine(ConnectionInfo.from_url(zoned)).list_tables([ConnectionInfo.from_url(url)
                                                                                     .database]))
    plan = dataclasses.replace(identity_plan(table, MySQLEngine(ConnectionInfo.from_url(url))),
                               filters=(ColumnFilter("at", (_cond(FilterOp.GTE, "2024-01-01 12:00:00"),)),))
    rows = [r for b in read_all(zoned, plan) for r in b.data]
    assert rows == [(2, datetime(2024, 1, 1, 11, 0))]  # 12:00 at +02:00 is 10:00 UTC; values stay UTC


# ---- LOB limited mode ------------------------------------------------------------------------------------

@pytest.fixture
def lobs(mysql_database):
    url = mysql_database()
    run(url, "CREATE TABLE docs (id int PRIMARY KEY, body longtext, data longblob, title text)",
        "INSERT INTO docs VALUES (1, REPEAT('a', 10), REPEAT('x', 10), REPEAT('t', 30)),"
        " (2, CONCAT(REPEAT('b', 9), '\u00e9\u00e9'), REPEAT('y', 30), 'short'),"
        " (3, REPEAT('\U0001F600', 5), NULL, NULL), (4, 'tiny', 'z', 'tab\there')")
    return url


def _limited(url, max_bytes=12):
    return plan_for(url, "docs", lob=LobSettings(LobMode.LIMITED, max_bytes=max_bytes))


EXPECTED_CUT = {
    1: (1, "a" * 10, b"x" * 10, "t" * 30),  # TEXT is WSTRING, not a LOB: never cut
    2: (2, "b" * 9 + "\u00e9", b"y" * 12, "short"),  # 9 + 2 bytes fit 12; the second é would pass
    3: (3, "\U0001F600" * 3, None, None),  # 3 emoji are 12 bytes
    4: (4, "tiny", b"z", "tab\there"),
}


@pytest.mark.live
def test_it_cuts_lobs_at_a_character_boundary_and_counts_them(lobs):
    batches = read_all(lobs, _limited(lobs))
    assert {r[0]: r for b in batches for r in b.data} == EXPECTED_CUT
    assert sum(b.notes.get("lob_truncated", 0) for b in batches) == 3


@pytest.mark.live
def test_it_carries_lobs_whole_in_full_mode(lobs):
    plan = plan_for(lobs, "docs", lob=LobSettings(LobMode.FULL, max_bytes=12))
    batches = read_all(lobs, plan)
    rows = {r[0]: r for b in batches for r in b.data}
    assert rows[3][1] == "\U0001F600" * 5 and rows[2][2] == b"y" * 30
    assert all("lob_truncated" not in b.notes for b in batches)


@pytest.mark.live
def test_it_cuts_and_counts_lobs_the_same_on_the_copy_path(lobs, pg_database):
    import psycopg

    batches = read_all(lobs, _limited(lobs), fmt=RowFormat.PG_COPY_TEXT)
    assert sum(b.notes.get("lob_truncated", 0) for b in batches) == 3
    with psycopg.connect(pg_database(), autocommit=True) as conn:
        conn.execute("CREATE TABLE docs (id int, body text, data bytea, title text)")
        with conn.cursor() as cursor, cursor.copy("COPY docs FROM STDIN") as copy:
            for batch in batches:
                copy.write(batch.data)
        rows = {r[0]: r for r in conn.execute("SELECT * FROM docs").fetchall()}
    assert rows == EXPECTED_CUT
