"""PostgreSQL applier: every type round trip, and the set-based path equal to the row path on random runs."""

from __future__ import annotations

import random

import psycopg
import pytest

from endpoints.engines.base import UNCHANGED, RowFormat
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.plan import identity_plan
from endpoints.engines.postgres.applier import PostgresApplier
from endpoints.tests.postgres_support import engine_for, run_sql
from endpoints.tests.test_postgres_apply import PATHS, applier, plan_of, rows_of, upd
from endpoints.tests.test_postgres_values import TYPES_SQL

# TYPES_SQL: two enum/composite/domain types, CREATE TABLE every_type, then two INSERTs.
TYPES_DDL = TYPES_SQL[:4]


def _texts(url: str, table: str) -> list[dict]:
    """Each row as {column: text form} (what the server shows, so values compare whatever their type)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(f"SELECT to_jsonb(r) FROM {table} AS r ORDER BY r.id").fetchall()
        return [row[0] for row in rows]


def _source_rows(url: str) -> tuple:
    engine = engine_for(url)
    [source] = [t for t in engine.list_tables() if t.name == "every_type"]
    plan = identity_plan(source, engine, source_engine="postgres")
    rows = [row for batch in engine.read(plan, None, fmt=RowFormat.PYTHON, batch_rows=10) for row in batch.data]
    return plan, sorted(rows, key=lambda r: r[0])


@pytest.mark.live
@pytest.mark.parametrize("path", PATHS)
def test_it_writes_every_type_back_as_the_source_has_it(pg_database, path):
    source, target = pg_database(), pg_database()
    run_sql(source, *TYPES_SQL)
    run_sql(target, *TYPES_DDL, "CREATE TABLE keyless AS SELECT * FROM every_type WITH NO DATA")
    plan, rows = _source_rows(source)
    ap = applier(target, path)
    ap.begin()
    assert ap.insert(plan, rows) == 2
    # row 2 (mostly NULL) takes every value of row 1 by key; row 1 is rewritten with its own values
    assert ap.update(plan, [upd((2,), (2, *rows[0][1:])), upd((1,), rows[0])]) == 2
    assert getattr(ap, "prepared_runs", 1) == 1  # the prepared path rendered every type itself
    keyless = plan_of(target, "keyless", schema="public")
    assert keyless.key == ()
    ap.insert(keyless, rows + rows)
    assert ap.delete(keyless, [rows[0]]) == 1  # every column compared, json and point included
    assert ap.update(keyless, [upd(rows[1], rows[0])]) == 1
    ap.commit()

    expected = _texts(source, "every_type")
    got = _texts(target, "every_type")
    # time with time zone arrives as UTC (DMS's TIME has no zone): 10:00+02 is written 08:00+00
    assert got[0].pop("ttz") == "08:00:00+00" and expected[0].pop("ttz") == "10:00:00+02"
    got[1].pop("ttz")
    assert got[0] == expected[0]
    assert got[1] == {**expected[0], "id": 2}
    left = _texts(target, "keyless")
    assert [r["id"] for r in left] == [1, 1, 2]


def _random_runs(seed: int, keyed: bool) -> list[tuple[str, list]]:
    """Runs (op, items) as the apply loop would cut them: one op, one UNCHANGED mask per run."""
    rnd = random.Random(seed)
    live: dict[tuple, tuple] = {}  # keyed: (a, b) -> row;  keyless: row -> count
    bag: list[tuple] = []
    runs: list[tuple[str, list]] = []
    for _ in range(60):
        op = rnd.choice(["insert", "insert", "update", "update", "delete", "upsert"])
        size = rnd.choice([1, 2, 3, 5, 8, 30, 120])
        items = []
        mask = rnd.random() < 0.3
        for _ in range(size):
            if keyed:
                key = (rnd.randint(1, 40), rnd.randint(1, 3))
                row = (*key, rnd.choice(["x", "y", None, "z\tq\\n"]), rnd.randint(-5, 5))
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
                    new = old if rnd.random() < 0.7 else key
                    if new != old and new in live:
                        new = old
                    row = (*new, UNCHANGED if mask else row[2], row[3])
                    if old in live:
                        prev = live.pop(old)
                        live[new] = (*new, prev[2] if mask else row[2], row[3])
                    items.append(upd(old, row))
                else:
                    old = rnd.choice(list(live)) if live and rnd.random() < 0.8 else key
                    live.pop(old, None)
                    items.append(old)
            else:
                row = (rnd.randint(1, 4), rnd.choice(["a", "b", None]))
                if op in ("insert", "upsert"):
                    bag.append(row)
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
        if items:
            runs.append((op, items))
    return runs


def _apply(url: str, path: str, table: str, runs: list[tuple[str, list]], prepared_runs: int = 0) -> list[int]:
    plan = plan_of(url, table)
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
    assert getattr(ap, "prepared_runs", 0) >= prepared_runs
    return counts


def _contents(url: str, table: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(f"SELECT * FROM app.{table} ORDER BY 1, 2, 3, 4").fetchall()


@pytest.mark.live
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_gives_the_same_table_on_both_paths_for_random_keyed_runs(pg_database, seed):
    ddl = ("CREATE SCHEMA app", "CREATE TABLE app.t (a integer, b integer, s text, v integer, PRIMARY KEY (a, b))")
    by_rows, by_sets, by_prepared = pg_database(), pg_database(), pg_database()
    for url in (by_rows, by_sets, by_prepared):
        run_sql(url, *ddl)
    runs = _random_runs(seed, keyed=True)
    counts = _apply(by_rows, "rows", "t", runs)
    assert _apply(by_sets, "sets", "t", runs) == counts
    assert _apply(by_prepared, "prepared", "t", runs, prepared_runs=10) == counts
    assert _contents(by_rows, "t") == _contents(by_sets, "t") == _contents(by_prepared, "t")
    assert len(_contents(by_rows, "t")) > 10


@pytest.mark.live
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_gives_the_same_table_on_both_paths_for_random_keyless_runs(pg_database, seed):
    ddl = ("CREATE SCHEMA app", "CREATE TABLE app.t (a integer, s text)")
    by_rows, by_sets = pg_database(), pg_database()
    run_sql(by_rows, *ddl)
    run_sql(by_sets, *ddl)
    runs = _random_runs(seed, keyed=False)
    counts_rows, counts_sets = _apply(by_rows, "rows", "t", runs), _apply(by_sets, "sets", "t", runs)
    assert counts_rows == counts_sets
    with psycopg.connect(by_rows, autocommit=True) as a, psycopg.connect(by_sets, autocommit=True) as b:
        query = "SELECT a, s, count(*) FROM app.t GROUP BY 1, 2 ORDER BY 1, 2"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def _plan_of_statement(ap, table: str, kind: str) -> str:
    """EXPLAIN, in the applier's own session, of the set statement it last rendered for `table`."""
    [prepared] = [t for t in ap._by_shape.values() if t.plan.target_table == table]
    *_, statement = [text for key, text in prepared.statements.items() if isinstance(key, tuple) and key[0] == kind]
    return "\n".join(row[0] for row in ap.conn.execute("EXPLAIN " + statement).fetchall())


