"""Running a TaskRunner in the background for CDC tests, and the source/target pairs they cover."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from endpoints.engines.conninfo import ConnectionInfo
from tasks.engine.reporting import RecordingReporter, TableState
from tasks.engine.runner import MigrationType, RunResult, StartMode, TaskRunner, TaskSpec

from .cdc_workload import mappings_for, schema_of

PAIRS = [("postgres", "postgres"), ("mysql", "postgres"), ("postgres", "mysql"), ("mysql", "mysql")]


@dataclass
class Background:
    runner: TaskRunner
    reporter: RecordingReporter
    stop: threading.Event
    thread: threading.Thread
    result: list[RunResult] = field(default_factory=list)

    def wait_for_replication(self, tables: int, timeout: float = 120) -> None:
        """Until every table completed its load and the applier handles transactions."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = sum(1 for s in self.reporter.states.values() if s is TableState.COMPLETED)
            loop = self.runner.loop
            if done >= tables and loop is not None and loop.all_replicating.is_set():
                return
            if not self.thread.is_alive():
                raise AssertionError(f"the task ended early: {self.result}")
            time.sleep(0.2)
        raise AssertionError(f"not replicating after {timeout} s: {self.reporter.states}")

    def finish(self, timeout: float = 60) -> RunResult:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the task did not stop"
        return self.result[0]


def target_schema(source: str, target: str) -> str:
    """Where the tables land: the source schema, except on MySQL targets, where each test's own
    database is used (a schema there is a database shared by everyone on the server)."""
    info = ConnectionInfo.from_url(target)
    return info.database if info.engine in ("mysql", "mariadb") else schema_of(source)


def spec_for(source: str, target: str, tmp_path: Path, *, task_id: str = "t1", settings: dict | None = None,
             migration_type: MigrationType = MigrationType.FULL_LOAD_AND_CDC) -> TaskSpec:
    settings = dict(settings or {})
    if ConnectionInfo.from_url(target).engine in ("mysql", "mariadb"):
        settings.setdefault("TargetMetadata", {})["TargetSchema"] = target_schema(source, target)
        # control tables in the test's own database too: awsdms_control is shared by the whole server
        settings.setdefault("ControlTablesSettings", {})["ControlSchema"] = target_schema(source, target)
    return TaskSpec(task_id=task_id, source=ConnectionInfo.from_url(source), target=ConnectionInfo.from_url(target),
                    migration_type=migration_type, table_mappings=mappings_for(source),
                    task_settings=settings, spool_dir=tmp_path / "spool", executor="thread", metrics_interval=1.0)


def start(spec: TaskSpec, mode: StartMode = StartMode.START) -> Background:
    reporter = RecordingReporter()
    stop = threading.Event()
    runner = TaskRunner(spec, reporter, stop)
    background = Background(runner, reporter, stop, threading.Thread(target=lambda: None))
    background.thread = threading.Thread(target=lambda: background.result.append(runner.run(mode)), daemon=True)
    background.thread.start()
    return background
