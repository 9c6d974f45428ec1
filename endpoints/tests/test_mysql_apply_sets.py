"""MySQL applier: every type round trip, and the staged path equal to the row path on random runs."""

from __future__ import annotations

import random
from datetime import date, datetime, time
from decimal import Decimal

import pytest

from endpoints.engines.base import UNCHANGED
from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.mysql import MySQLEngine
from endpoints.engines.mysql.typemap import target_type
from endpoints.engines.plan import ColumnPlan, PrepMode, TablePlan
from endpoints.engines.types import DmsType, T, make_type
from endpoints.tests.mysql_helpers import ZOO_DDL, ZOO_INSERTS, plan_for, query, read_all, run
from endpoints.tests.test_mysql_apply import PATHS, applier, db_name, upd

# ---- MySQL to MySQL: the value zoo --------------------------------------------------------------


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_writes_every_mysql_type_back_as_the_source_has_it(mysql_database, path):
    source, target = mysql_database(), mysql_database()
    run(source, ZOO_DDL, *ZOO_INSERTS)
    run(target, ZOO_DDL, "CREATE TABLE zoo_keyless LIKE zoo", "ALTER TABLE zoo_keyless DROP PRIMARY KEY")
    plan = plan_for(source, "zoo")
    rows = sorted((row for batch in read_all(source, plan) for row in batch.data), key=lambda r: r[0])[:2]
    keyed = plan_for(target, "zoo")
    keyless = plan_for(target, "zoo_keyless")
    assert keyless.key == ()
    ap = applier(target, path)
    ap.begin()
    assert ap.insert(keyed, rows) == 2
    # row 2 (all NULL) takes every value of row 1 by key; row 1 is rewritten with its own values
    assert ap.update(keyed, [upd((2,), (2, *rows[0][1:])), upd((1,), rows[0])]) == 2
    ap.insert(keyless, rows + rows)
    assert ap.delete(keyless, [rows[0]]) == 1  # every column compared: float, bit, binary, json, enum, set
    assert ap.update(keyless, [upd(rows[1], rows[0])]) == 1
    assert ap.delete(keyless, [rows[0], rows[0]]) == 2
    ap.commit()
    ap.close()

    expected = query(source, "SELECT * FROM zoo WHERE id = 1")[0]
    assert query(target, "SELECT * FROM zoo ORDER BY id") == [expected, (2, *expected[1:])]
    assert query(target, "SELECT * FROM zoo_keyless") == [rows_as_selected(source, 2)]


def rows_as_selected(url: str, row_id: int) -> tuple:
    return query(url, "SELECT * FROM zoo WHERE id = %s", (row_id,))[0]


# ---- canonical values of every DMS type into the types DMS creates --------------------------------

DMS_COLUMNS = [
    ("id", make_type(T.INT4)), ("bo", DmsType(T.BOOLEAN)), ("by", make_type(T.BYTES, 8)), ("d", DmsType(T.DATE)),
    ("t", make_type(T.TIME, 6)), ("dt", make_type(T.DATETIME, 6)), ("i1", DmsType(T.INT1)), ("i2", DmsType(T.INT2)),
    ("i4", DmsType(T.INT4)), ("i8", DmsType(T.INT8)), ("n65", make_type(T.NUMERIC, 65, 30)),
    ("n12", make_type(T.NUMERIC, 12, 2)), ("r4", DmsType(T.REAL4)), ("r8", DmsType(T.REAL8)),
    ("s", make_type(T.STRING, 20)), ("w", make_type(T.WSTRING, 20)), ("u1", DmsType(T.UINT1)),
    ("u2", DmsType(T.UINT2)), ("u4", DmsType(T.UINT4)), ("u8", DmsType(T.UINT8)), ("bl", DmsType(T.BLOB)),
    ("cl", DmsType(T.CLOB)), ("nc", DmsType(T.NCLOB)),
]
EXTREMES = (
    1, True, b"\x00bin\x00\xff", date(1, 1, 1), time(23, 59, 59, 999999), datetime(9999, 12, 31, 23, 59, 59, 999999),
    -128, -32768, -2147483648, -9223372036854775808,
    Decimal("-99999999999999999999999999999999999.999999999999999999999999999999"), Decimal("9999999999.99"),
    0.1, 1.7976931348623157e308, "", "\U0001F600 4-byte ✓", 255, 65535, 4294967295, 18446744073709551615,
    b"\x00" * 3 + bytes(range(256)), "tab\there\nnew\\end 'quoted' %s", "\U0001F600" * 1000,
)
# What PyMySQL reads back: BOOLEAN is TINYINT(1), TIME a timedelta, FLOAT single precision.
READ_BACK = (
    1, 1, b"\x00bin\x00\xff", date(1, 1, 1), None, datetime(9999, 12, 31, 23, 59, 59, 999999),
    -128, -32768, -2147483648, -9223372036854775808,
    Decimal("-99999999999999999999999999999999999.999999999999999999999999999999"), Decimal("9999999999.99"),
    0.1, 1.7976931348623157e308, "", "\U0001F600 4-byte ✓", 255, 65535, 4294967295, 18446744073709551615,
    b"\x00" * 3 + bytes(range(256)), "tab\there\nnew\\end 'quoted' %s", "\U0001F600" * 1000,
)
NULLS = (2, *[None] * (len(DMS_COLUMNS) - 1))


