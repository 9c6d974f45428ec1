"""PostgreSQL full-load reads: DMS filters, segments and split, snapshots, LOB limits, COPY text batches."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

import pytest

from endpoints.engines.base import RowFormat
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.plan import (
    ColumnFilter,
    FilterCondition,
    FilterOp,
    LobMode,
    LobSettings,
    Segment,
    identity_plan,
)
from endpoints.tests.postgres_support import engine_for, run_sql


def _plan(url: str, table: str, **changes):
    engine = engine_for(url, **{k: v for k, v in changes.pop("extra", {}).items()})
    [source] = [t for t in engine.list_tables() if t.name == table]
    return engine, replace(identity_plan(source, engine, source_engine="postgres"), **changes)


def _ids(engine, plan, segment=None, fmt=RowFormat.PYTHON) -> list:
    out = []
    for batch in engine.read(plan, segment, fmt=fmt, batch_rows=7):
        out.extend(row[0] for row in batch.data)
    return sorted(out, key=lambda v: (v is None, v))


def _where(column: str, *conditions: FilterCondition) -> ColumnFilter:
    return ColumnFilter(column, conditions)


@pytest.fixture
def numbers_db(pg_database):
    url = pg_database()
    run_sql(url, "CREATE TABLE numbers (id integer PRIMARY KEY, v integer, s text, d date)",
            "INSERT INTO numbers SELECT g, CASE WHEN g = 10 THEN NULL ELSE g END, chr(96 + g), "
            "DATE '2024-01-01' + g FROM generate_series(1, 10) g")
    return url


FILTER_CASES = [
    ((_where("v", FilterCondition(FilterOp.EQ, value="3")),), [3]),
    ((_where("v", FilterCondition(FilterOp.NOTEQ, value="3")),), [1, 2, 4, 5, 6, 7, 8, 9]),
    ((_where("v", FilterCondition(FilterOp.LTE, value="3")),), [1, 2, 3]),
    ((_where("v", FilterCondition(FilterOp.STE, value="2")),), [1, 2]),
    ((_where("v", FilterCondition(FilterOp.GTE, value="8")),), [8, 9]),
    ((_where("v", FilterCondition(FilterOp.BETWEEN, start="4", end="6")),), [4, 5, 6]),
    ((_where("v", FilterCondition(FilterOp.NOTBETWEEN, start="2", end="9")),), [1]),
    ((_where("v", FilterCondition(FilterOp.NULL)),), [10]),
    ((_where("v", FilterCondition(FilterOp.NOTNULL)),), [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ((_where("v", FilterCondition(FilterOp.EQ, value="1"), FilterCondition(FilterOp.EQ, value="9")),), [1, 9]),
    ((_where("v", FilterCondition(FilterOp.GTE, value="3")), _where("s", FilterCondition(FilterOp.LTE, value="d"))),
     [3, 4]),
    # compared as integers, not as text ('10' < '9' as text)
    ((_where("id", FilterCondition(FilterOp.GTE, value="9")),), [9, 10]),
    ((_where("d", FilterCondition(FilterOp.BETWEEN, start="2024-01-03", end="2024-01-04")),), [2, 3]),
    # a value that looks like SQL stays a value
    ((_where("s", FilterCondition(FilterOp.EQ, value="a' OR 'x'='x")),), []),
]


@pytest.mark.live
@pytest.mark.parametrize(("filters", "expected"), FILTER_CASES)
def test_it_applies_dms_filters(numbers_db, filters, expected):
    engine, plan = _plan(numbers_db, "numbers", filters=filters)
    assert _ids(engine, plan) == expected
    assert _copy_ids(engine, plan) == expected


def _copy_ids(engine, plan, segment=None) -> list[int]:
    data = b"".join(b.data for b in engine.read(plan, segment, fmt=RowFormat.PG_COPY_TEXT, batch_rows=3))
    return sorted(int(line.split(b"\t")[0]) for line in data.splitlines())


@pytest.mark.live
def test_it_applies_filters_in_copy_text_reads(numbers_db):
    engine, plan = _plan(numbers_db, "numbers",
                         filters=(_where("v", FilterCondition(FilterOp.BETWEEN, start="4", end="6")),))
    assert _copy_ids(engine, plan) == [4, 5, 6]


@pytest.mark.live
def test_it_reads_a_segment_between_its_bounds(numbers_db):
    engine, plan = _plan(numbers_db, "numbers")
    assert _ids(engine, plan, Segment(0, ("id",), lower=(3,), upper=(6,))) == [4, 5, 6]
    assert _ids(engine, plan, Segment(0, ("id",), upper=(2,))) == [1, 2]
    assert _ids(engine, plan, Segment(0, ("id",), lower=(8,))) == [9, 10]
    assert _copy_ids(engine, plan, Segment(0, ("id",), lower=(3,), upper=(6,))) == [4, 5, 6]


@pytest.mark.live
def test_copy_text_reads_bind_text_and_timestamp_bounds_exactly(pg_database):
    """COPY statements are sent with their values bound on the client: a quote, a backslash and a
    microsecond in segment bounds must reach the server unchanged (one text value: no collation)."""
    url = pg_database()
    run_sql(url, "CREATE TABLE names (k text, at timestamp, n integer, PRIMARY KEY (k, at))",
            "INSERT INTO names VALUES (E'O''Brien\\\\x', '2024-01-01 00:00:00', 1),"
            " (E'O''Brien\\\\x', '2024-01-01 00:00:00.000001', 2), (E'O''Brien\\\\x', '2024-06-30 12:00:00', 3),"
            " (E'O''Brien\\\\x', '2030-01-01 00:00:00', 4)")
    engine, plan = _plan(url, "names")
    key = "O'Brien\\x"
    segment = Segment(0, ("k", "at"), lower=(key, datetime(2024, 1, 1)), upper=(key, datetime(2024, 6, 30, 12)))
    data = b"".join(b.data for b in engine.read(plan, segment, fmt=RowFormat.PG_COPY_TEXT, batch_rows=2))
    assert data.splitlines() == [b"O'Brien\\\\x\t2024-01-01 00:00:00.000001\t2",
                                 b"O'Brien\\\\x\t2024-06-30 12:00:00\t3"]
    python = [row for b in engine.read(plan, segment, fmt=RowFormat.PYTHON, batch_rows=2) for row in b.data]
    assert [row[2] for row in python] == [2, 3] and python[0][0] == key


@pytest.mark.live
def test_it_compares_composite_bounds_as_tuples(pg_database):
    url = pg_database()
    run_sql(url, "CREATE TABLE grid (a integer, b integer, tag text, PRIMARY KEY (a, b))",
            "INSERT INTO grid VALUES (1, 1, 'a'), (1, 2, 'b'), (2, 1, 'c'), (2, 2, 'd')")
    engine, plan = _plan(url, "grid")
    segment = Segment(0, ("a", "b"), lower=(1, 1), upper=(2, 1))
    rows = [row for batch in engine.read(plan, segment, fmt=RowFormat.PYTHON, batch_rows=10) for row in batch.data]
    assert sorted(rows) == [(1, 2, "b"), (2, 1, "c")]


@pytest.fixture
def nullable_key_db(pg_database):
    url = pg_database()
    run_sql(url, "CREATE TABLE tagged (u integer UNIQUE, note text)",
            "INSERT INTO tagged SELECT g, 'n' || g FROM generate_series(1, 100) g",
            "INSERT INTO tagged VALUES (NULL, 'x'), (NULL, 'y')")
    return url


@pytest.mark.live
def test_it_adds_null_keys_only_to_the_segment_that_includes_them(nullable_key_db):
    engine, plan = _plan(nullable_key_db, "tagged", key=("u",), key_origin="unique-index")
    assert _ids(engine, plan, Segment(1, ("u",), lower=(97,), include_nulls=True)) == [98, 99, 100, None, None]
    assert _ids(engine, plan, Segment(0, ("u",), upper=(3,))) == [1, 2, 3]


@pytest.mark.live
def test_it_splits_a_nullable_key_covering_every_row_once(nullable_key_db):
    engine, plan = _plan(nullable_key_db, "tagged", key=("u",), key_origin="unique-index")
    segments = engine.split(plan, 4)
    assert len(segments) == 4
    seen = Counter(v for s in segments for v in _ids(engine, plan, s))
    assert seen[None] == 2
    assert sorted(v for v in seen if v is not None) == list(range(1, 101))
    assert all(count == 1 for v, count in seen.items() if v is not None)


@pytest.mark.live
def test_it_splits_an_integer_key_into_even_ranges(pg_database):
    url = pg_database()
    run_sql(url, "CREATE TABLE seq (id bigint PRIMARY KEY)",
            "INSERT INTO seq SELECT generate_series(1, 1000)")
    engine, plan = _plan(url, "seq")
    segments = engine.split(plan, 4)
    assert [(s.lower, s.upper) for s in segments] == [(None, (250,)), ((250,), (500,)), ((500,), (750,)),
                                                      ((750,), None)]
    assert [s.include_nulls for s in segments] == [False, False, False, True]
    counts = [len(_ids(engine, plan, s)) for s in segments]
    assert counts == [250, 250, 250, 250]


@pytest.mark.live
def test_it_splits_a_text_key_by_quantiles_covering_every_row_once(pg_database):
    url = pg_database()
    run_sql(url, "CREATE TABLE words (w text PRIMARY KEY, n integer)",
            "INSERT INTO words SELECT md5(g::text), g FROM generate_series(1, 1000) g",
            "ANALYZE words")
    engine, plan = _plan(url, "words")
    segments = engine.split(plan, 4)
    assert len(segments) == 4
    per_segment = [_ids(engine, plan, s) for s in segments]
    assert sorted(w for part in per_segment for w in part) == sorted(
        row[0] for batch in engine.read(plan, None, fmt=RowFormat.PYTHON, batch_rows=500) for row in batch.data)
    assert sum(len(p) for p in per_segment) == 1000
    assert all(200 <= len(p) <= 300 for p in per_segment), [len(p) for p in per_segment]


@pytest.mark.live
def test_it_cannot_split_a_table_without_key(pg_database):
    url = pg_database()
    run_sql(url, "CREATE TABLE loose (v integer)", "INSERT INTO loose SELECT generate_series(1, 10)")
    engine, plan = _plan(url, "loose")
    assert engine.split(plan, 4) == ()


@pytest.mark.live
def test_it_reads_inside_an_exported_snapshot(numbers_db):
    engine, plan = _plan(numbers_db, "numbers")
    with engine.open_snapshot() as snapshot:
        assert snapshot.token
        run_sql(numbers_db, "INSERT INTO numbers VALUES (11, 11, 'k', NULL)", "DELETE FROM numbers WHERE id = 1")
        seen = [row[0] for b in engine.read(plan, None, fmt=RowFormat.PYTHON, batch_rows=50,
                                            snapshot=snapshot.token) for row in b.data]
        copied = b"".join(b.data for b in engine.read(plan, None, fmt=RowFormat.PG_COPY_TEXT, batch_rows=50,
                                                       snapshot=snapshot.token))
    assert sorted(seen) == list(range(1, 11))
    assert sorted(int(line.split(b"\t")[0]) for line in copied.splitlines()) == list(range(1, 11))
    assert _ids(engine, plan) == list(range(2, 12))


@pytest.fixture
def lob_db(pg_database):
    url = pg_database()
    run_sql(url, "CREATE TABLE docs (id integer PRIMARY KEY, body text, data bytea, title character varying(50))",
            "INSERT INTO docs VALUES (1, 'short', '\\x0102', 'a title longer than nine bytes'),"
            " (2, repeat('é', 20), decode(repeat('ab', 50), 'hex'), 't'),"
            " (3, E'a\\tb\\\\c\\nd' || repeat('x', 20), NULL, NULL),"
            " (4, NULL, '\\x', '')")
    return url


@pytest.mark.live
def test_it_cuts_lobs_longer_than_the_limit_at_character_boundaries(lob_db):
    engine, plan = _plan(lob_db, "docs", lob=LobSettings(LobMode.LIMITED, max_bytes=9))
    batches = list(engine.read(plan, None, fmt=RowFormat.PYTHON, batch_rows=10))
    rows = sorted(row for b in batches for row in b.data)
    assert rows == [
        (1, "short", b"\x01\x02", "a title longer than nine bytes"),
        (2, "éééé", b"\xab" * 9, "t"),
        (3, "a\tb\\c\ndxx", None, None),
        (4, None, b"", ""),
    ]
    assert sum(b.notes.get("lob_truncated", 0) for b in batches) == 3


@pytest.mark.live
def test_it_cuts_lobs_in_copy_text_lines(lob_db):
    engine, plan = _plan(lob_db, "docs", lob=LobSettings(LobMode.LIMITED, max_bytes=9))
    batches = list(engine.read(plan, None, fmt=RowFormat.PG_COPY_TEXT, batch_rows=10))
    lines = sorted(b"".join(b.data for b in batches).splitlines(keepends=True))
    assert lines == [
        b"1\tshort\t\\\\x0102\ta title longer than nine bytes\n",
        "2\téééé\t\\\\xababababababababab\tt\n".encode(),
        b"3\ta\\tb\\\\c\\ndxx\t\\N\t\\N\n",
        b"4\t\\N\t\\\\x\t\n",
    ]
    assert sum(b.notes.get("lob_truncated", 0) for b in batches) == 3


@pytest.mark.live
def test_it_carries_whole_lobs_in_full_lob_mode(lob_db):
    engine, plan = _plan(lob_db, "docs", lob=LobSettings(LobMode.FULL, max_bytes=9))
    batches = list(engine.read(plan, None, fmt=RowFormat.PYTHON, batch_rows=10))
    rows = {row[0]: row for b in batches for row in b.data}
    assert rows[2][1] == "é" * 20
    assert rows[2][2] == b"\xab" * 50
    assert all(not b.notes for b in batches)


@pytest.mark.live
def test_it_fails_instead_of_cutting_when_the_endpoint_says_so(lob_db):
    engine, plan = _plan(lob_db, "docs", lob=LobSettings(LobMode.LIMITED, max_bytes=9),
                         extra={"failTasksOnLobTruncation": "Y"})
    for fmt in (RowFormat.PYTHON, RowFormat.PG_COPY_TEXT):
        with pytest.raises(EngineError) as caught:
            list(engine.read(plan, None, fmt=fmt, batch_rows=10))
        assert caught.value.kind is ErrorKind.DATA
        assert "failTasksOnLobTruncation" in caught.value.message


@pytest.mark.live
def test_it_reads_copy_text_in_target_column_order_and_whole_lines(pg_database):
    url = pg_database()
    run_sql(url, "CREATE TABLE mixed (id integer PRIMARY KEY, flag boolean, at timestamptz, doc jsonb)",
            "INSERT INTO mixed SELECT g, g % 2 = 0, TIMESTAMPTZ '2024-01-01 02:00:00+02' + g * interval '1 s', "
            "jsonb_build_object('n', g) FROM generate_series(1, 10) g")
    engine, plan = _plan(url, "mixed")
    plan = replace(plan, columns=tuple(reversed(plan.columns)))
    assert engine.source_formats(plan) == (RowFormat.PG_COPY_TEXT, RowFormat.PYTHON)
    batches = list(engine.read(plan, None, fmt=RowFormat.PG_COPY_TEXT, batch_rows=4))
    assert [b.rows for b in batches] == [4, 4, 2]
    assert all(b.data.endswith(b"\n") and b.data.count(b"\n") == b.rows for b in batches)
    assert batches[0].nbytes == len(batches[0].data)
    # same types on both sides: PostgreSQL's own text forms
    assert batches[0].data.splitlines()[0] == b'{"n": 1}\t2024-01-01 00:00:01+00\tf\t1'


@pytest.mark.live
def test_it_reads_canonical_copy_text_for_columns_whose_target_type_differs(pg_database):
    url = pg_database()
    run_sql(url, "CREATE TABLE mixed (id integer PRIMARY KEY, flag boolean, at timestamptz)",
            "INSERT INTO mixed VALUES (1, false, '2024-01-01 02:00:01+02')")
    engine, plan = _plan(url, "mixed")
    retyped = {"flag": "character varying(5)", "at": "timestamp without time zone"}
    plan = replace(plan, columns=tuple(replace(c, target_type=retyped.get(c.name, c.target_type))
                                       for c in plan.columns))
    data = b"".join(b.data for b in engine.read(plan, None, fmt=RowFormat.PG_COPY_TEXT, batch_rows=4))
    assert data == b"1\tfalse\t2024-01-01 00:00:01\n"


@pytest.mark.live
def test_it_offers_copy_text_only_for_passthrough_plans(numbers_db):
    engine, plan = _plan(numbers_db, "numbers")
    changed = replace(plan, columns=(replace(plan.columns[0], source=None, constant=1, added=True),
                                     *plan.columns[1:]))
    assert engine.source_formats(changed) == (RowFormat.PYTHON,)
