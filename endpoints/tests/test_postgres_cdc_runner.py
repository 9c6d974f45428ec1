"""PostgreSQL to PostgreSQL through the task runner: full-load-and-cdc under a live writer, stop, resume, converge."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from endpoints.engines.conninfo import ConnectionInfo
from tasks.engine.reporting import RecordingReporter
from tasks.engine.runner import MigrationType, RunResult, StartMode, TaskRunner, TaskSpec
from tasks.tests.cdc_workload import Workload, mappings_for, table_rows, wait_until_equal

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


def spec(source: str, target: str, tmp_path: Path) -> TaskSpec:
    return TaskSpec(task_id="pg-to-pg", source=ConnectionInfo.from_url(source),
                    target=ConnectionInfo.from_url(target), migration_type=MigrationType.FULL_LOAD_AND_CDC,
                    table_mappings=mappings_for(source), task_settings={}, spool_dir=tmp_path / "spool",
                    executor="thread", metrics_interval=1.0)


def test_it_converges_through_a_load_under_writes_a_stop_and_a_resume(pg_database, tmp_path):
    source, target = pg_database(), pg_database()
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
        time.sleep(2)  # the writer goes on while the task is stopped: the slot keeps those changes
        second = Running(spec(source, target, tmp_path), StartMode.RESUME)
        second.wait_until_replicating()
        time.sleep(2)
        workload.stop()
        assert workload.committed > 300 and workload.rolled_back > 10
        assert wait_until_equal(source, target, timeout=120) == {}
    finally:
        workload.stop()
        resumed = second.finish() if second is not None else None
    assert (resumed.stop_reason, resumed.error) == ("Stop Reason NORMAL", None)
    # audit_log has no key and unique seq values: a change applied twice would show as a duplicate
    sequence = [row[0] for row in table_rows(target, "app", "audit_log")]
    assert len(sequence) == len(set(sequence)) > 100
    assert second.runner.stream.read_changes > 0
