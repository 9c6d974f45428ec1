"""PostgreSQL change data capture on the real server: slots, publications, snapshots and the pgoutput stream."""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from endpoints.engines.base import TRANSACTION_PIECE, UNCHANGED, Op, Relation, Transaction
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.postgres import PostgresEngine
from endpoints.engines.postgres.lsn import parse_lsn
from endpoints.engines.postgres.replication import slot_name
from endpoints.tests.postgres_support import engine_for, fetch, run_sql
from endpoints.tests.test_postgres_values import EXPECTED_ROW_1, TYPES_SQL, _read_all

pytestmark = pytest.mark.live

TASK = "task-7"
ITEMS = "CREATE TABLE items (id integer PRIMARY KEY, name text, price numeric(8,2), seen timestamptz)"


# ---- helpers ----------------------------------------------------------------------------------

def tables(engine: PostgresEngine, *names: str):
    found = {t.name: t for t in engine.list_tables()}
    return [found[n] for n in names]


@contextmanager
def streaming(engine: PostgresEngine, selected, *, task: str = TASK, start: str | None = None,
              snapshot: bool = False) -> Iterator[tuple]:
    with engine.begin_capture(task, selected, start=start, with_snapshot=snapshot) as cap:
        stream = engine.open_stream(task, selected, start or cap.position)
        try:
            yield cap, stream
        finally:
            stream.close()


def collect(stream, complete: int, timeout: float = 30.0) -> list[Transaction]:
    """Pieces until `complete` whole transactions arrived."""
    pieces: list[Transaction] = []
    done = 0
    deadline = time.monotonic() + timeout
    while done < complete:
        txn = stream.read(0.5)
        if txn is None:
            assert time.monotonic() < deadline, f"only {done} of {complete} transactions arrived: {pieces}"
            continue
        pieces.append(txn)
        done += txn.complete
    return pieces


def nothing_more(stream, seconds: float = 1.5) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        txn = stream.read(0.3)
        assert txn is None, f"unexpected transaction {txn}"


def summary(pieces: list[Transaction]) -> list[list[tuple]]:
    """[(table, op, after or before)] per whole transaction."""
    out: list[list[tuple]] = []
    current: list[tuple] = []
    for txn in pieces:
        current += [(c.relation.table, c.op, c.after if c.after is not None else c.before) for c in txn.changes]
        if txn.complete:
            out.append(current)
            current = []
    return out


def slot_of(url: str, task: str = TASK) -> str:
    return slot_name(engine_for(url).conn, task)


def confirmed(url: str, slot: str) -> int:
    return parse_lsn(fetch(url, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
                           (slot,))[0][0])


def lsn(text: str) -> int:
    return parse_lsn(text)


@pytest.fixture
def source(pg_database):
    url = pg_database()
    run_sql(url, ITEMS)
    yield url
    engine_for(url).end_capture(TASK)


# ---- each kind of change ------------------------------------------------------------------------

def test_it_streams_inserts_updates_deletes_and_truncates(source):
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (cap, stream):
        with psycopg.connect(source) as conn:
            conn.execute("INSERT INTO items VALUES (1, 'pen', 1.5, '2024-01-01 12:00:00+02')")
            xid = conn.execute("SELECT pg_current_xact_id()::text").fetchone()[0]
            now = conn.execute("SELECT now() AT TIME ZONE 'UTC'").fetchone()[0]
        run_sql(source, "UPDATE items SET price = 2 WHERE id = 1", "DELETE FROM items WHERE id = 1",
                "TRUNCATE items")
        pieces = collect(stream, 4)
        nothing_more(stream)
    assert [len(p.changes) for p in pieces] == [1, 1, 1, 1]
    insert, update, delete, truncate = (p.changes[0] for p in pieces)
    assert insert.relation == Relation(schema="public", table="items", columns=("id", "name", "price", "seen"),
                                       key=("id",), types=("integer", "text", "numeric(8,2)",
                                                           "timestamp with time zone"))
    assert (insert.op, insert.before, insert.after) == (
        Op.INSERT, None, (1, "pen", Decimal("1.50"), datetime(2024, 1, 1, 10, 0)))
    assert (update.op, update.before, update.after) == (
        Op.UPDATE, None, (1, "pen", Decimal("2.00"), datetime(2024, 1, 1, 10, 0)))
    assert (delete.op, delete.before, delete.after) == (Op.DELETE, (1, None, None, None), None)
    assert (truncate.op, truncate.relation.table, truncate.before, truncate.after) == (Op.TRUNCATE, "items",
                                                                                         None, None)
    assert pieces[0].xid == xid
    assert abs(pieces[0].commit_time - now) < timedelta(seconds=5)
    assert pieces[0].commit_time.tzinfo is None
    spooled = pickle.loads(pickle.dumps(pieces[1]))  # as the spool writes it to disk and reads it back
    assert (spooled.xid, spooled.position, spooled.commit_time, spooled.order, spooled.changes[0].after) == (
        pieces[1].xid, pieces[1].position, pieces[1].commit_time, pieces[1].order, update.after)
    assert pieces[0].commit_time <= pieces[1].commit_time <= pieces[3].commit_time
    positions = [lsn(p.position) for p in pieces]
    assert lsn(cap.position) < positions[0] < positions[1] < positions[2] < positions[3]
    assert stream.read_changes == 4
    assert stream.read_bytes > 0


