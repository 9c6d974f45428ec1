"""Source DDL during CDC, end to end: ADD COLUMN and DROP COLUMN reach the target, with the rows."""

from __future__ import annotations

import time

import psycopg
import pytest

from tasks.engine.reporting import TableKey

from .cdc_harness import spec_for, start

pytestmark = [pytest.mark.live, pytest.mark.slow]


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def wait_for(url: str, sql: str, expected: list[tuple], timeout: float = 60) -> list[tuple]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = rows(url, sql)
        except psycopg.Error:
            found = None
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_it_propagates_add_and_drop_column_from_postgresql(pg_database, tmp_path):
    source, target = pg_database(), pg_database()
    rows(source, "CREATE SCHEMA app; CREATE TABLE app.people (id int PRIMARY KEY, name text, age int);"
                 "INSERT INTO app.people VALUES (1, 'ann', 30)")
    task = start(spec_for(source, target, tmp_path))
    try:
        task.wait_for_replication(1)
        rows(source, "ALTER TABLE app.people ADD COLUMN email varchar(50); "
                     "INSERT INTO app.people VALUES (2, 'bob', 40, 'bob@example.com')")
        assert wait_for(target, "SELECT * FROM app.people ORDER BY id", [
            (1, "ann", 30, None), (2, "bob", 40, "bob@example.com")]) == [
            (1, "ann", 30, None), (2, "bob", 40, "bob@example.com")]
        rows(source, "ALTER TABLE app.people DROP COLUMN age; UPDATE app.people SET email = 'ann@example.com' "
                     "WHERE id = 1")
        expected = [(1, "ann", "ann@example.com"), (2, "bob", "bob@example.com")]
        assert wait_for(target, "SELECT * FROM app.people ORDER BY id", expected) == expected
    finally:
        result = task.finish()
    assert result.error is None
    assert task.reporter.counts[TableKey("app", "people")].ddls == 2
