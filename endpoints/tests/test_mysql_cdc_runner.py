"""MySQL/MariaDB to PostgreSQL through the task runner: load under writes, stop, resume, DDL, converge."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from endpoints.engines.conninfo import ConnectionInfo
from tasks.engine.reporting import RecordingReporter, TableKey
from tasks.engine.runner import MigrationType, RunResult, StartMode, TaskRunner, TaskSpec
from tasks.tests.cdc_workload import Workload, mappings_for, schema_of, table_rows, wait_until_equal

from .mysql_helpers import run

pytestmark = [pytest.mark.live, pytest.mark.slow]


class Running:
    """A TaskRunner on a thread (executor "thread": loaders are threads of this process)."""

    def __init__(self, spec: TaskSpec, mode: StartMode):
        self.reporter = RecordingReporter()
        self.stop = threading.Event()
        self.runner = TaskRunner(spec, self.reporter, self.stop)
        self.results: list[RunResult] = []
        self.thread = threading.Thread(target=lambda: self.results.append(self.runner.run(mode)), daemon=True)
        self.thread.start()

    def wait_until_replicating(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            loop = self.runner.loop
            if loop is not None and loop.all_replicating.is_set():
                return
            assert self.thread.is_alive(), f"the task ended early: {self.results}"
            time.sleep(0.2)
        raise AssertionError(f"not replicating after {timeout} s")

    def finish(self) -> RunResult:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the task did not stop"
        return self.results[0]


def spec(source: str, target: str, tmp_path: Path, mappings: dict | None = None) -> TaskSpec:
    return TaskSpec(task_id="mysql-to-pg", source=ConnectionInfo.from_url(source),
                    target=ConnectionInfo.from_url(target), migration_type=MigrationType.FULL_LOAD_AND_CDC,
                    table_mappings=mappings or mappings_for(source), task_settings={}, spool_dir=tmp_path / "spool",
                    executor="thread", metrics_interval=1.0)


def pg_rows(url: str, statement: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement).fetchall()


def wait_for(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def test_it_converges_through_a_load_under_writes_a_stop_and_a_resume(mysql_database, pg_database, tmp_path):
    source, target = mysql_database(), pg_database()
    schema = schema_of(source)
    workload = Workload(source, seed=3)
    workload.create(orders=3000)
    workload.start(rate=150)  # writes during the whole load and after it
    second = None
    try:
        first = Running(spec(source, target, tmp_path), StartMode.START)
        first.wait_until_replicating()
        time.sleep(2)
        stopped = first.finish()
        assert (stopped.stop_reason, stopped.error) == ("Stop Reason NORMAL", None)
        time.sleep(2)  # the writer goes on while the task is stopped: the binary log keeps those changes
        second = Running(spec(source, target, tmp_path), StartMode.RESUME)
        second.wait_until_replicating()
        time.sleep(2)
        workload.stop()
        assert workload.committed > 300 and workload.rolled_back > 10
        assert wait_until_equal(source, target, timeout=120, target_schema=schema) == {}
    finally:
        workload.stop()
        resumed = second.finish() if second is not None else None
    assert (resumed.stop_reason, resumed.error) == ("Stop Reason NORMAL", None)
    # audit_log has no key and unique seq values: a change applied twice would show as a duplicate
    sequence = [row[0] for row in table_rows(target, schema, "audit_log")]
    assert len(sequence) == len(set(sequence)) > 100
    assert second.runner.stream.read_changes > 0


def pg_columns(url: str, schema: str, table: str) -> list[str]:
    return [r[0] for r in pg_rows(url, "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                       f"'{schema}' AND table_name = '{table}' ORDER BY ordinal_position")]


def test_it_adds_and_drops_target_columns_and_truncates_as_the_source_does(mysql_database, pg_database, tmp_path):
    source, target = mysql_database(), pg_database()
    schema = schema_of(source)
    rows = f'SELECT * FROM "{schema}".t ORDER BY id'
    run(source, "CREATE TABLE t (id int PRIMARY KEY, v varchar(10))", "INSERT INTO t VALUES (1, 'a')")
    task = Running(spec(source, target, tmp_path), StartMode.START)
    try:
        task.wait_until_replicating()
        # Each DDL is let through before the rows that follow it: the applier shapes the changes of one
        # target transaction before it runs a DDL among them (reported to the apply loop's owner).
        run(source, "ALTER TABLE t ADD COLUMN w decimal(6,2)")
        assert wait_for(lambda: pg_columns(target, schema, "t") == ["id", "v", "w"]), pg_columns(target, schema, "t")
        run(source, "INSERT INTO t VALUES (2, 'b', 1.25)")
        assert wait_for(lambda: pg_rows(target, rows) == [(1, "a", None), (2, "b", 1.25)]), pg_rows(target, rows)
        run(source, "ALTER TABLE t DROP COLUMN v")
        assert wait_for(lambda: pg_columns(target, schema, "t") == ["id", "w"]), pg_columns(target, schema, "t")
        run(source, "UPDATE t SET w = 2 WHERE id = 1")
        assert wait_for(lambda: pg_rows(target, rows) == [(1, 2), (2, 1.25)]), pg_rows(target, rows)
        run(source, "TRUNCATE TABLE t", "INSERT INTO t VALUES (3, 3)")
        assert wait_for(lambda: pg_rows(target, rows) == [(3, 3)]), pg_rows(target, rows)
    finally:
        result = task.finish()
    assert (result.stop_reason, result.error) == ("Stop Reason NORMAL", None)
    assert task.reporter.counts[TableKey(schema, "t")].ddls == 3  # ADD COLUMN, DROP COLUMN, TRUNCATE