def test_it_streams_transactions_in_commit_order_with_all_their_tables(source):
    run_sql(source, "CREATE TABLE notes (id integer PRIMARY KEY, body text)")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items", "notes")) as (_cap, stream):
        with psycopg.connect(source) as first, psycopg.connect(source) as second:
            first.execute("INSERT INTO items (id) VALUES (1)")
            second.execute("INSERT INTO notes VALUES (1, 'second')")
            second.execute("INSERT INTO items (id) VALUES (2)")
            second.commit()  # commits first although it started second
            first.execute("INSERT INTO notes VALUES (2, 'first')")
            first.commit()
        pieces = collect(stream, 2)
    assert summary(pieces) == [
        [("notes", Op.INSERT, (1, "second")), ("items", Op.INSERT, (2, None, None, None))],
        [("items", Op.INSERT, (1, None, None, None)), ("notes", Op.INSERT, (2, "first"))],
    ]


def test_it_never_streams_rolled_back_transactions(source):
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        with psycopg.connect(source) as conn:
            conn.execute("INSERT INTO items (id) VALUES (1)")
            conn.commit()
            conn.execute("INSERT INTO items (id) VALUES (2)")
            conn.rollback()
            conn.execute("INSERT INTO items (id) VALUES (4)")
            conn.execute("SAVEPOINT s")
            conn.execute("INSERT INTO items (id) VALUES (5)")
            conn.execute("ROLLBACK TO SAVEPOINT s")
            conn.execute("INSERT INTO items (id) VALUES (6)")
            conn.commit()
        pieces = collect(stream, 2)
        nothing_more(stream)
    assert [[row[2][0] for row in txn] for txn in summary(pieces)] == [[1], [4, 6]]
    # the key the applier compares positions by, supplied by the capture, is the engine's own
    assert [p.order for p in pieces] == [engine.position_key(p.position) for p in pieces]


def test_it_hands_a_large_transaction_over_in_pieces(source):
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        run_sql(source, "INSERT INTO items (id, name) SELECT g, 'n' || g FROM generate_series(1, 20000) g")
        pieces = collect(stream, 1, timeout=60)
    assert TRANSACTION_PIECE == 5000
    assert [len(p.changes) for p in pieces] == [5000, 5000, 5000, 5000]
    assert [p.complete for p in pieces] == [False, False, False, True]
    assert len({p.xid for p in pieces}) == 1
    assert len({p.position for p in pieces}) == 1
    assert len({p.commit_time for p in pieces}) == 1
    assert {p.order for p in pieces} == {engine.position_key(pieces[0].position)}
    ids = [c.after[0] for p in pieces for c in p.changes]
    assert ids == list(range(1, 20001))
    assert pieces[-1].changes[-1].after == (20000, "n20000", None, None)


def test_it_sends_unchanged_toast_values_as_unchanged(source):
    run_sql(source, "CREATE TABLE docs (id integer PRIMARY KEY, status text, body text)",
            "ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL",
            "INSERT INTO docs VALUES (1, 'new', repeat('lorem ', 2000))")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "docs")) as (_cap, stream):
        run_sql(source, "UPDATE docs SET status = 'done' WHERE id = 1",
                "UPDATE docs SET body = 'short now' WHERE id = 1")
        first, second = collect(stream, 2)
    assert first.changes[0].after == (1, "done", UNCHANGED)
    assert first.changes[0].after[2] is UNCHANGED
    assert second.changes[0].after == (1, "done", "short now")


def test_it_streams_full_before_images_with_replica_identity_full(source):
    run_sql(source, "CREATE TABLE audit (seq integer, message text)", "ALTER TABLE audit REPLICA IDENTITY FULL")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "audit")) as (_cap, stream):
        run_sql(source, "INSERT INTO audit VALUES (1, 'a')", "UPDATE audit SET message = 'b' WHERE seq = 1",
                "DELETE FROM audit WHERE seq = 1")
        insert, update, delete = (p.changes[0] for p in collect(stream, 3))
    assert insert.relation.key == ("seq", "message")
    assert (update.before, update.after) == ((1, "a"), (1, "b"))
    assert (delete.before, delete.after) == ((1, "b"), None)


