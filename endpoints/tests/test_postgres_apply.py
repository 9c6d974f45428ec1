"""PostgreSQL applier primitives on a live server, each on both paths: row statements and staging tables.

The helpers here are shared by the other test_postgres_apply_* files.
"""

from __future__ import annotations

import psycopg
import pytest

from endpoints.engines.base import UNCHANGED, Op, TargetChange
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.plan import ColumnPlan, TablePlan, identity_plan
from endpoints.engines.postgres.applier import PostgresApplier
from endpoints.engines.types import DmsType, T
from endpoints.tests.postgres_support import engine_for, run_sql

NEVER = 10**9
PATHS = ["rows", "sets", "prepared"]


class PreparingApplier(PostgresApplier):
    """Updates the way the apply loop sends them: prepare_update() (the loop's thread), then
    update_prepared() (the writer's); a table not seen yet is not prepared, as in the loop."""

    prepared_runs = 0

    def update(self, plan, changes):
        prepared = self.prepare_update(plan, changes)
        if prepared is None:
            return super().update(plan, changes)
        self.prepared_runs += 1
        return self.update_prepared(plan, changes, prepared)


def applier(url: str, path: str = "rows", schema: str = "") -> PostgresApplier:
    """path "rows": every run as row statements; "sets": every run through a staging table;
    "prepared": the same, with keyed update runs cut and rendered by prepare_update first."""
    least = NEVER if path == "rows" else 1
    kind = PreparingApplier if path == "prepared" else PostgresApplier
    return kind(ConnectionInfo.from_url(url), schema, set_based_min=least, keyless_set_based_min=least)


def plan_of(url: str, table: str, schema: str = "app") -> TablePlan:
    engine = engine_for(url)
    [source] = [t for t in engine.list_tables([schema]) if t.name == table]
    return identity_plan(source, engine, source_engine="postgres")


def rows_of(url: str, table: str, order: str = "1") -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()


def upd(key: tuple, row: tuple) -> TargetChange:
    return TargetChange(Op.UPDATE, key=key, row=row)


ITEMS = "CREATE TABLE app.items (id integer PRIMARY KEY, name varchar(10) NOT NULL, qty integer, note text)"
LINES = ("CREATE TABLE app.lines (order_id bigint, line integer, sku varchar(20), qty integer, "
         "PRIMARY KEY (order_id, line))")
LOG = "CREATE TABLE app.log (seq integer, message text, at timestamp)"


