"""MySQL applier primitives on a live MariaDB, each on both paths: one statement per update, and staged runs.

Inserts and deletes are multi-row statements on both paths. The helpers here are shared by
the other test_mysql_apply_* files.
"""

from __future__ import annotations

import pytest

from endpoints.engines.base import UNCHANGED, Op, TargetChange
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.mysql import MySQLEngine
from endpoints.engines.mysql.applier import MySQLApplier
from endpoints.engines.plan import ColumnPlan, TablePlan
from endpoints.engines.types import DmsType, T
from endpoints.tests.mysql_helpers import plan_for, query, run

NEVER = 10**9
PATHS = ["rows", "loads", "inserts"]


def applier(url: str, path: str = "rows", schema: str | None = None) -> MySQLApplier:
    """path "rows": every update its own statement, inserts as multi-row INSERTs; "loads": every update run
    through a staging table and every insert through LOAD DATA LOCAL; "inserts": the same with LOAD DATA
    refused, as by a server with local_infile=OFF. The control tables go to the test's own database
    unless `schema` says otherwise."""
    info = ConnectionInfo.from_url(url)
    bulk = path != "rows"
    return MySQLApplier(info, info.database if schema is None else schema, set_based_min=1 if bulk else NEVER,
                        load_min=1 if bulk else NEVER, local_infile=path != "inserts")


def db_name(url: str) -> str:
    return ConnectionInfo.from_url(url).database


def rows_of(url: str, table: str, order: str = "1") -> list[tuple]:
    return query(url, f"SELECT * FROM `{table}` ORDER BY {order}")


def upd(key: tuple, row: tuple) -> TargetChange:
    return TargetChange(Op.UPDATE, key=key, row=row)


ITEMS = "CREATE TABLE items (id int PRIMARY KEY, name varchar(10) NOT NULL, qty int, note text)"
LINES = "CREATE TABLE `lines` (order_id bigint, line int, sku varchar(20), qty int, PRIMARY KEY (order_id, line))"
LOG = "CREATE TABLE log (seq int, message text, at datetime(6))"


@pytest.fixture
def db(mysql_database) -> str:
    url = mysql_database()
    run(url, ITEMS, LINES, LOG)
    return url


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_inserts_updates_and_deletes_by_key(db, path):
    plan = plan_for(db, "items")
    ap = applier(db, path)
    ap.begin()
    assert ap.insert(plan, [(1, "one", 1, "a"), (2, "two", 2, None), (3, "three", 3, "c")]) == 3
    assert ap.update(plan, [upd((1,), (1, "uno", 10, "A")), upd((2,), (2, "dos", 20, None))]) == 2
    assert ap.delete(plan, [(3,)]) == 1
    ap.commit()
    assert rows_of(db, "items") == [(1, "uno", 10, "A"), (2, "dos", 20, None)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_applies_by_composite_key(db, path):
    plan = plan_for(db, "lines")
    assert plan.key == ("order_id", "line")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(7, 1, "a", 1), (7, 2, "b", 2), (8, 1, "c", 3)])
    assert ap.update(plan, [upd((7, 2), (7, 2, "b2", 5)), upd((8, 1), (8, 2, "c", 3))]) == 2  # the second moves
    assert ap.delete(plan, [(7, 1), (8, 1)]) == 1  # (8, 1) moved away
    ap.commit()
    assert rows_of(db, "lines", "1, 2") == [(7, 2, "b2", 5), (8, 2, "c", 3)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_keeps_unchanged_columns(db, path):
    plan = plan_for(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, "large value kept"), (2, "two", 2, "other")])
    assert ap.update(plan, [upd((1,), (1, "uno", 10, UNCHANGED)), upd((2,), (2, "dos", 20, UNCHANGED))]) == 2
    assert ap.update(plan, [upd((1,), (1, UNCHANGED, UNCHANGED, UNCHANGED))]) == 1  # nothing to set: row found
    assert ap.update(plan, [upd((2,), (UNCHANGED, UNCHANGED, 21, UNCHANGED))]) == 1  # the key itself not sent
    ap.commit()
    assert rows_of(db, "items") == [(1, "uno", 10, "large value kept"), (2, "dos", 21, "other")]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_counts_only_the_rows_found(db, path):
    plan = plan_for(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None), (2, "two", 2, None)])
    assert ap.update(plan, [upd((1,), (1, "x", 1, None)), upd((5,), (5, "y", 1, None)),
                            upd((2,), (2, "z", 1, None))]) == 2
    assert ap.delete(plan, [(9,), (1,), (8,)]) == 1
    assert ap.delete(plan, []) == 0
    ap.commit()
    assert rows_of(db, "items") == [(2, "z", 1, None)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_counts_an_update_to_the_values_a_row_already_has_as_found(db, path):
    plan = plan_for(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None), (2, "two", 2, "n")])
    assert ap.update(plan, [upd((1,), (1, "one", 1, None)), upd((2,), (2, "two", 2, "n"))]) == 2
    assert ap.update(plan, [upd((1,), (1, "one", 1, None)), upd((1,), (1, "one", 1, None))]) == 2  # twice
    ap.commit()
    assert rows_of(db, "items") == [(1, "one", 1, None), (2, "two", 2, "n")]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_applies_one_row_per_change_on_keyless_tables_with_duplicates(db, path):
    plan = plan_for(db, "log")
    assert plan.key == ()
    ap = applier(db, path)
    ap.begin()
    same = (1, "dup", None)
    ap.insert(plan, [same, same, same, (2, "b", None)])
    assert ap.delete(plan, [same]) == 1
    assert ap.update(plan, [upd(same, (1, "changed", None))]) == 1
    assert ap.delete(plan, [(2, "b", None), (2, "b", None), (3, "none", None)]) == 1
    ap.commit()
    assert rows_of(db, "log", "2") == [(1, "changed", None), (1, "dup", None)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_updates_as_many_keyless_rows_as_changes_with_the_same_old_values(db, path):
    plan = plan_for(db, "log")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "a", None)] * 3)
    # Two changes of equal rows change two of the three; the third change finds the value the first made.
    assert ap.update(plan, [upd((1, "a", None), (1, "b", None)), upd((1, "a", None), (1, "c", None)),
                            upd((1, "b", None), (1, "d", None))]) == 3
    ap.commit()
    assert rows_of(db, "log", "2") == [(1, "a", None), (1, "c", None), (1, "d", None)]


