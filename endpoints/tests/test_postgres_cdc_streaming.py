"""PostgreSQL 14+ streams a transaction that outgrows logical_decoding_work_mem while it is in progress:
the stream hands it over as numbered pieces, aborted subtransactions as ranges, and its end."""

from __future__ import annotations

import pickle
import time

import psycopg
import pytest

from endpoints.engines.base import StreamEvent, StreamKind, Transaction
from endpoints.engines.errors import EngineError
from endpoints.engines.postgres.capture import decoding_work_mem_kb
from endpoints.tests.postgres_support import engine_for, fetch, run_sql
from endpoints.tests.test_postgres_cdc import TASK, streaming, tables

pytestmark = pytest.mark.live


@pytest.fixture
def source(pg_database):
    url = pg_database()
    run_sql(url, "CREATE TABLE items (id integer PRIMARY KEY, name text)")
    yield url
    engine_for(url).end_capture(TASK)


def events_until(stream, done, timeout: float = 30.0) -> list:
    """What the stream hands over until `done(events)` holds."""
    events: list = []
    deadline = time.monotonic() + timeout
    while not done(events):
        seen = [(type(e).__name__, getattr(e, "kind", "")) for e in events]
        assert time.monotonic() < deadline, f"incomplete: {seen}"
        event = stream.read(0.3)
        if event is not None:
            events.append(event)
    return events


def ended(events) -> bool:
    return any(type(e) is StreamEvent and e.kind != StreamKind.PIECE and e.discard is None for e in events)


def kept_ids(pieces: list[StreamEvent], discards: list[tuple[int, int]]) -> list[int]:
    return [change.after[0] for piece in pieces for number, change in enumerate(piece.changes, piece.first)
            if not any(start <= number < end for start, end in discards)]


def test_a_large_transaction_arrives_before_its_commit_with_smaller_ones_in_commit_order(source):
    engine = engine_for(source, logicalDecodingWorkMem="64")
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        with psycopg.connect(source) as big, psycopg.connect(source, autocommit=True) as small:
            big.execute("INSERT INTO items SELECT g, 'big' FROM generate_series(1, 3000) g")
            early = events_until(stream, lambda ev: len(ev) >= 2)  # before the big one commits
            small.execute("INSERT INTO items VALUES (100001, 'small')")
            big.execute("UPDATE items SET name = 'bigger' WHERE id <= 10")
            big.commit()
        events = early + events_until(stream, ended)
    assert all(type(e) is StreamEvent and e.kind == StreamKind.PIECE for e in early)
    pieces = [e for e in events if type(e) is StreamEvent and e.kind == StreamKind.PIECE]
    assert [p.first for p in pieces] == [sum(len(q.changes) for q in pieces[:i]) for i in range(len(pieces))]
    assert kept_ids(pieces, []) == [*range(1, 3001), *range(1, 11)]
    assert not any(p.subtransactions for p in pieces)
    small_txn = next(e for e in events if isinstance(e, Transaction))
    commit = events[-1]
    assert commit.kind == StreamKind.COMMIT and commit.xid == pieces[0].xid
    assert commit.order == engine.position_key(commit.position) and commit.order > small_txn.order
    assert events.index(small_txn) < len(events) - 1
    spooled = pickle.loads(pickle.dumps(pieces[1]))
    assert (spooled.kind, spooled.xid, spooled.first, [c.after for c in spooled.changes]) == (
        pieces[1].kind, pieces[1].xid, pieces[1].first, [c.after for c in pieces[1].changes])


def test_an_aborted_large_transaction_ends_with_an_abort(source):
    engine = engine_for(source, logicalDecodingWorkMem="64")
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        with psycopg.connect(source) as big:
            big.execute("INSERT INTO items SELECT g, 'gone' FROM generate_series(1, 3000) g")
            events_until(stream, lambda ev: len(ev) >= 1)
            big.rollback()
        events = events_until(stream, ended)
    assert events[-1].kind == StreamKind.ABORT and events[-1].discard is None


def test_an_aborted_subtransaction_voids_exactly_its_changes(source):
    engine = engine_for(source, logicalDecodingWorkMem="64")
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        with psycopg.connect(source) as big:
            big.execute("INSERT INTO items SELECT g, 'top' FROM generate_series(1, 2000) g")
            big.execute("SAVEPOINT a")
            big.execute("INSERT INTO items SELECT g, 'kept' FROM generate_series(2001, 2500) g")
            big.execute("RELEASE SAVEPOINT a")
            big.execute("SAVEPOINT b")
            big.execute("INSERT INTO items SELECT g, 'void' FROM generate_series(3001, 5000) g")
            big.execute("SAVEPOINT c")
            big.execute("INSERT INTO items SELECT g, 'void too' FROM generate_series(5001, 5500) g")
            big.execute("ROLLBACK TO SAVEPOINT b")
            big.execute("INSERT INTO items SELECT g, 'after' FROM generate_series(6001, 7000) g")
            big.commit()
        events = events_until(stream, ended)
    pieces = [e for e in events if e.kind == StreamKind.PIECE]
    discards = [e.discard for e in events if e.kind == StreamKind.ABORT]
    assert discards and events[-1].kind == StreamKind.COMMIT
    assert any(p.subtransactions for p in pieces)
    assert kept_ids(pieces, discards) == [r[0] for r in fetch(source, "SELECT id FROM items ORDER BY id")]
    assert kept_ids(pieces, discards) == [*range(1, 2501), *range(6001, 7001)]


def test_it_asks_for_the_decoding_memory_the_endpoint_sets(source):
    assert decoding_work_mem_kb(engine_for(source).conn) is None  # the server's own setting
    assert decoding_work_mem_kb(engine_for(source, logicalDecodingWorkMem="128").conn) == 128
    for bad, says in (("lots", "not a whole number"), ("10", "minimum of 64")):
        with pytest.raises(EngineError, match=says):
            decoding_work_mem_kb(engine_for(source, logicalDecodingWorkMem=bad).conn)


@pytest.mark.parametrize(("work_mem", "streams"), [(None, False), ("128", True)])
def test_a_transaction_streams_only_once_it_outgrows_that_memory(source, work_mem, streams):
    engine = engine_for(source, **({"logicalDecodingWorkMem": work_mem} if work_mem else {}))
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        with psycopg.connect(source) as big:
            big.execute("INSERT INTO items SELECT g, 'n' FROM generate_series(1, 3000) g")  # ~400 kB decoded
            deadline, early = time.monotonic() + 2, []
            while time.monotonic() < deadline and not early:
                event = stream.read(0.3)
                if event is not None:
                    early.append(event)
            big.commit()
    assert bool(early) is streams