@pytest.fixture
def db(pg_database) -> str:
    url = pg_database()
    run_sql(url, "CREATE SCHEMA app", ITEMS, LINES, LOG)
    return url


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_inserts_updates_and_deletes_by_key(db, path):
    plan = plan_of(db, "items")
    ap = applier(db, path)
    ap.begin()
    assert ap.insert(plan, [(1, "one", 1, "a"), (2, "two", 2, None), (3, "three", 3, "c")]) == 3
    assert ap.update(plan, [upd((1,), (1, "uno", 10, "A")), upd((2,), (2, "dos", 20, None))]) == 2
    assert ap.delete(plan, [(3,)]) == 1
    ap.commit()
    assert rows_of(db, "app.items") == [(1, "uno", 10, "A"), (2, "dos", 20, None)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_applies_by_composite_key(db, path):
    plan = plan_of(db, "lines")
    assert plan.key == ("order_id", "line")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(7, 1, "a", 1), (7, 2, "b", 2), (8, 1, "c", 3)])
    assert ap.update(plan, [upd((7, 2), (7, 2, "b2", 5)), upd((8, 1), (8, 2, "c", 3))]) == 2  # the second moves
    assert ap.delete(plan, [(7, 1), (8, 1)]) == 1  # (8, 1) moved away
    ap.commit()
    assert rows_of(db, "app.lines", "1, 2") == [(7, 2, "b2", 5), (8, 2, "c", 3)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_keeps_unchanged_columns(db, path):
    plan = plan_of(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, "large value kept"), (2, "two", 2, "other")])
    assert ap.update(plan, [upd((1,), (1, "uno", 10, UNCHANGED)), upd((2,), (2, "dos", 20, UNCHANGED))]) == 2
    assert ap.update(plan, [upd((1,), (1, UNCHANGED, UNCHANGED, UNCHANGED))]) == 1  # nothing to set: row found
    ap.commit()
    assert rows_of(db, "app.items") == [(1, "uno", 10, "large value kept"), (2, "dos", 20, "other")]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_finds_rows_by_the_old_key_when_the_new_image_did_not_send_the_key(db, path):
    """A key column the source did not send (UNCHANGED) kept its value: the row is found by the old key,
    never by a blank where the new image has none."""
    plan = plan_of(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, "a"), (2, "two", 2, "b"), (3, "three", 3, "c")])
    unsent = [upd((1,), (UNCHANGED, "uno", 10, UNCHANGED)), upd((3,), (UNCHANGED, "tres", 30, UNCHANGED))]
    assert ap.update(plan, unsent) == 2
    ap.commit()
    assert rows_of(db, "app.items") == [(1, "uno", 10, "a"), (2, "two", 2, "b"), (3, "tres", 30, "c")]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_counts_only_the_rows_found(db, path):
    plan = plan_of(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None), (2, "two", 2, None)])
    assert ap.update(plan, [upd((1,), (1, "x", 1, None)), upd((5,), (5, "y", 1, None)),
                            upd((2,), (2, "z", 1, None))]) == 2
    assert ap.delete(plan, [(9,), (1,), (8,)]) == 1
    assert ap.delete(plan, []) == 0
    ap.commit()
    assert rows_of(db, "app.items") == [(2, "z", 1, None)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_applies_one_row_per_change_on_keyless_tables_with_duplicates(db, path):
    plan = plan_of(db, "log")
    assert plan.key == ()
    ap = applier(db, path)
    ap.begin()
    same = (1, "dup", None)
    ap.insert(plan, [same, same, same, (2, "b", None)])
    assert ap.delete(plan, [same]) == 1
    assert ap.update(plan, [upd(same, (1, "changed", None))]) == 1
    assert ap.delete(plan, [(2, "b", None), (2, "b", None), (3, "none", None)]) == 1
    ap.commit()
    assert rows_of(db, "app.log", "2") == [(1, "changed", None), (1, "dup", None)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_updates_as_many_keyless_rows_as_changes_with_the_same_old_values(db, path):
    plan = plan_of(db, "log")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "a", None)] * 3)
    # Two changes of equal rows change two of the three; the third change finds the value the first made.
    assert ap.update(plan, [upd((1, "a", None), (1, "b", None)), upd((1, "a", None), (1, "c", None)),
                            upd((1, "b", None), (1, "d", None))]) == 3
    ap.commit()
    assert rows_of(db, "app.log", "2") == [(1, "a", None), (1, "c", None), (1, "d", None)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_upserts_by_key_and_keyless(db, path):
    items, log = plan_of(db, "items"), plan_of(db, "log")
    ap = applier(db, path)
    ap.begin()
    ap.insert(items, [(1, "one", 1, None)])
    assert ap.insert(items, [(1, "uno", 9, "x"), (2, "two", 2, None), (2, "dos", 3, None)], upsert=True) == 3
    ap.insert(log, [(1, "kept once", None)])
    # a replay of rows the load already has: no duplicate; two equal new rows both arrive
    assert ap.insert(log, [(1, "kept once", None), (2, "new", None), (2, "new", None)], upsert=True) == 3
    ap.commit()
    assert rows_of(db, "app.items") == [(1, "uno", 9, "x"), (2, "dos", 3, None)]
    assert rows_of(db, "app.log", "1, 2") == [(1, "kept once", None), (2, "new", None), (2, "new", None)]


@pytest.mark.live
def test_it_upserts_on_a_unique_index_key(db):
    run_sql(db, "CREATE TABLE app.codes (code varchar(5) NOT NULL, label text)",
            "CREATE UNIQUE INDEX ON app.codes (code)")
    plan = plan_of(db, "codes")
    assert (plan.key, plan.key_origin) == (("code",), "unique-index")
    for path in PATHS:
        ap = applier(db, path)
        ap.begin()
        ap.insert(plan, [("a", path), ("b", path)], upsert=True)
        ap.commit()
    assert rows_of(db, "app.codes") == [("a", PATHS[-1]), ("b", PATHS[-1])]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_applies_the_same_key_twice_in_one_run_in_order(db, path):
    plan = plan_of(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None), (2, "two", 2, None), (3, "three", 3, None)])
    changes = [
        upd((1,), (1, "a", 1, None)), upd((1,), (1, "b", 2, None)),  # one row twice: the last wins
        upd((2,), (4, "moved", 2, None)), upd((4,), (5, "again", 2, None)),  # a key moved twice
        upd((3,), (2, "into 2", 3, None)),  # into the key the earlier change freed
        upd((1,), (1, "c", 3, None)), upd((9,), (9, "none", 0, None)), upd((9,), (9, "none", 0, None)),
    ]
    assert ap.update(plan, changes) == 6
    ap.commit()
    assert rows_of(db, "app.items") == [(1, "c", 3, None), (2, "into 2", 3, None), (5, "again", 2, None)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_truncates(db, path):
    plan = plan_of(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None)])
    ap.truncate(plan)
    ap.insert(plan, [(2, "two", 2, None)])
    ap.commit()
    assert rows_of(db, "app.items") == [(2, "two", 2, None)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_adds_and_drops_columns(db, path):
    plan = plan_of(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, "n")])
    column = ColumnPlan("added", DmsType(T.NUMERIC, precision=8, scale=2), "numeric(8,2)", nullable=False,
                        source="added")
    ap.execute_ddl(plan, "add-column", column)
    wider = TablePlan(plan.source, plan.target_schema, plan.target_table, (*plan.columns, column), plan.key)
    ap.insert(wider, [(2, "two", 2, None, 12.5)])
    ap.update(wider, [upd((1,), (1, "uno", 1, UNCHANGED, 7))])
    ap.execute_ddl(wider, "drop-column", "note")
    narrower = TablePlan(plan.source, plan.target_schema, plan.target_table,
                         tuple(c for c in wider.columns if c.name != "note"), plan.key)
    ap.insert(narrower, [(3, "three", 3, None)])
    ap.commit()
    assert rows_of(db, "app.items") == [(1, "uno", 1, 7), (2, "two", 2, 12.5), (3, "three", 3, None)]
    with psycopg.connect(db, autocommit=True) as conn:
        assert conn.execute("SELECT is_nullable, numeric_precision FROM information_schema.columns "
                            "WHERE table_name = 'items' AND column_name = 'added'").fetchone() == ("YES", 8)