def _dms_plan(url: str, table: str, keyed: bool) -> TablePlan:
    database = db_name(url)
    columns = tuple(SourceColumn(n, str(t), t) for n, t in DMS_COLUMNS)
    source = SourceTable(database, table, columns, primary_key=("id",) if keyed else ())
    plan = TablePlan(source, database, table, tuple(ColumnPlan(n, t, target_type(t), source=n) for n, t in DMS_COLUMNS),
                     key=("id",) if keyed else ())
    MySQLEngine(ConnectionInfo.from_url(url)).prepare_table(plan, PrepMode.DROP_AND_CREATE)
    return plan


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_round_trips_canonical_values_of_every_dms_type(mysql_database, path):
    url = mysql_database()
    keyed, keyless = _dms_plan(url, "every_type", True), _dms_plan(url, "every_keyless", False)
    ap = applier(url, path)
    ap.begin()
    assert ap.insert(keyed, [EXTREMES, NULLS]) == 2
    assert ap.update(keyed, [upd((2,), (2, *EXTREMES[1:])), upd((1,), EXTREMES)]) == 2
    empty_vs_null = tuple(3 if i == 0 else "" if i == 14 else None for i in range(len(DMS_COLUMNS)))  # s is ''
    assert ap.insert(keyed, [empty_vs_null], upsert=True) == 1
    ap.insert(keyless, [EXTREMES, NULLS, EXTREMES])
    assert ap.delete(keyless, [EXTREMES, NULLS]) == 2  # found by every column, REAL4 0.1 and NULLs included
    assert ap.update(keyless, [upd(EXTREMES, (*EXTREMES[:14], "changed", *EXTREMES[15:]))]) == 1
    ap.commit()
    ap.close()

    got = query(url, "SELECT * FROM every_type ORDER BY id")
    # TIME comes back from PyMySQL as a timedelta; FLOAT as the nearest double of the single 0.1
    got = [tuple(v for i, v in enumerate(row) if i not in (4, 12)) for row in got]
    expected = tuple(v for i, v in enumerate(READ_BACK) if i not in (4, 12))
    assert got[0] == expected
    assert got[1] == (2, *expected[1:])
    assert got[2] == (3, *[None] * 11, "", *[None] * 8)
    assert query(url, "SELECT CAST(t AS CHAR), r4 = CAST(0.1 AS FLOAT) FROM every_type WHERE id = 1") == [
        ("23:59:59.999999", 1)]
    assert query(url, "SELECT s, COUNT(*) FROM every_keyless GROUP BY s") == [("changed", 1)]


# ---- the bulk paths give what the row path gives ------------------------------------------------

