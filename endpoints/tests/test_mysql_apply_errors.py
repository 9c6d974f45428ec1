"""MySQL applier: error kinds and messages, nothing cut silently, savepoints, apply exceptions, checkpoints."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from urllib.parse import quote as url_quote

import pymysql
import pytest

from endpoints.engines.base import TableSyncState
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.tests.mysql_helpers import admin, plan_for, query, run
from endpoints.tests.test_mysql_apply import PATHS, applier, db_name, rows_of, upd

ITEMS = ("CREATE TABLE items (id int PRIMARY KEY, name varchar(10) NOT NULL, qty int, price decimal(5,2), "
         "at datetime(6), ratio double, note text)")
GOOD = (5, "fine", 1, None, None, None, None)


@pytest.fixture
def db(mysql_database) -> str:
    url = mysql_database()
    run(url, ITEMS)
    return url


def _refused(ap, plan, rows) -> EngineError:
    ap.begin()
    with pytest.raises(EngineError) as caught:
        ap.insert(plan, rows)
    ap.rollback()
    return caught.value


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_reports_a_duplicate_key_as_duplicate(db, path):
    plan = plan_for(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None, None, None)])
    ap.commit()
    error = _refused(ap, plan, [(2, "two", 2, None, None, None, None), (1, "again", 1, None, None, None, None)])
    assert error.kind is ErrorKind.DUPLICATE and error.permanent
    words = "Duplicate entry '1' for key 'PRIMARY'" + (" (Warning 1062)" if path == "loads" else "")
    assert str(error) == f"Target table {db_name(db)}.items: a row with the same key already exists ({words})."
    assert rows_of(db, "items") == [(1, "one", 1, None, None, None, None)]  # row 2 went with the statement


@pytest.mark.live
@pytest.mark.parametrize(("row", "column", "words"), [
    ((1, "much too long", 1, None, None, None, None), "name", "Data too long for column 'name' at row 2"),
    ((1, None, 1, None, None, None, None), "name", "Column 'name' cannot be null"),
    ((1, "x", 2**40, None, None, None, None), "qty", "Out of range value for column 'qty' at row 2"),
    ((1, "x", "abc", None, None, None, None), "qty", "Incorrect integer value: 'abc' for column"),
    ((1, "x", 1, Decimal("1234.5"), None, None, None), "price", "Out of range value for column 'price'"),
    ((1, "x", 1, Decimal("1.239"), None, None, None), "price",
     "the value would be changed on its way in: Data truncated for column 'price' at row 2 (Note 1265)"),
    ((1, "x", 1, None, "2024-02-30 10:00:00", None, None), "at", "Incorrect datetime value: '2024-02-30 10:00:00'"),
    ((1, "x", 1, None, None, float("inf"), None), "ratio", "inf can not be used with MySQL"),
])
@pytest.mark.parametrize("path", PATHS)
def test_it_names_the_table_and_column_of_a_refused_value(db, row, column, words, path):
    plan = plan_for(db, "items")
    error = _refused(applier(db, path), plan, [GOOD, row])
    assert error.kind is ErrorKind.DATA and error.permanent
    assert str(error).startswith(f"Target table {db_name(db)}.items, column {column}: ")
    # LOAD DATA LOCAL gets warnings where INSERT gets errors, in other words
    assert (words in str(error)) if path != "loads" else ("refused while loading: " in str(error))
    assert rows_of(db, "items") == []


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_names_the_column_of_a_refused_update_value(db, path):
    plan = plan_for(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None, None, None)])
    ap.commit()
    ap.begin()
    with pytest.raises(EngineError) as caught:  # on the staged path LOAD DATA into the staging table refuses it
        ap.update(plan, [upd((1,), (1, "far too long!", 1, None, None, None, None))])
    ap.rollback()
    assert caught.value.kind is ErrorKind.DATA
    words = {"rows": "Data too long for column 'name' at row 1",
             "loads": "refused while loading: Data truncated for column 'name' at row 1 (Warning 1265)",
             "inserts": "Data too long for column 'name' at row 1"}[path]
    assert str(caught.value) == f"Target table {db_name(db)}.items, column name: {words}"
    assert rows_of(db, "items") == [(1, "one", 1, None, None, None, None)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_never_cuts_a_value_even_when_the_endpoint_asks_for_a_lax_sql_mode(db, path):
    lax = db + "?afterConnectScript=" + url_quote("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
    plan = plan_for(db, "items")
    error = _refused(applier(lax, path), plan, [(1, "much too long", 1, None, None, None, None)])
    assert error.kind is ErrorKind.DATA
    assert rows_of(db, "items") == []
    ap = applier(lax, path)  # and backslashes still mean what they meant
    ap.begin()
    ap.insert(plan, [(2, "a\\b\tc", 1, None, None, None, "tab\there\\")])
    ap.update(plan, [upd((2,), (2, "x\\y", 1, None, None, None, "new\nline"))])
    ap.commit()
    assert rows_of(db, "items") == [(2, "x\\y", 1, None, None, None, "new\nline")]


@pytest.mark.live
def test_it_keeps_the_change_logged_after_a_failed_savepoint(db):
    plan = plan_for(db, "items")
    ap = applier(db)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None, None, None)])
    ap.savepoint()
    ap.insert(plan, [(2, "two", 2, None, None, None, None)])
    ap.savepoint()  # replaces the first: rolling back keeps row 2
    with pytest.raises(EngineError):
        ap.insert(plan, [(1, "dup", 1, None, None, None, None)])
    ap.rollback_to_savepoint()
    ap.log_exception("task-1", plan, "INSERT INTO items ...", "duplicate key")
    ap.insert(plan, [(3, "three", 3, None, None, None, None)])
    ap.save_state("task-1", '{"v": 1, "phase": "cdc", "start": "f.1:4", "position": "f.1:9"}', None, {})
    ap.commit()
    assert [r[0] for r in rows_of(db, "items")] == [1, 2, 3]
    logged = query(db, "SELECT TASK_NAME, TABLE_OWNER, TABLE_NAME, STATEMENT, ERROR FROM awsdms_apply_exceptions")
    assert logged == [("task-1", db_name(db), "items", "INSERT INTO items ...", "duplicate key")]


@pytest.mark.live
def test_it_commits_the_checkpoint_and_table_states_with_the_data_or_neither(db, mysql_database):
    control = db_name(mysql_database())
    plan = plan_for(db, "items")
    ap = applier(db, schema=control)
    checkpoint = '{"v": 1, "phase": "cdc", "start": "binlog.000001:4", "position": "binlog.000001:900"}'
    states = {("src", "items"): TableSyncState("replicating", "binlog.000001:4", "binlog.000001:900")}
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None, None, None)])
    ap.save_state("task-1", checkpoint, datetime(2024, 5, 1, 12, 0), states)
    ap.rollback()
    assert rows_of(db, "items") == []
    assert ap.load_state("task-1") == (None, {})

    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None, None, None)])
    ap.save_state("task-1", checkpoint, datetime(2024, 5, 1, 12, 0), states)  # written again: the first never was
    ap.commit()
    ap.close()
    again = applier(db, schema=control)
    assert again.load_state("task-1") == (checkpoint, states)
    assert rows_of(db, "items") == [(1, "one", 1, None, None, None, None)]
    txn = query(db, f"SELECT TASK_NAME, COMMIT_POSITION, COMMIT_TIME FROM `{control}`.awsdms_txn_state")
    assert txn == [("task-1", "binlog.000001:900", datetime(2024, 5, 1, 12, 0))]
    # a checkpoint written without a commit time keeps the last one
    again.begin()
    again.save_state("task-1", checkpoint.replace(":900", ":950"), None, states)
    again.commit()
    txn = query(db, f"SELECT COMMIT_POSITION, COMMIT_TIME FROM `{control}`.awsdms_txn_state")
    assert txn == [("binlog.000001:950", datetime(2024, 5, 1, 12, 0))]


@pytest.mark.live
def test_it_writes_table_states_that_changed_and_keeps_the_others(db):
    ap = applier(db)
    a, b = ("s", "a"), ("s", "b")
    ap.begin()
    ap.save_state("t", "{}", None, {a: TableSyncState("loading"), b: TableSyncState("pending")})
    ap.commit()
    moving = TableSyncState("replicating", None, "f.1:10")
    ap.begin()
    ap.save_state("t", '{"position": "f.1:10"}', None, {a: moving, b: TableSyncState("pending")})
    moving.applied_position = "f.1:20"  # the loop mutates its states in place: what was saved must not move
    ap.commit()
    ap.begin()
    ap.save_state("t", '{"position": "f.1:20"}', None, {a: moving, b: TableSyncState("pending")})
    ap.commit()
    assert ap.load_state("t") == ('{"position": "f.1:20"}', {
        a: TableSyncState("replicating", None, "f.1:20"), b: TableSyncState("pending")})


@pytest.mark.live
def test_it_leaves_no_transaction_open_after_reading_the_state(db):
    ap = applier(db)
    ap.load_state("t")
    assert not ap.conn.server_status & pymysql.constants.SERVER_STATUS.SERVER_STATUS_IN_TRANS


@pytest.mark.live
def test_it_reports_a_lost_connection_as_transient(db):
    plan = plan_for(db, "items")
    ap = applier(db)
    conn = admin()
    try:
        conn.cursor().execute("KILL %s", (ap.conn.thread_id(),))
    finally:
        conn.close()
    ap.begin()
    with pytest.raises(EngineError) as caught:
        ap.insert(plan, [(1, "one", 1, None, None, None, None)])
    assert caught.value.kind is ErrorKind.CONNECTION_LOST
    assert not caught.value.permanent
    with pytest.raises(EngineError) as again:
        ap.rollback()
    assert not again.value.permanent
    ap.close()


@pytest.mark.live
def test_it_reports_an_unreachable_server_as_transient(db):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(EngineError) as caught:
        applier(db.replace(":3306/", f":{port}/"))
    assert caught.value.kind is ErrorKind.UNREACHABLE and not caught.value.permanent


@pytest.mark.live
def test_it_reports_a_lock_it_could_not_get_as_transient(db):
    plan = plan_for(db, "items")
    ap = applier(db)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None, None, None)])
    ap.commit()
    holder = admin(db_name(db))
    try:
        holder.begin()
        holder.cursor().execute("UPDATE items SET qty = 2 WHERE id = 1")
        ap.conn.cursor().execute("SET SESSION innodb_lock_wait_timeout = 1")
        with pytest.raises(EngineError) as caught:
            ap.update(plan, [upd((1,), (1, "one", 3, None, None, None, None))])
        ap.rollback()
    finally:
        holder.rollback()
        holder.close()
    assert not caught.value.permanent
    assert "Lock wait timeout" in str(caught.value)


@pytest.mark.live
def test_it_reports_a_missing_table_or_column_as_a_schema_problem(db):
    plan = plan_for(db, "items")
    run(db, "ALTER TABLE items DROP COLUMN note")
    ap = applier(db)
    ap.begin()
    with pytest.raises(EngineError) as caught:
        ap.insert(plan, [(1, "one", 1, None, None, None, None)])
    assert caught.value.kind is ErrorKind.SCHEMA and caught.value.permanent
    assert str(caught.value).startswith(f"Target table {db_name(db)}.items has no column note")
    run(db, "DROP TABLE items")
    with pytest.raises(EngineError, match=f"Target table {db_name(db)}.items does not exist"):
        applier(db).insert(plan, [(1, "one", 1, None, None, None, None)])


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_goes_on_after_a_refused_run_rolled_back_to_its_savepoint(db, path):
    plan = plan_for(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(i, f"n{i}", i, None, None, None, None) for i in range(1, 31)])
    ap.savepoint()
    with pytest.raises(EngineError):
        ap.update(plan, [upd((i,), (i, "far too long!" if i == 7 else "ok", i, None, None, None, None))
                         for i in range(1, 11)])
    ap.rollback_to_savepoint()
    ap.savepoint()
    assert ap.update(plan, [upd((i,), (i, "ok", -i, None, None, None, None)) for i in range(1, 11)]) == 10
    ap.commit()
    # 1 + ... + 30 = 465, and rows 1-10 went from i to -i: 465 - 2 * 55
    assert query(db, "SELECT COUNT(*), SUM(qty), SUM(name = 'ok') FROM items") == [(30, Decimal(355), Decimal(10))]