@pytest.mark.live
def test_it_refuses_a_column_type_it_would_paste_into_sql(db):
    plan = plan_of(db, "items")
    ap = applier(db)
    bad = ColumnPlan("x", DmsType(T.INT4), "int; DROP TABLE app.items", source="x")
    with pytest.raises(Exception, match="not a PostgreSQL type"):
        ap.execute_ddl(plan, "add-column", bad)


@pytest.mark.live
def test_it_creates_the_control_tables_in_the_control_schema(db):
    applier(db, schema="dms_ctl").close()
    applier(db).close()  # "" is public
    with psycopg.connect(db, autocommit=True) as conn:
        tables = conn.execute("SELECT table_schema, table_name FROM information_schema.tables "
                              "WHERE table_name IN ('awsdms_apply_exceptions', 'awsdms_table_state', "
                              "'awsdms_txn_state') ORDER BY 1, 2").fetchall()
    assert tables == [("dms_ctl", "awsdms_apply_exceptions"), ("dms_ctl", "awsdms_table_state"),
                      ("dms_ctl", "awsdms_txn_state"), ("public", "awsdms_apply_exceptions"),
                      ("public", "awsdms_table_state"), ("public", "awsdms_txn_state")]


@pytest.mark.live
def test_it_is_opened_by_the_engine(db):
    ap = engine_for(db).open_applier("ctl")
    try:
        assert isinstance(ap, PostgresApplier)
        assert ap.load_state("nothing yet") == (None, {})
    finally:
        ap.close()


@pytest.mark.live
def test_it_builds_plans_with_quoted_names(db):
    run_sql(db, 'CREATE TABLE app."Odd ""name""" ("Key" int PRIMARY KEY, "a;b" text)')
    plan = plan_of(db, 'Odd "name"')
    for path in PATHS:
        ap = applier(db, path)
        ap.begin()
        ap.insert(plan, [(1 if path == "rows" else 2, "x")])
        ap.update(plan, [upd((1,), (1, "y"))])
        ap.delete(plan, [(2,)])
        ap.commit()
    assert rows_of(db, 'app."Odd ""name"""') == [(1, "y")]