def _random_runs(seed: int, keyed: bool) -> tuple[list[tuple[str, list]], list[tuple]]:
    """Runs (op, items) as the apply loop cuts them: one op and one UNCHANGED mask per run; keys moved,
    repeated, missing; long runs so the staged path is taken. Also the rows they leave, sorted."""
    rnd = random.Random(seed)
    live: dict[tuple, tuple] = {}  # keyed: (a, b) -> row
    bag: list[tuple] = []  # keyless rows
    out: list[tuple[str, list]] = []
    for _ in range(60):
        op = rnd.choice(["insert", "insert", "update", "update", "update", "delete", "upsert"])
        size = rnd.choice([1, 2, 3, 5, 8, 30, 120, 400])
        mask = rnd.random() < 0.3
        items: list = []
        for _ in range(size):
            if keyed:
                key = (rnd.randint(1, 60), rnd.randint(1, 3))
                row = (*key, rnd.choice(["x", "y", None, "z\tq\\n", "%s"]), rnd.randint(-5, 5))
                if op == "insert":
                    if key in live:
                        continue
                    live[key] = row
                    items.append(row)
                elif op == "upsert":
                    live[key] = row
                    items.append(row)
                elif op == "update":
                    old = rnd.choice(list(live)) if live and rnd.random() < 0.9 else key
                    new = old if rnd.random() < 0.8 else key
                    if new != old and new in live:
                        new = old
                    row = (*new, UNCHANGED if mask else row[2], row[3])
                    if old in live:
                        previous = live.pop(old)
                        live[new] = (*new, previous[2] if mask else row[2], row[3])
                    items.append(upd(old, row))
                else:
                    old = rnd.choice(list(live)) if live and rnd.random() < 0.8 else key
                    live.pop(old, None)
                    items.append(old)
            else:
                row = (rnd.randint(1, 4), rnd.choice(["a", "b", None]))
                if op == "insert":
                    bag.append(row)
                    items.append(row)
                elif op == "upsert":  # applied below: equal rows removed first, up to as many as inserted
                    items.append(row)
                elif op == "update":
                    old = rnd.choice(bag) if bag and rnd.random() < 0.9 else row
                    new = (row[0], UNCHANGED if mask else row[1])
                    items.append(upd(old, new))
                    if old in bag:
                        bag.remove(old)
                        bag.append((new[0], old[1] if mask else new[1]))
                else:
                    old = rnd.choice(bag) if bag and rnd.random() < 0.8 else row
                    if old in bag:
                        bag.remove(old)
                    items.append(old)
        if op == "upsert" and not keyed:
            for row in items:
                if row in bag:
                    bag.remove(row)
            bag += items
        if items:
            out.append((op, items))
    return out, sorted(live.values()) if keyed else sorted(bag, key=repr)


def _apply(url: str, path: str, runs: list[tuple[str, list]]) -> list[int]:
    plan = plan_for(url, "t")
    ap = applier(url, path)
    counts = []
    ap.begin()
    for op, items in runs:
        if op == "insert":
            counts.append(ap.insert(plan, items))
        elif op == "upsert":
            counts.append(ap.insert(plan, items, upsert=True))
        elif op == "update":
            counts.append(ap.update(plan, items))
        else:
            counts.append(ap.delete(plan, items))
    ap.commit()
    ap.close()
    return counts


@pytest.mark.live
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_gives_the_same_table_on_every_path_for_random_keyed_runs(mysql_database, seed):
    runs, left = _random_runs(seed, keyed=True)
    assert len(left) > 10
    results = []
    for path in PATHS:
        url = mysql_database()
        run(url, "CREATE TABLE t (a int, b int, s text, v int, PRIMARY KEY (a, b))")
        results.append((_apply(url, path, runs), query(url, "SELECT * FROM t ORDER BY a, b")))
    assert results[0] == results[1] == results[2]
    assert results[0][1] == [tuple(r) for r in left]


@pytest.mark.live
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_gives_the_same_table_on_every_path_for_random_keyless_runs(mysql_database, seed):
    runs, left = _random_runs(seed, keyed=False)
    results = []
    for path in PATHS:
        url = mysql_database()
        run(url, "CREATE TABLE t (a int, s text)")
        results.append((_apply(url, path, runs), sorted(query(url, "SELECT a, s FROM t"), key=repr)))
    assert results[0] == results[1] == results[2]
    assert results[0][1] == left
