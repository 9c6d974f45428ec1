"""DDL in the binary log: ALTER TABLE, TRUNCATE and DROP TABLE on captured tables, and rows of the new shape."""

from __future__ import annotations

from decimal import Decimal

import pytest

from endpoints.engines.base import Op

from .mysql_helpers import run
from .test_mysql_cdc import collect, engine_for, nothing_more, streaming, summary, tables

pytestmark = pytest.mark.live


@pytest.fixture
def source(mysql_database):
    url = mysql_database()
    run(url, "CREATE TABLE t (id int PRIMARY KEY, v varchar(10))", "INSERT INTO t VALUES (1, 'a')")
    return url


def changes(pieces):
    return [c for p in pieces for c in p.changes]


def shape(change) -> tuple:
    """(op, ddl, relation columns, the announced table's (column, native type, DMS type), its key)"""
    table = change.table
    columns = tuple((c.name, c.native_type, str(c.dms_type)) for c in table.columns) if table else None
    return (change.op, change.ddl, change.relation.columns, columns, table.primary_key if table else None)


def test_it_announces_added_and_dropped_columns_before_rows_of_the_new_shape(source):
    engine = engine_for(source)
    with streaming(engine, tables(engine, "t")) as (_cap, stream):
        run(source, "ALTER TABLE t ADD COLUMN w decimal(6,2) NOT NULL DEFAULT 0")
        [added] = changes(collect(stream, 1))
        run(source, "INSERT INTO t VALUES (2, 'b', 1.25)", "UPDATE t SET w = 2 WHERE id = 1")
        rows = changes(collect(stream, 2))
        run(source, "ALTER TABLE t DROP COLUMN v")
        [dropped] = changes(collect(stream, 1))
        run(source, "INSERT INTO t VALUES (3, 7)")
        [later] = changes(collect(stream, 1))
        nothing_more(stream)
    assert shape(added) == (
        Op.DDL, "ALTER TABLE t ADD COLUMN w decimal(6,2) NOT NULL DEFAULT 0", ("id", "v", "w"),
        (("id", "int(11)", "INT4"), ("v", "varchar(10)", "WSTRING(10)"), ("w", "decimal(6,2)", "NUMERIC(6,2)")),
        ("id",))
    assert [(c.op, c.relation.columns, c.before, c.after) for c in rows] == [
        (Op.INSERT, ("id", "v", "w"), None, (2, "b", Decimal("1.25"))),
        (Op.UPDATE, ("id", "v", "w"), (1, "a", Decimal("0.00")), (1, "a", Decimal("2.00")))]
    assert shape(dropped) == (Op.DDL, "ALTER TABLE t DROP COLUMN v", ("id", "w"),
                              (("id", "int(11)", "INT4"), ("w", "decimal(6,2)", "NUMERIC(6,2)")), ("id",))
    assert (later.relation.columns, later.after) == (("id", "w"), (3, Decimal("7.00")))


def test_it_follows_the_rows_own_shape_when_the_catalog_has_moved_on(source, caplog):
    """A backlog read after several ALTERs: the catalog already shows the last shape, the rows in
    between still have earlier ones, and each shape is announced before its rows. A column dropped
    since is known to no catalog read: its values are left out (and logged)."""
    engine = engine_for(source)
    start = engine.current_position()
    run(source, "ALTER TABLE t ADD COLUMN c int", "INSERT INTO t VALUES (2, 'b', 3)",
        "ALTER TABLE t ADD COLUMN d int", "INSERT INTO t VALUES (4, 'e', 5, 6)", "ALTER TABLE t DROP COLUMN v",
        "INSERT INTO t VALUES (7, 8, 9)")
    with streaming(engine, tables(engine, "t"), start=start) as (_cap, stream):
        found = changes(collect(stream, 6))
        nothing_more(stream)
    seen = "table definition changed (seen in the binary log)"
    assert [(c.op, c.ddl, c.relation.columns, c.after) for c in found] == [
        (Op.DDL, "ALTER TABLE t ADD COLUMN c int", ("id", "c", "d"), None),  # the catalog's shape by then
        (Op.DDL, seen, ("id", "c"), None),  # the rows' shape: d does not exist yet
        (Op.INSERT, None, ("id", "v", "c"), (2, "b", 3)),
        (Op.DDL, "ALTER TABLE t ADD COLUMN d int", ("id", "c", "d"), None),
        (Op.INSERT, None, ("id", "v", "c", "d"), (4, "e", 5, 6)),
        (Op.DDL, "ALTER TABLE t DROP COLUMN v", ("id", "c", "d"), None),
        (Op.INSERT, None, ("id", "c", "d"), (7, 8, 9)),
    ]
    announced = [tuple(col.name for col in c.table.columns) for c in found if c.op is Op.DDL]
    assert announced == [("id", "c", "d"), ("id", "c"), ("id", "c", "d"), ("id", "c", "d")]
    assert caplog.text.count("carry column(s) v that the catalog no longer describes") == 2


def test_it_announces_each_shape_when_the_stream_keeps_up(source):
    engine = engine_for(source)
    with streaming(engine, tables(engine, "t")) as (_cap, stream):
        found = []
        for statement in ("ALTER TABLE t ADD COLUMN c int", "INSERT INTO t VALUES (2, 'b', 3)",
                          "ALTER TABLE t DROP COLUMN v", "INSERT INTO t VALUES (4, 5)"):
            run(source, statement)
            found += changes(collect(stream, 1))
        nothing_more(stream)
    assert [(c.op, c.relation.columns, c.after) for c in found] == [
        (Op.DDL, ("id", "v", "c"), None), (Op.INSERT, ("id", "v", "c"), (2, "b", 3)),
        (Op.DDL, ("id", "c"), None), (Op.INSERT, ("id", "c"), (4, 5))]


def test_it_streams_truncate_and_drop_table(source):
    run(source, "CREATE TABLE u (id int PRIMARY KEY)")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "t", "u")) as (_cap, stream):
        run(source, "TRUNCATE TABLE t", "DROP TABLE IF EXISTS u, t")
        truncate, drop = collect(stream, 2)
        nothing_more(stream)
    assert summary([truncate]) == [[("t", Op.TRUNCATE, None)]]
    assert [(c.op, c.relation.table, c.ddl, c.table) for c in drop.changes] == [
        (Op.DDL, "u", "DROP TABLE IF EXISTS `u`,`t` /* generated by server */", None),
        (Op.DDL, "t", "DROP TABLE IF EXISTS `u`,`t` /* generated by server */", None)]


def test_it_ignores_ddl_on_other_tables_and_other_databases(source, mysql_database):
    other = mysql_database()
    run(other, "CREATE TABLE t (id int PRIMARY KEY)")
    run(source, "CREATE TABLE other (id int PRIMARY KEY)")
    engine = engine_for(source)
    with streaming(engine, tables(engine, "t")) as (_cap, stream):
        run(other, "ALTER TABLE t ADD x int", "TRUNCATE t", "DROP TABLE t")
        run(source, "ALTER TABLE other ADD x int", "TRUNCATE other", "CREATE TEMPORARY TABLE t (z int)",
            "DROP TEMPORARY TABLE t", "INSERT INTO t VALUES (2, 'b')")
        pieces = collect(stream, 1)
        nothing_more(stream)
    assert summary(pieces) == [[("t", Op.INSERT, (2, "b"))]]
