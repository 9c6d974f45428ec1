"""PostgreSQL applier: error kinds and messages, savepoints, apply exceptions, checkpoints and table states."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import psycopg
import pytest

from endpoints.engines.base import TableSyncState
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.tests.postgres_support import run_sql
from endpoints.tests.test_postgres_apply import PATHS, applier, plan_of, rows_of, upd

SCHEMA_SQL = ("CREATE SCHEMA app",
              "CREATE TABLE app.items (id integer PRIMARY KEY, name varchar(10) NOT NULL, qty integer, "
              "price numeric(5,2), note text)")


@pytest.fixture
def db(pg_database) -> str:
    url = pg_database()
    run_sql(url, *SCHEMA_SQL)
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
    plan = plan_of(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None)])
    ap.commit()
    error = _refused(ap, plan, [(2, "two", 2, None, None), (1, "again", 1, None, None)])
    assert error.kind is ErrorKind.DUPLICATE
    assert str(error) == ("Target table app.items: a row with the same key already exists "
                          "(Key (id)=(1) already exists.).")


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("row", "column", "words"), [
    ((1, "much too long", 1, None, None), "name", "value too long for type character varying(10)"),
    ((1, None, 1, None, None), "name", 'null value in column "name"'),
    ((1, "x", 2**40, None, None), "qty", "out of range"),
    ((1, "x", "abc", None, None), "qty", 'invalid input syntax for type integer: "abc"'),
    ((1, "x", 1, Decimal("1234.5"), None), "price", "numeric field overflow"),
    ((1, "x", 1, None, "nul \x00 byte"), "note", "0x00"),
])
def test_it_names_the_table_and_column_of_a_refused_value(db, path, row, column, words):
    plan = plan_of(db, "items")
    error = _refused(applier(db, path), plan, [(5, "fine", 1, None, None), row])
    assert error.kind is ErrorKind.DATA
    assert str(error).startswith(f"Target table app.items, column {column}: ")
    assert words in str(error)


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_names_the_column_of_a_refused_update_value(db, path):
    plan = plan_of(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None)])
    ap.commit()
    ap.begin()
    with pytest.raises(EngineError) as caught:
        ap.update(plan, [upd((1,), (1, "far too long!", 1, None, None))])
    ap.rollback()
    assert caught.value.kind is ErrorKind.DATA
    assert str(caught.value).startswith("Target table app.items, column name: value too long")


@pytest.mark.live
def test_it_keeps_the_change_logged_after_a_failed_savepoint(db):
    plan = plan_of(db, "items")
    ap = applier(db)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None)])
    ap.savepoint()
    ap.insert(plan, [(2, "two", 2, None, None)])
    ap.savepoint()  # replaces the first: rolling back keeps row 2
    with pytest.raises(EngineError):
        ap.insert(plan, [(1, "dup", 1, None, None)])
    ap.rollback_to_savepoint()
    ap.log_exception("task-1", plan, "INSERT INTO app.items ...", "duplicate key")
    ap.insert(plan, [(3, "three", 3, None, None)])
    ap.save_state("task-1", '{"v": 1, "phase": "cdc", "start": "0/10", "position": "0/20"}', None, {})
    ap.commit()
    assert [r[0] for r in rows_of(db, "app.items")] == [1, 2, 3]
    logged = rows_of(db, "public.awsdms_apply_exceptions")
    assert [(r[0], r[1], r[2], r[4], r[5]) for r in logged] == [
        ("task-1", "app", "items", "INSERT INTO app.items ...", "duplicate key")]


@pytest.mark.live
def test_it_commits_the_checkpoint_and_table_states_with_the_data_or_neither(db):
    plan = plan_of(db, "items")
    ap = applier(db, schema="ctl")
    states = {("src", "items"): TableSyncState("replicating", "0/5", "0/9")}
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None)])
    ap.save_state("task-1", '{"v": 1, "phase": "cdc", "start": "0/5", "position": "0/9"}',
                  datetime(2024, 5, 1, 12, 0), states)
    ap.rollback()
    assert rows_of(db, "app.items") == []
    assert ap.load_state("task-1") == (None, {})

    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None)])
    ap.save_state("task-1", '{"v": 1, "phase": "cdc", "start": "0/5", "position": "0/9"}',
                  datetime(2024, 5, 1, 12, 0), states)  # the same states again: written, the first never committed
    ap.commit()
    ap.close()
    again = applier(db, schema="ctl")
    assert again.load_state("task-1") == ('{"v": 1, "phase": "cdc", "start": "0/5", "position": "0/9"}', states)
    assert rows_of(db, "app.items") == [(1, "one", 1, None, None)]
    txn = rows_of(db, "ctl.awsdms_txn_state")
    assert [(r[0], r[2], r[3]) for r in txn] == [("task-1", "0/9", datetime(2024, 5, 1, 12, 0))]


@pytest.mark.live
def test_it_writes_table_states_that_changed_and_keeps_the_others(db):
    ap = applier(db)
    a, b = ("s", "a"), ("s", "b")
    ap.begin()
    ap.save_state("t", "{}", None, {a: TableSyncState("loading"), b: TableSyncState("pending")})
    ap.commit()
    moving = TableSyncState("replicating", None, "0/1")
    ap.begin()
    ap.save_state("t", '{"position": "0/1"}', None, {a: moving, b: TableSyncState("pending")})
    moving.applied_position = "0/2"  # the loop mutates its states in place: what was saved must not move
    ap.commit()
    ap.begin()
    ap.save_state("t", '{"position": "0/2"}', None, {a: moving, b: TableSyncState("pending")})
    ap.commit()
    assert ap.load_state("t") == ('{"position": "0/2"}', {
        a: TableSyncState("replicating", None, "0/2"), b: TableSyncState("pending")})


@pytest.mark.live
def test_it_reports_a_lost_connection_as_transient(db):
    plan = plan_of(db, "items")
    ap = applier(db)
    pid = ap.conn.info.backend_pid
    with psycopg.connect(db, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    ap.begin()
    with pytest.raises(EngineError) as caught:
        ap.insert(plan, [(1, "one", 1, None, None)])
    assert caught.value.kind is ErrorKind.CONNECTION_LOST
    assert not caught.value.permanent
    with pytest.raises(EngineError) as again:
        ap.rollback()
    assert not again.value.permanent
    ap.close()


@pytest.mark.live
def test_it_reports_a_lock_it_could_not_get_as_transient(db):
    plan = plan_of(db, "items")
    ap = applier(db)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None)])
    ap.commit()
    with psycopg.connect(db) as holder:
        holder.execute("UPDATE app.items SET qty = 2 WHERE id = 1")
        ap.conn.execute("SET lock_timeout = '100ms'")
        with pytest.raises(EngineError) as caught:
            ap.update(plan, [upd((1,), (1, "one", 3, None, None))])
        ap.rollback()
    assert not caught.value.permanent
    assert "lock" in str(caught.value)


@pytest.mark.live
def test_it_reports_a_missing_table_or_column_as_a_schema_problem(db):
    plan = plan_of(db, "items")
    run_sql(db, "ALTER TABLE app.items DROP COLUMN note")
    ap = applier(db)
    ap.begin()
    with pytest.raises(EngineError) as caught:
        ap.insert(plan, [(1, "one", 1, None, None)])
    assert caught.value.kind is ErrorKind.SCHEMA and caught.value.permanent
    assert str(caught.value).startswith("Target table app.items has no column note")
    run_sql(db, "DROP TABLE app.items")
    with pytest.raises(EngineError, match="Target table app.items does not exist"):
        applier(db).insert(plan, [(1, "one", 1, None, None)])


@pytest.mark.live
def test_it_refuses_to_commit_a_failed_transaction(db):
    plan = plan_of(db, "items")
    ap = applier(db)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None, None)])
    with pytest.raises(EngineError):
        ap.insert(plan, [(1, "again", 1, None, None)])  # no savepoint: the transaction is now failed
    with pytest.raises(EngineError) as caught:
        ap.commit()
    assert not caught.value.permanent
    assert "rolled back instead of committed" in str(caught.value)
    ap.begin()
    ap.insert(plan, [(2, "two", 2, None, None)])
    ap.commit()
    assert rows_of(db, "app.items") == [(2, "two", 2, None, None)]