@pytest.mark.live
def test_it_matches_keyless_rows_byte_for_byte(db):
    # The default collation would take 'a' for 'A' and 'a ' for 'a': the wrong row would change.
    run(db, "CREATE TABLE words (w varchar(10) COLLATE utf8mb4_general_ci, f float)")
    plan = plan_for(db, "words")
    ap = applier(db)
    ap.begin()
    ap.insert(plan, [("A", 0.1), ("a ", 0.1), ("a", 0.1)])
    assert ap.delete(plan, [("a", 0.1)]) == 1  # a FLOAT 0.1 is found, though it is not the double 0.1
    assert ap.update(plan, [upd(("A", 0.1), ("B", 0.5))]) == 1
    ap.commit()
    assert query(db, "SELECT w, f FROM words ORDER BY BINARY w") == [("B", 0.5), ("a ", 0.1)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_upserts_by_key_and_keyless(db, path):
    items, log = plan_for(db, "items"), plan_for(db, "log")
    ap = applier(db, path)
    ap.begin()
    ap.insert(items, [(1, "one", 1, None)])
    assert ap.insert(items, [(1, "uno", 9, "x"), (2, "two", 2, None), (2, "dos", 3, None)], upsert=True) == 3
    ap.insert(log, [(1, "kept once", None)])
    # a replay of rows the load already has: no duplicate; two equal new rows both arrive
    assert ap.insert(log, [(1, "kept once", None), (2, "new", None), (2, "new", None)], upsert=True) == 3
    ap.commit()
    assert rows_of(db, "items") == [(1, "uno", 9, "x"), (2, "dos", 3, None)]
    assert rows_of(db, "log", "1, 2") == [(1, "kept once", None), (2, "new", None), (2, "new", None)]


@pytest.mark.live
def test_it_upserts_on_a_unique_index_key_and_on_a_key_only_table(db):
    run(db, "CREATE TABLE codes (code varchar(5) NOT NULL, label text, UNIQUE KEY (code))",
        "CREATE TABLE tags (tag varchar(5) PRIMARY KEY)")
    codes, tags = plan_for(db, "codes"), plan_for(db, "tags")
    assert (codes.key, codes.key_origin) == (("code",), "unique-index")
    for label in ("first", "second"):
        ap = applier(db)
        ap.begin()
        ap.insert(codes, [("a", label), ("b", label)], upsert=True)
        ap.insert(tags, [("x",), ("y",)], upsert=True)
        ap.commit()
        ap.close()
    assert rows_of(db, "codes") == [("a", "second"), ("b", "second")]
    assert rows_of(db, "tags") == [("x",), ("y",)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_applies_the_same_key_twice_in_one_run_in_order(db, path):
    plan = plan_for(db, "items")
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
    assert rows_of(db, "items") == [(1, "c", 3, None), (2, "into 2", 3, None), (5, "again", 2, None)]


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_truncates_inside_the_transaction(db, path):
    plan = plan_for(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None)])
    ap.commit()
    ap.begin()
    ap.truncate(plan)
    ap.insert(plan, [(2, "two", 2, None)])
    ap.rollback()  # a TRUNCATE TABLE would have committed; the truncate is undone with the rest
    assert rows_of(db, "items") == [(1, "one", 1, None)]
    ap.begin()
    ap.truncate(plan)
    ap.insert(plan, [(2, "two", 2, None)])
    ap.commit()
    assert rows_of(db, "items") == [(2, "two", 2, None)]


