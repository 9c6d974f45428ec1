"""MySQL/MariaDB change data capture on the real server: the binary log stream, its transactions and positions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pymysql
import pytest

from endpoints.engines.base import TRANSACTION_PIECE, Op, Relation, Transaction
from endpoints.engines.catalog import SourceTable
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.mysql import MySQLEngine
from endpoints.engines.mysql.positions import position_key
from endpoints.engines.mysql.reader import begin_snapshot

from .mysql_helpers import admin, query, run

pytestmark = pytest.mark.live

TASK = "task-7"
ITEMS = "CREATE TABLE items (id int PRIMARY KEY, name varchar(20), price decimal(8,2), seen timestamp(6) NULL)"


# ---- helpers (the other test_mysql_cdc_* files use them too) -----------------------------------

def engine_for(url: str, **attributes: str) -> MySQLEngine:
    info = ConnectionInfo.from_url(url)
    return MySQLEngine(ConnectionInfo(**{**info.__dict__, "extra": {**info.extra, **attributes}}))


def tables(engine: MySQLEngine, *names: str) -> list[SourceTable]:
    found = {t.name: t for t in engine.list_tables([engine.conn.database])}
    return [found[n] for n in names]


@contextmanager
def streaming(engine: MySQLEngine, selected: list[SourceTable], *, task: str = TASK,
              start: str | None = None) -> Iterator[tuple]:
    with engine.begin_capture(task, selected, start=start) as cap:
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


def key(position: str) -> tuple[int, int]:
    return position_key(position)


def session(url: str) -> pymysql.connections.Connection:
    """A plain client session on the test database, autocommit off."""
    conn = admin(ConnectionInfo.from_url(url).database)
    conn.autocommit(False)
    return conn


@pytest.fixture
def source(mysql_database):
    url = mysql_database()
    run(url, ITEMS)
    return url


# ---- each kind of change ------------------------------------------------------------------------

def test_it_streams_inserts_updates_deletes_and_truncates(source):
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (cap, stream):
        conn = session(source)
        with conn.cursor() as cursor:
            cursor.execute("SET time_zone = '+02:00'")
            cursor.execute("INSERT INTO items VALUES (1, 'pen', 1.5, '2024-01-01 12:00:00.5')")
            conn.commit()
            cursor.execute("SELECT @@last_gtid, UTC_TIMESTAMP()")
            gtid, now = cursor.fetchone()
        conn.close()
        run(source, "UPDATE items SET price = 2 WHERE id = 1", "DELETE FROM items WHERE id = 1", "TRUNCATE items")
        pieces = collect(stream, 4)
        nothing_more(stream)
    assert [len(p.changes) for p in pieces] == [1, 1, 1, 1]
    insert, update, delete, truncate = (p.changes[0] for p in pieces)
    assert insert.relation == Relation(schema=ConnectionInfo.from_url(source).database, table="items",
                                       columns=("id", "name", "price", "seen"), key=("id",),
                                       types=("int(11)", "varchar(20)", "decimal(8,2)", "timestamp(6)"))
    row = (1, "pen", Decimal("1.50"), datetime(2024, 1, 1, 10, 0, 0, 500000))  # TIMESTAMP in UTC
    assert (insert.op, insert.before, insert.after) == (Op.INSERT, None, row)
    assert (update.op, update.before, update.after) == (Op.UPDATE, row, (1, "pen", Decimal("2.00"), row[3]))
    assert (delete.op, delete.before, delete.after) == (Op.DELETE, (1, "pen", Decimal("2.00"), row[3]), None)
    assert (truncate.op, truncate.relation.table, truncate.before, truncate.after) == (Op.TRUNCATE, "items",
                                                                                         None, None)
    assert pieces[0].xid == gtid  # MariaDB GTIDs travel as the transaction id
    assert abs(pieces[0].commit_time - now) < timedelta(seconds=5)
    assert pieces[0].commit_time.tzinfo is None
    positions = [key(p.position) for p in pieces]
    assert key(cap.position) < positions[0] < positions[1] < positions[2] < positions[3]
    assert stream.read_changes == 4
    assert stream.read_bytes > 0


def test_it_streams_transactions_in_commit_order_with_all_their_tables(source):
    run(source, "CREATE TABLE notes (id int PRIMARY KEY, body text)")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items", "notes")) as (_cap, stream):
        first, second = session(source), session(source)
        try:
            first.cursor().execute("INSERT INTO items (id) VALUES (1)")
            second.cursor().execute("INSERT INTO notes VALUES (1, 'second')")
            second.cursor().execute("INSERT INTO items (id) VALUES (2)")
            second.commit()  # commits first although it started second
            first.cursor().execute("INSERT INTO notes VALUES (2, 'first')")
            first.commit()
        finally:
            first.close()
            second.close()
        pieces = collect(stream, 2)
        nothing_more(stream)
    assert summary(pieces) == [
        [("notes", Op.INSERT, (1, "second")), ("items", Op.INSERT, (2, None, None, None))],
        [("items", Op.INSERT, (1, None, None, None)), ("notes", Op.INSERT, (2, "first"))],
    ]


def test_it_never_streams_rolled_back_transactions(source):
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        conn = session(source)
        cursor = conn.cursor()
        cursor.execute("INSERT INTO items (id) VALUES (1)")
        conn.commit()
        cursor.execute("INSERT INTO items (id) VALUES (2)")
        conn.rollback()
        cursor.execute("INSERT INTO items (id) VALUES (4)")
        cursor.execute("SAVEPOINT s")
        cursor.execute("INSERT INTO items (id) VALUES (5)")
        cursor.execute("ROLLBACK TO SAVEPOINT s")
        cursor.execute("INSERT INTO items (id) VALUES (6)")
        conn.commit()
        conn.close()
        pieces = collect(stream, 2)
        nothing_more(stream)
    assert [[row[2][0] for row in txn] for txn in summary(pieces)] == [[1], [4, 6]]


def test_it_hands_a_large_transaction_over_in_pieces(source):
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        run(source, "INSERT INTO items (id, name) SELECT seq, CONCAT('n', seq) FROM seq_1_to_20000")
        started = time.monotonic()
        pieces = collect(stream, 1, timeout=120)
        seconds = time.monotonic() - started
    assert TRANSACTION_PIECE == 5000
    assert [len(p.changes) for p in pieces] == [5000, 5000, 5000, 5000]
    assert [p.complete for p in pieces] == [False, False, False, True]
    assert len({p.xid for p in pieces}) == 1
    assert len({p.position for p in pieces}) == 1
    ids = [c.after[0] for p in pieces for c in p.changes]
    assert ids == list(range(1, 20001))
    assert pieces[-1].changes[-1].after == (20000, "n20000", None, None)
    print(f"20,000 inserts captured in {seconds:.2f} s ({20000 / seconds:,.0f} changes/s)")


def test_it_captures_only_the_selected_tables_of_the_selected_database(source, mysql_database):
    other = mysql_database()
    run(source, "CREATE TABLE skipped (id int PRIMARY KEY)")
    run(other, ITEMS)  # same table name, another database
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        run(other, "INSERT INTO items (id) VALUES (1)")
        run(source, "INSERT INTO skipped VALUES (1)", "TRUNCATE skipped", "ALTER TABLE skipped ADD x int",
            "INSERT INTO items (id) VALUES (2)")
        pieces = collect(stream, 1)
        nothing_more(stream)
    assert summary(pieces) == [[("items", Op.INSERT, (2, None, None, None))]]
    assert stream.read_changes == 1


def test_it_refuses_rows_a_session_logged_as_statements(source):
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        run(source, "SET SESSION binlog_format = 'STATEMENT'", "INSERT INTO items (id) VALUES (1)")
        with pytest.raises(EngineError, match="binlog_format=ROW") as refused:
            collect(stream, 1, timeout=10)
        with pytest.raises(EngineError):  # and stays failed
            stream.read(0.1)
    assert refused.value.kind is ErrorKind.CONFIGURATION
    assert "items" in refused.value.message


def test_it_refuses_rows_a_session_logged_with_a_minimal_image(source):
    run(source, "INSERT INTO items VALUES (1, 'pen', 1.5, NULL)")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        run(source, "SET SESSION binlog_row_image = 'MINIMAL'", "UPDATE items SET price = 2 WHERE id = 1")
        with pytest.raises(EngineError, match="binlog_row_image=FULL") as refused:
            collect(stream, 1, timeout=10)
    assert refused.value.kind is ErrorKind.CONFIGURATION


def test_it_refuses_xa_transactions_on_captured_tables_only(source):
    run(source, "CREATE TABLE other (id int PRIMARY KEY)")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        run(source, "XA START 'x1'", "INSERT INTO other VALUES (1)", "XA END 'x1'", "XA PREPARE 'x1'",
            "XA COMMIT 'x1'", "INSERT INTO items (id) VALUES (5)")
        assert summary(collect(stream, 1)) == [[("items", Op.INSERT, (5, None, None, None))]]
        run(source, "XA START 'x2'", "INSERT INTO items (id) VALUES (1)", "XA END 'x2'", "XA PREPARE 'x2'",
            "XA ROLLBACK 'x2'")
        with pytest.raises(EngineError, match="XA transaction") as refused:
            collect(stream, 1, timeout=10)
    assert refused.value.kind is ErrorKind.UNSUPPORTED


# ---- positions ----------------------------------------------------------------------------------

def test_it_resumes_at_a_transaction_position_replaying_only_that_transaction(source):
    engine = engine_for(source)
    selected = tables(engine, "items")
    with streaming(engine, selected) as (cap, stream):
        for i in (1, 2, 3):
            run(source, f"INSERT INTO items (id) VALUES ({i})")
        first, second, third = collect(stream, 3)
        stream.acknowledge(second.position)
        assert stream.acknowledged == second.position
    assert engine.position_key(cap.position) < engine.position_key(first.position) < \
        engine.position_key(second.position) < engine.position_key(third.position)
    run(source, "INSERT INTO items (id) VALUES (4)")
    # The runner restarts from its checkpoint: the last applied transaction's position, which replays.
    with streaming(engine, selected, start=second.position) as (cap, stream):
        assert cap.position == second.position
        pieces = collect(stream, 3)
        nothing_more(stream)
    assert [txn[0][2][0] for txn in summary(pieces)] == [2, 3, 4]
    assert [p.position for p in pieces[:2]] == [second.position, third.position]


def test_it_resumes_at_a_boundary_without_replaying(source):
    engine = engine_for(source)
    selected = tables(engine, "items")
    run(source, "INSERT INTO items (id) VALUES (1)")
    start = engine.current_position()
    run(source, "INSERT INTO items (id) VALUES (2)")
    with streaming(engine, selected, start=start) as (cap, stream):
        assert cap.position == start
        pieces = collect(stream, 1)
        nothing_more(stream)
    assert summary(pieces) == [[("items", Op.INSERT, (2, None, None, None))]]


def test_it_orders_positions_with_the_full_load_readers_snapshot_positions(source):
    """A reader's snapshot position S (binlog_snapshot_position) and the stream's positions share one
    order: transactions in the snapshot sort before S, the next commit after it."""
    engine = engine_for(source)
    selected = tables(engine, "items")
    with streaming(engine, selected) as (_cap, stream):
        run(source, "INSERT INTO items (id) VALUES (1)")
        reader = admin(ConnectionInfo.from_url(source).database)
        reader.autocommit(False)
        try:
            snapshot = begin_snapshot(reader)
            run(source, "INSERT INTO items (id) VALUES (2)")  # starts right at the snapshot position
            with reader.cursor() as cursor:
                cursor.execute("SELECT id FROM items")
                seen = [row[0] for row in cursor.fetchall()]
        finally:
            reader.close()
        inside, after = collect(stream, 2)
    assert seen == [1]
    assert key(inside.position) < key(snapshot) < key(after.position)


def test_it_moves_its_position_with_other_tables_traffic_while_idle(source, mysql_database):
    other = mysql_database()
    run(other, "CREATE TABLE busy (id int PRIMARY KEY)")
    engine = engine_for(source, eventsPollInterval="1")
    with streaming(engine, tables(engine, "items")) as (cap, stream):
        run(other, "INSERT INTO busy VALUES (1)")
        end = engine.current_position()
        deadline = time.monotonic() + 10
        while key(stream.position) < key(end) and time.monotonic() < deadline:
            started = time.monotonic()
            assert stream.read(0.3) is None
            assert time.monotonic() - started < 1.0  # read() returns in time on an idle stream
        assert key(stream.position) >= key(end) > key(cap.position)
        run(source, "INSERT INTO items (id) VALUES (1)")
        [piece] = collect(stream, 1)
    assert key(piece.position) > key(end)


def test_it_hears_heartbeats_while_the_binary_log_is_idle(source):
    engine = engine_for(source, eventsPollInterval="0.2")
    with streaming(engine, tables(engine, "items")) as (_cap, stream):
        deadline = time.monotonic() + 30  # other tests may keep the shared server's binary log busy
        while stream.heartbeats < 2 and time.monotonic() < deadline:
            assert stream.read(0.3) is None
        assert stream.heartbeats >= 2


def test_it_follows_the_binary_log_into_the_next_file(source):
    """FLUSH BINARY LOGS starts a new file, as the server does at max_binlog_size or on restart."""
    engine = engine_for(source)
    selected = tables(engine, "items")
    with streaming(engine, selected) as (cap, stream):
        run(source, "INSERT INTO items (id) VALUES (1)")
        admin().cursor().execute("FLUSH BINARY LOGS")
        run(source, "INSERT INTO items (id) VALUES (2)")
        first, second = collect(stream, 2)
        nothing_more(stream, 1)
        idle = stream.position
    assert first.position.partition(":")[0] == cap.position.partition(":")[0]
    assert key(second.position)[0] > key(first.position)[0]
    assert key(cap.position) < key(first.position) < key(second.position) <= key(idle)
    with streaming(engine, selected, start=first.position) as (_cap, stream):  # resume across the new file
        pieces = collect(stream, 2)
    assert [txn[0][2][0] for txn in summary(pieces)] == [1, 2]


def test_it_maps_a_start_time_to_the_boundary_before_the_next_commit(source):
    engine = engine_for(source)
    run(source, "INSERT INTO items (id) VALUES (1)")
    time.sleep(1.2)
    [(now,)] = query(source, "SELECT UTC_TIMESTAMP()")
    time.sleep(1.2)
    run(source, "INSERT INTO items (id) VALUES (2)")
    start = engine.position_at(now)
    with streaming(engine, tables(engine, "items"), start=start) as (_cap, stream):
        pieces = collect(stream, 1)
        nothing_more(stream)
    assert summary(pieces) == [[("items", Op.INSERT, (2, None, None, None))]]


def test_it_refuses_start_times_it_cannot_map_exactly(source):
    engine = engine_for(source)
    with pytest.raises(EngineError, match="later than the source server's clock") as future:
        engine.position_at(datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1))
    with pytest.raises(EngineError, match="before the oldest binary log") as past:
        engine.position_at(datetime(2001, 1, 1))
    assert future.value.kind is past.value.kind is ErrorKind.CONFIGURATION


def test_it_refuses_positions_that_are_not_in_the_binary_log(source):
    engine = engine_for(source)
    selected = tables(engine, "items")
    current = engine.current_position()
    stem = current.rpartition(".")[0]
    for start, message in ((f"{stem}.999999:4", "no longer exists"), (f"{current.partition(':')[0]}:999999999999",
                                                                        "outside binary log"),
                           ("0-1-100", "file:offset")):
        with pytest.raises(EngineError, match=message) as refused:
            with engine.begin_capture(TASK, selected, start=start):
                pass
        assert refused.value.kind is ErrorKind.CONFIGURATION


# ---- readiness and failures ---------------------------------------------------------------------

def test_it_refuses_a_user_without_replication_privileges(source):
    from .mysql_helpers import temp_user

    database = ConnectionInfo.from_url(source).database
    with temp_user(f"SELECT ON `{database}`.*") as (name, password):
        info = ConnectionInfo.from_url(source)
        engine = MySQLEngine(ConnectionInfo(**{**info.__dict__, "username": name, "password": password}))
        with pytest.raises(EngineError) as refused:
            with engine.begin_capture(TASK, tables(engine, "items")):
                pass
    assert refused.value.kind is ErrorKind.PRIVILEGE
    assert "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO" in refused.value.message
    assert name in refused.value.message


def test_it_reports_a_lost_connection_as_connection_lost(source):
    from tasks.tests.tcp_proxy import TcpProxy

    info = ConnectionInfo.from_url(source)
    proxy = TcpProxy(info.host, info.port)
    try:
        engine = MySQLEngine(ConnectionInfo(**{**info.__dict__, "port": proxy.port}))
        with streaming(engine, tables(engine, "items")) as (_cap, stream):
            run(source, "INSERT INTO items (id) VALUES (1)")
            collect(stream, 1)
            proxy.cut()
            with pytest.raises(EngineError) as lost:
                collect(stream, 1, timeout=30)
    finally:
        proxy.close()
    assert lost.value.kind is ErrorKind.CONNECTION_LOST
    assert lost.value.permanent is False


def test_it_registers_one_replica_per_task_and_a_new_stream_replaces_the_old(source):
    engine = engine_for(source)
    selected = tables(engine, "items")
    with streaming(engine, selected) as (cap, old), streaming(engine, selected, task="task-8") as (_, other):
        assert old.server_id != other.server_id
        deadline = time.monotonic() + 10
        ours = {old.server_id, other.server_id}
        while not ours <= (replicas := {r[0]: r[1] for r in query(source, "SHOW SLAVE HOSTS")}).keys():
            assert time.monotonic() < deadline, replicas
            old.read(0.2)
        assert replicas[old.server_id] == "dms-task-task-7" and replicas[other.server_id] == "dms-task-task-8"
        # A restarted copy of task-7 (after a crash) takes over from the stream left behind.
        new = engine.open_stream(TASK, selected, cap.position)
        try:
            assert new.server_id == old.server_id
            run(source, "INSERT INTO items (id) VALUES (1)")
            assert summary(collect(new, 1)) == [[("items", Op.INSERT, (1, None, None, None))]]
            with pytest.raises(EngineError, match="same server id") as replaced:
                collect(old, 2, timeout=15)
            assert summary(collect(other, 1)) == [[("items", Op.INSERT, (1, None, None, None))]]
        finally:
            new.close()
    assert replaced.value.kind is ErrorKind.CONNECTION_LOST


def test_it_closes_promptly_while_the_server_is_silent(source):
    engine = engine_for(source)
    with engine.begin_capture(TASK, tables(engine, "items")) as cap:
        stream = engine.open_stream(TASK, tables(engine, "items"), cap.position)
        assert stream.read(0.2) is None
        started = time.monotonic()
        stream.close()
    assert time.monotonic() - started < 3