def test_it_streams_the_old_key_of_key_changing_updates(source):
    run_sql(source, "CREATE TABLE lines (order_id integer, line integer, qty integer, PRIMARY KEY (order_id, line))",
            "INSERT INTO items VALUES (1, 'pen', 1.5, NULL)", "INSERT INTO lines VALUES (7, 1, 3)")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items", "lines")) as (_cap, stream):
        run_sql(source, "UPDATE items SET id = 10 WHERE id = 1", "UPDATE lines SET line = 2, qty = 4",
                "UPDATE lines SET qty = 5")
        items, lines, same_key = (p.changes[0] for p in collect(stream, 3))
    assert (items.before, items.after) == ((1, None, None, None), (10, "pen", Decimal("1.50"), None))
    assert lines.relation.key == ("order_id", "line")
    assert (lines.before, lines.after) == ((7, 1, None), (7, 2, 4))
    assert (same_key.before, same_key.after) == (None, (7, 2, 5))


def test_it_captures_inserts_of_keyless_tables_without_breaking_source_updates(source, caplog):
    run_sql(source, "CREATE TABLE log (v text)")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items", "log")) as (_cap, stream):
        run_sql(source, "INSERT INTO log VALUES ('a')",
                "UPDATE log SET v = 'b'",  # would fail if log were published for updates
                "DELETE FROM log",
                "INSERT INTO log VALUES ('c')", "INSERT INTO items (id) VALUES (1)", "TRUNCATE log")
        pieces = collect(stream, 4)
        nothing_more(stream)
    assert summary(pieces) == [[("log", Op.INSERT, ("a",))], [("log", Op.INSERT, ("c",))],
                               [("items", Op.INSERT, (1, None, None, None))], [("log", Op.TRUNCATE, None)]]
    published = fetch(source, "SELECT p.pubname, pt.tablename, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate "
                              "FROM pg_publication p JOIN pg_publication_tables pt USING (pubname) ORDER BY 2")
    slot = slot_of(source)
    assert published == [(slot, "items", True, True, True, True), (f"{slot}_ins", "log", True, False, False, True)]
    assert "Tables without a primary key or replica identity: public.log" in caplog.text


# ---- values --------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [{}, {"mapBooleanAsBoolean": "Y"}])
def test_it_streams_values_as_the_full_load_reads_them(pg_database, extra):
    url = pg_database()
    run_sql(url, *TYPES_SQL[:4])  # the types and the table, no rows yet
    engine = engine_for(url, **extra)
    try:
        with streaming(engine, tables(engine, "every_type")) as (_cap, stream):
            run_sql(url, *TYPES_SQL[4:])
            pieces = collect(stream, 2)
    finally:
        engine.end_capture(TASK)
    loaded = _read_all(url, **extra)
    assert len(loaded) == 2
    for piece in pieces:
        change = piece.changes[0]
        streamed = dict(zip(change.relation.columns, change.after, strict=True))
        assert streamed == loaded[streamed["id"]]
        for name, value in streamed.items():
            assert type(value) is type(loaded[streamed["id"]][name]), name
    if not extra:
        first = dict(zip(pieces[0].changes[0].relation.columns, pieces[0].changes[0].after, strict=True))
        assert first == {**first, **EXPECTED_ROW_1}


# ---- snapshots, positions, resume --------------------------------------------------------------

def snapshot_ids(url: str, snapshot: str) -> list[int]:
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        return [row[0] for row in conn.execute("SELECT id FROM items ORDER BY id").fetchall()]


def test_it_exports_a_snapshot_consistent_with_the_start_position(source):
    run_sql(source, "INSERT INTO items (id) VALUES (1)")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items"), snapshot=True) as (cap, stream):
        assert cap.created is True
        assert cap.snapshot is not None
        assert cap.snapshot_position == cap.position
        run_sql(source, "INSERT INTO items (id) VALUES (2)")
        assert snapshot_ids(source, cap.snapshot) == [1]
        pieces = collect(stream, 1)
        nothing_more(stream)
    assert summary(pieces) == [[("items", Op.INSERT, (2, None, None, None))]]
    assert lsn(pieces[0].position) > lsn(cap.snapshot_position)