def _columns(url: str, table: str) -> list[tuple]:
    return query(url, "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS "
                      "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (db_name(url), table))


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_adds_and_drops_columns_once_however_often_asked(db, path):
    plan = plan_for(db, "items")
    ap = applier(db, path)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, "n")])
    column = ColumnPlan("added", DmsType(T.NUMERIC, precision=8, scale=2), "DECIMAL(8,2)", nullable=False,
                        source="added")
    ap.execute_ddl(plan, "add-column", column)
    ap.execute_ddl(plan, "add-column", column)  # a replayed DDL: nothing happens
    wider = TablePlan(plan.source, plan.target_schema, plan.target_table, (*plan.columns, column), plan.key)
    ap.insert(wider, [(2, "two", 2, None, 12.5)])
    ap.update(wider, [upd((1,), (1, "uno", 1, UNCHANGED, 7))])
    ap.execute_ddl(wider, "drop-column", "note")
    ap.execute_ddl(wider, "drop-column", "note")
    narrower = TablePlan(plan.source, plan.target_schema, plan.target_table,
                         tuple(c for c in wider.columns if c.name != "note"), plan.key)
    ap.insert(narrower, [(3, "three", 3, None)])
    ap.commit()
    from decimal import Decimal

    assert rows_of(db, "items") == [(1, "uno", 1, Decimal("7.00")), (2, "two", 2, Decimal("12.50")),
                                    (3, "three", 3, None)]
    assert _columns(db, "items") == [("id", "int(11)", "NO"), ("name", "varchar(10)", "NO"), ("qty", "int(11)", "YES"),
                                     ("added", "decimal(8,2)", "YES")]


@pytest.mark.live
def test_it_commits_what_came_before_a_ddl_because_mysql_does(db):
    plan = plan_for(db, "items")
    ap = applier(db)
    ap.begin()
    ap.insert(plan, [(1, "one", 1, None)])
    ap.execute_ddl(plan, "drop-column", "note")
    ap.rollback()
    assert rows_of(db, "items") == [(1, "one", 1)]
    narrower = TablePlan(plan.source, plan.target_schema, plan.target_table, plan.columns[:3], plan.key)
    ap.begin()
    ap.insert(narrower, [(2, "two", 2)])
    ap.execute_ddl(narrower, "drop-column", "note")  # already gone: no ALTER, so no commit either
    ap.rollback()
    assert rows_of(db, "items") == [(1, "one", 1)]


@pytest.mark.live
def test_it_refuses_a_column_type_it_would_paste_into_sql(db):
    plan = plan_for(db, "items")
    ap = applier(db)
    bad = ColumnPlan("x", DmsType(T.INT4), "int; DROP TABLE items", source="x")
    with pytest.raises(Exception, match="not a MySQL type"):
        ap.execute_ddl(plan, "add-column", bad)


@pytest.mark.live
def test_it_creates_the_control_tables_in_the_control_schema(db, mysql_database):
    control = db_name(mysql_database())
    applier(db, schema=control).close()
    tables = query(db, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                       "AND TABLE_NAME IN ('awsdms_apply_exceptions', 'awsdms_table_state', 'awsdms_txn_state') "
                       "ORDER BY 1", (control,))
    assert tables == [("awsdms_apply_exceptions",), ("awsdms_table_state",), ("awsdms_txn_state",)]
    columns = query(db, "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS "
                        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'awsdms_table_state'", (control,))
    assert columns == [("TASK_NAME,TABLE_OWNER,TABLE_NAME,STATE,SNAPSHOT_POSITION,APPLIED_POSITION,UPDATED_AT",)]


@pytest.mark.live
def test_it_defaults_the_control_schema_to_awsdms_control(db):
    ap = applier(db, schema="")
    try:
        assert ap.schema == "awsdms_control"
        assert query(db, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'awsdms_control' "
                         "AND TABLE_NAME = 'awsdms_table_state'") == [(1,)]
    finally:
        ap.close()


@pytest.mark.live
def test_it_is_opened_by_the_engine(db):
    ap = MySQLEngine(ConnectionInfo.from_url(db)).open_applier(db_name(db))
    try:
        assert isinstance(ap, MySQLApplier)
        assert ap.load_state("nothing yet") == (None, {})
    finally:
        ap.close()


@pytest.mark.live
def test_it_builds_statements_with_quoted_names(db):
    run(db, "CREATE TABLE `Odd ``name`` 100%` (`Key` int PRIMARY KEY, `a;b %s` text)")
    plan = plan_for(db, "Odd `name` 100%")
    for path in PATHS:
        ap = applier(db, path)
        ap.begin()
        ap.insert(plan, [({"rows": 1, "loads": 2, "inserts": 4}[path], "x %s 50%")])
        ap.update(plan, [upd((1,), (1, "y %% z"))])
        ap.insert(plan, [(3, "u")], upsert=True)
        ap.delete(plan, [(2,), (3,), (4,)])
        ap.commit()
    assert rows_of(db, "Odd ``name`` 100%%") == [(1, "y %% z")]
