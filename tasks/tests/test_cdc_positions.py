"""cdc-only tasks: where they start (now, a native position, a time) and where they stop; unchanged
TOAST values; a full spool stopping the task with nothing lost."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pymysql
import pytest

from endpoints.engines.conninfo import ConnectionInfo
from tasks.engine.runner import MigrationType, StartMode

from .cdc_harness import spec_for, start

pytestmark = [pytest.mark.live, pytest.mark.slow]


def pg(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []


def my(url: str, sql: str, *params) -> list[tuple]:
    info = ConnectionInfo.from_url(url)
    conn = pymysql.connect(host=info.host, port=info.port, user=info.username, database=info.database,
                           autocommit=True, charset="utf8mb4")
    try:
        cursor = conn.cursor()
        cursor.execute(sql, params or None)
        return list(cursor.fetchall())
    finally:
        conn.close()


def wait_rows(url: str, sql: str, expected: list[tuple], timeout: float = 60) -> list[tuple]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = pg(url, sql)
        except psycopg.Error:
            found = None
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def mysql_source(mysql_database) -> tuple[str, str]:
    url = mysql_database()
    my(url, "CREATE TABLE items (id int PRIMARY KEY, name varchar(20))")
    return url, ConnectionInfo.from_url(url).database


def prepared_pg_target(pg_database, schema: str) -> str:
    target = pg_database()  # cdc-only: the target already holds the table (DO_NOTHING is not needed)
    pg(target, f'CREATE SCHEMA "{schema}"; CREATE TABLE "{schema}".items (id int PRIMARY KEY, name varchar(20))')
    return target


def test_it_starts_a_cdc_task_at_a_native_binlog_position(mysql_database, pg_database, tmp_path):
    source, schema = mysql_source(mysql_database)
    target = prepared_pg_target(pg_database, schema)
    my(source, "INSERT INTO items VALUES (1, 'before the position')")
    file, position = my(source, "SHOW MASTER STATUS")[0][:2]
    my(source, "INSERT INTO items VALUES (2, 'after the position')")
    spec = spec_for(source, target, tmp_path, migration_type=MigrationType.CDC)
    spec.cdc_start_position = f"{file}:{position}"
    task = start(spec)
    try:
        assert wait_rows(target, f'SELECT * FROM "{schema}".items', [(2, "after the position")]) == [
            (2, "after the position")]
    finally:
        task.finish()


def test_it_starts_a_cdc_task_at_a_time(mysql_database, pg_database, tmp_path):
    source, schema = mysql_source(mysql_database)
    target = prepared_pg_target(pg_database, schema)
    my(source, "INSERT INTO items VALUES (1, 'earlier')")
    time.sleep(2.2)
    since = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(seconds=1)
    my(source, "INSERT INTO items VALUES (2, 'later')")
    spec = spec_for(source, target, tmp_path, migration_type=MigrationType.CDC)
    spec.cdc_start_time = since
    task = start(spec)
    try:
        assert wait_rows(target, f'SELECT * FROM "{schema}".items', [(2, "later")]) == [(2, "later")]
    finally:
        task.finish()


def test_it_stops_at_a_commit_time(pg_database, tmp_path):
    source = pg_database()
    pg(source, "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY, name varchar(20))")
    target = pg_database()
    pg(target, "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY, name varchar(20))")
    spec = spec_for(source, target, tmp_path, migration_type=MigrationType.CDC)
    cutoff = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=20)
    spec.cdc_stop_position = f"commit_time:{cutoff.isoformat(timespec='seconds')}"
    task = start(spec)
    task.wait_for_replication(0)  # capture has started: later commits are streamed
    pg(source, "INSERT INTO app.items VALUES (1, 'in time')")
    time.sleep(max(0.0, (cutoff - datetime.now(UTC).replace(tzinfo=None)).total_seconds()) + 1.5)
    pg(source, "INSERT INTO app.items VALUES (2, 'too late')")
    task.thread.join(60)
    assert not task.thread.is_alive(), "the task did not stop at its commit time"
    assert task.result[0].stop_reason == "Stop Reason STOPPED_AT_COMMIT_TIME"
    assert pg(target, "SELECT * FROM app.items") == [(1, "in time")]


def test_it_stops_at_a_server_time(pg_database, tmp_path):
    source = pg_database()
    pg(source, "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY)")
    target = pg_database()
    pg(target, "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY)")
    spec = spec_for(source, target, tmp_path, migration_type=MigrationType.CDC)
    spec.cdc_stop_position = "server_time:" + (datetime.now(UTC) + timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%S")
    task = start(spec)
    task.thread.join(60)
    assert task.result and task.result[0].stop_reason == "Stop Reason STOPPED_AT_SERVER_TIME"


def test_it_keeps_an_unchanged_toast_value_when_another_column_changes(pg_database, mysql_database, tmp_path):
    source = pg_database()
    big = secrets.token_hex(60_000)  # random text does not compress: PostgreSQL stores it out of line
    pg(source, "CREATE SCHEMA app; CREATE TABLE app.docs (id int PRIMARY KEY, status text, body text)")
    pg(source, "INSERT INTO app.docs VALUES (1, 'draft', %s)", big)
    for target in (pg_database(), mysql_database()):
        spec = spec_for(source, target, tmp_path / target[-6:], task_id="toast" + target[-6:],
                        settings={"TargetMetadata": {"FullLobMode": True}})
        task = start(spec)
        try:
            task.wait_for_replication(1)
            pg(source, "UPDATE app.docs SET status = %s WHERE id = 1", f"final {target[-6:]}")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if _status_and_body(target) == (f"final {target[-6:]}", big):
                    break
                time.sleep(0.3)
        finally:
            task.finish()
        assert _status_and_body(target) == (f"final {target[-6:]}", big)


def _status_and_body(target: str) -> tuple | None:
    info = ConnectionInfo.from_url(target)
    if info.engine == "postgres":
        rows = pg(target, "SELECT status, body FROM app.docs WHERE id = 1")
    else:
        rows = my(target, "SELECT status, body FROM docs WHERE id = 1")
    return tuple(rows[0]) if rows else None


def test_it_stops_with_a_clear_error_when_the_spool_is_full_and_loses_nothing(pg_database, tmp_path):
    from .tcp_proxy import TcpProxy

    source, target = pg_database(), pg_database()
    pg(source, "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY, payload text)")
    info = ConnectionInfo.from_url(target)
    proxy = TcpProxy(info.host, info.port)
    through = target.replace(f"{info.host}:{info.port}", f"127.0.0.1:{proxy.port}")
    spec = spec_for(source, through, tmp_path)
    spec.spool_limit_bytes = 256 * 1024
    task = start(spec)
    task.wait_for_replication(1)
    proxy.cut()
    for batch in range(20):
        pg(source, "INSERT INTO app.items SELECT g, repeat('x', 500) FROM generate_series(%s::int, %s::int) g",
           batch * 100 + 1, batch * 100 + 100)
    task.thread.join(120)
    assert not task.thread.is_alive()
    result = task.result[0]
    assert result.stop_reason == "Stop Reason STOPPED_DUE_TO_LOW_DISK"
    assert "The change spool is full" in result.error and "allocated storage" in result.error
    proxy.restore()
    resumed = start(spec_for(source, target, tmp_path), StartMode.RESUME)  # nothing was acknowledged: resume
    try:
        assert wait_rows(target, "SELECT count(*) FROM app.items", [(2000,)], timeout=120) == [(2000,)]
    finally:
        resumed.finish()
        proxy.close()