def test_it_resumes_after_the_acknowledged_position_without_resending(source):
    engine = engine_for(source)
    selected = tables(engine, "items")
    slot = slot_of(source)
    with streaming(engine, selected) as (_cap, stream):
        for i in (1, 2, 3):
            run_sql(source, f"INSERT INTO items (id) VALUES ({i})")
        first, second, third = collect(stream, 3)
        before = confirmed(source, slot)
        acker = threading.Thread(target=stream.acknowledge, args=(second.position,))  # the applier's thread
        acker.start()
        acker.join()
        deadline = time.monotonic() + 10
        while confirmed(source, slot) <= lsn(second.position) and time.monotonic() < deadline:
            stream.read(0.2)
    after = confirmed(source, slot)
    assert before < lsn(second.position) < after < lsn(third.position)
    run_sql(source, "INSERT INTO items (id) VALUES (4)")
    # The runner restarts from its checkpoint: the last applied transaction's position.
    with streaming(engine, selected, start=second.position) as (cap, stream):
        assert cap.position == second.position
        assert cap.created is False
        pieces = collect(stream, 2)
        nothing_more(stream)
    assert [txn[0][2][0] for txn in summary(pieces)] == [3, 4]
    assert pieces[0].position == third.position


def test_it_takes_a_snapshot_from_a_temporary_slot_on_resume(source):
    engine = engine_for(source)
    selected = tables(engine, "items")
    with streaming(engine, selected) as (_cap, stream):
        run_sql(source, "INSERT INTO items (id) VALUES (1)")
        [first] = collect(stream, 1)
    run_sql(source, "INSERT INTO items (id) VALUES (2)")
    with streaming(engine, selected, start=first.position, snapshot=True) as (cap, stream):
        assert (cap.position, cap.created) == (first.position, False)
        assert lsn(cap.snapshot_position) > lsn(first.position)
        slots = [row[0] for row in fetch(source, "SELECT slot_name FROM pg_replication_slots WHERE database = "
                                                 "current_database() ORDER BY temporary")]
        assert slots[0] == slot_of(source) and slots[1].startswith("dms_snap_") and len(slots) == 2
        run_sql(source, "INSERT INTO items (id) VALUES (3)")
        assert snapshot_ids(source, cap.snapshot) == [1, 2]
        pieces = collect(stream, 3)
    # The stream starts at the task's position (row 1 replays); the loaded rows cover up to snapshot_position.
    by_id = {p.changes[0].after[0]: lsn(p.position) for p in pieces}
    assert sorted(by_id) == [1, 2, 3]
    assert by_id[2] <= lsn(cap.snapshot_position) < by_id[3]
    assert [row[0] for row in fetch(source, "SELECT slot_name FROM pg_replication_slots WHERE database = "
                                            "current_database()")] == [slot_of(source)]


def test_it_advances_the_slot_on_an_idle_database_with_the_heartbeat(source):
    engine = engine_for(source, heartbeatEnable="Y", heartbeatFrequency="0.02")  # 1.2 s
    slot = slot_of(source)
    with streaming(engine, tables(engine, "items")) as (cap, stream):
        start = confirmed(source, slot)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and (stream.heartbeats < 3 or confirmed(source, slot) <= start):
            assert stream.read(0.3) is None  # nothing for the task's tables
            stream.acknowledge(stream.position)  # what the runner does with an idle position marker
        assert stream.heartbeats >= 3
        assert lsn(stream.position) > lsn(cap.position)
    assert confirmed(source, slot) > start


def test_it_starts_at_a_native_position_only_from_the_users_slot(source):
    engine = engine_for(source)
    with pytest.raises(EngineError, match="slotName attribute") as refused:
        with engine.begin_capture(TASK, tables(engine, "items"), start="0/16B3F28"):
            pass
    assert refused.value.kind is ErrorKind.CONFIGURATION
    run_sql(source, "SELECT pg_create_logical_replication_slot('users_slot', 'pgoutput')",
            "INSERT INTO items (id) VALUES (1)")
    start = engine.current_position()
    run_sql(source, "INSERT INTO items (id) VALUES (2)")
    users = engine_for(source, slotName="users_slot")
    with streaming(users, tables(users, "items"), start=start) as (cap, stream):
        assert (cap.position, cap.created) == (start, False)
        pieces = collect(stream, 1)
        nothing_more(stream)
    assert summary(pieces) == [[("items", Op.INSERT, (2, None, None, None))]]