@pytest.mark.live
def test_keyed_runs_join_the_target_by_its_key_index_and_keyless_runs_by_hash(pg_database):
    """A big keyed run must not hash the whole target (a hash join the planner prefers from a few ten
    thousand staged rows reads every target row per run), and keyless runs still get their hash join,
    in the same transaction and again after a rollback undid the session setting."""
    target = pg_database()
    run_sql(target, "CREATE SCHEMA app", "CREATE TABLE app.big (id integer PRIMARY KEY, v integer NOT NULL)",
            "INSERT INTO app.big SELECT g, 0 FROM generate_series(1, 200000) g",
            "CREATE TABLE app.bag (a integer, b text)", "INSERT INTO app.bag VALUES (1, 'x'), (1, 'x'), (2, 'y')",
            "ANALYZE app.big", "ANALYZE app.bag")
    big, bag = plan_of(target, "big"), plan_of(target, "bag")
    ap = PostgresApplier(ConnectionInfo.from_url(target))  # default thresholds, as tasks run
    for attempt in ("rolled back", "committed"):
        ap.begin()
        assert ap.update(bag, [upd((1, "x"), (1, "z")), upd((2, "y"), (2, "w"))] * 2) == 3
        assert "Hash" in _plan_of_statement(ap, "bag", "set-keyless-update")
        assert ap.update(big, [upd((i,), (i, i)) for i in range(1, 50_001)]) == 50_000
        keyed = _plan_of_statement(ap, "big", "set-update-in-place")
        assert "Index Scan using big_pkey" in keyed and "Hash" not in keyed, keyed
        assert ap.update(bag, [upd((2, "w"), (2, "v"))]) == 1  # below the keyless threshold: a row statement
        assert ap.delete(bag, [(1, "z")] * 4) == 2
        assert "Hash" in _plan_of_statement(ap, "bag", "set-keyless-delete")
        ap.rollback() if attempt == "rolled back" else ap.commit()
    assert rows_of(target, "app.bag") == [(2, "v")]
    assert rows_of(target, "app.big", "1")[:2] == [(1, 1), (2, 2)]
    assert rows_of(target, "app.big WHERE id <> v")[0] == (50001, 0)