def test_it_drops_only_what_the_task_created(source):
    run_sql(source, "SELECT pg_create_logical_replication_slot('users_slot', 'pgoutput')",
            "CREATE PUBLICATION users_pub FOR TABLE items")
    users = engine_for(source, slotName="users_slot", publicationName="users_pub")
    with users.begin_capture(TASK, tables(users, "items")) as cap:
        assert cap.created is False
    slots = "SELECT slot_name FROM pg_replication_slots WHERE database = current_database() ORDER BY 1"
    publications = "SELECT pubname FROM pg_publication ORDER BY 1"
    assert fetch(source, slots) == [("users_slot",)]
    assert fetch(source, publications) == [("users_pub",)]
    users.end_capture(TASK)
    assert fetch(source, slots) == [("users_slot",)]
    assert fetch(source, publications) == [("users_pub",)]

    engine = engine_for(source)
    with engine.begin_capture(TASK, tables(engine, "items")) as cap:
        assert cap.created is True
    own = slot_of(source)
    assert fetch(source, slots) == [(own,), ("users_slot",)]
    assert fetch(source, publications) == [(own,), ("users_pub",)]
    engine.end_capture(TASK)
    engine.end_capture(TASK)  # idempotent
    assert fetch(source, slots) == [("users_slot",)]
    assert fetch(source, publications) == [("users_pub",)]


def test_it_refuses_a_users_publication_without_the_selected_tables(source):
    run_sql(source, "CREATE TABLE other (id integer PRIMARY KEY)", "CREATE PUBLICATION users_pub FOR TABLE other")
    engine = engine_for(source, publicationName="users_pub")
    with pytest.raises(EngineError, match="does not include the selected table\\(s\\) public.items") as refused:
        with engine.begin_capture(TASK, tables(engine, "items")):
            pass
    assert refused.value.kind is ErrorKind.CONFIGURATION


def test_it_reports_a_lost_connection_as_connection_lost(source):
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        run_sql(source, f"SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                        f"WHERE slot_name = '{slot_of(source)}'")
        with pytest.raises(EngineError) as lost:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                stream.read(0.5)
    assert lost.value.kind is ErrorKind.CONNECTION_LOST
    assert lost.value.permanent is False


def test_it_maps_positions_but_no_times(source):
    engine = engine_for(source)
    with pytest.raises(EngineError, match="CdcStartTime") as refused:
        engine.position_at(datetime(2024, 1, 1))
    assert refused.value.kind is ErrorKind.UNSUPPORTED
    position = engine.current_position()
    assert engine.position_key(position) == (lsn(position),)
    assert engine.position_key("0/FF") < engine.position_key("1/0") < engine.position_key("A/0")


def test_it_keeps_the_snapshot_and_the_stream_through_idle_and_sender_timeouts(source):
    # Settings of this test's own database only: the shared server's configuration is never touched.
    database = fetch(source, "SELECT current_database()")[0][0]
    run_sql(source, f'ALTER DATABASE "{database}" SET idle_in_transaction_session_timeout = \'1s\'',
            f'ALTER DATABASE "{database}" SET wal_sender_timeout = \'2s\'',
            "INSERT INTO items (id) VALUES (1)")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items"), snapshot=True) as (cap, stream):
        nothing_more(stream, seconds=5)  # idle well past both timeouts
        assert snapshot_ids(source, cap.snapshot) == [1]
        run_sql(source, "INSERT INTO items (id) VALUES (2)")
        pieces = collect(stream, 1)
    assert summary(pieces) == [[("items", Op.INSERT, (2, None, None, None))]]


def test_it_confirms_the_last_acknowledgement_when_closed(source):
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        run_sql(source, "INSERT INTO items (id) VALUES (1)")
        [txn] = collect(stream, 1)
        stream.acknowledge(txn.position)  # the applier's last commit, just before the task stops
    assert confirmed(source, slot_of(source)) > lsn(txn.position)


def test_it_moves_a_table_to_full_capture_when_it_gains_a_key(source):
    run_sql(source, "CREATE TABLE log (v text)")
    engine = engine_for(source)
    slot = slot_of(source)
    published = ("SELECT pubname, tablename, pubupdate FROM pg_publication JOIN pg_publication_tables USING (pubname) "
                 "ORDER BY 1, 2")
    with engine.begin_capture(TASK, tables(engine, "items", "log")) as cap:
        pass
    assert fetch(source, published) == [(slot, "items", True), (f"{slot}_ins", "log", False)]
    with engine.begin_capture(TASK, tables(engine, "items", "log"), start=cap.position):
        pass  # the same tables again: nothing changes
    assert fetch(source, published) == [(slot, "items", True), (f"{slot}_ins", "log", False)]
    run_sql(source, "ALTER TABLE log ADD PRIMARY KEY (v)")
    with engine.begin_capture(TASK, tables(engine, "items", "log"), start=cap.position):
        pass
    assert fetch(source, published) == [(slot, "items", True), (slot, "log", True)]
