"""The model-writing Reporter: coalesced counts, table states and times, progress, filtered log lines."""

from __future__ import annotations

import threading

import pytest

from monitoring.models import TableStatistics, TaskLog
from tasks.engine.reporting import Component, Severity, TableCounts, TableKey, TableState
from tasks.models import ReplicationTask
from tasks.reporter import LogFilter, ModelReporter, log_filter_for

from .task_helpers import make_task

pytestmark = pytest.mark.django_db

ORDERS = TableKey("shop", "orders")
LINES = TableKey("shop", "lines")


def test_it_sums_counts_from_many_threads_into_one_write_per_table():
    task = make_task(status="running", has_run=True)
    reporter = ModelReporter(task.pk)

    def apply_changes():
        for _ in range(1000):
            reporter.table_counts(ORDERS, TableCounts(inserts=1, updates=2))
            reporter.table_counts(LINES, TableCounts(deletes=1))

    threads = [threading.Thread(target=apply_changes) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reporter.flush()
    reporter.table_counts(ORDERS, TableCounts(inserts=5, ddls=1))
    reporter.flush()
    orders = TableStatistics.objects.get(task=task, table_name="orders")
    assert (orders.inserts, orders.updates, orders.deletes, orders.ddls) == (4005, 8000, 0, 1)
    assert TableStatistics.objects.get(task=task, table_name="lines").deletes == 4000


def test_it_records_a_tables_life_with_its_load_times_and_the_task_counters():
    task = make_task(status="running", has_run=True)
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", estimated_rows=1000)
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="lines", estimated_rows=3000)
    reporter = ModelReporter(task.pk)
    reporter.table_state(ORDERS, TableState.BEFORE_LOAD)
    reporter.table_state(LINES, TableState.BEFORE_LOAD)
    reporter.table_state(ORDERS, TableState.FULL_LOAD)
    reporter.table_counts(ORDERS, TableCounts(full_load_rows=500))
    reporter.flush()
    task.refresh_from_db()
    assert (task.tables_loaded, task.tables_loading, task.tables_queued, task.tables_errored) == (0, 1, 1, 0)
    assert task.full_load_progress_percent == 12  # 500 of 4000 estimated rows
    assert task.full_load_start_date is not None and task.full_load_finish_date is None

    reporter.table_counts(ORDERS, TableCounts(full_load_rows=500))
    reporter.table_state(ORDERS, TableState.COMPLETED)
    reporter.table_state(LINES, TableState.FULL_LOAD)
    reporter.table_state(LINES, TableState.ERROR, message="Loading shop.lines failed: boom")
    reporter.flush()
    task.refresh_from_db()
    orders = TableStatistics.objects.get(task=task, table_name="orders")
    lines = TableStatistics.objects.get(task=task, table_name="lines")
    assert (orders.table_state, orders.full_load_rows) == ("Table completed", 1000)
    assert orders.full_load_start_time <= orders.full_load_end_time
    assert (lines.table_state, lines.state_message) == ("Table error", "Loading shop.lines failed: boom")
    assert (task.tables_loaded, task.tables_loading, task.tables_queued, task.tables_errored) == (1, 0, 0, 1)
    assert task.full_load_progress_percent == 100
    assert task.full_load_finish_date is not None


def test_it_shows_a_reloaded_table_as_being_reloaded_until_it_completes():
    task = make_task(status="running", has_run=True)
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", table_state="Table completed",
                                   full_load_rows=1000, inserts=7)
    reporter = ModelReporter(task.pk)
    reporter.table_counts(ORDERS, TableCounts(full_load_rows=3))  # from before the reload: dropped
    reporter.table_state(ORDERS, TableState.RELOADING)
    reporter.table_state(ORDERS, TableState.BEFORE_LOAD)
    reporter.table_state(ORDERS, TableState.FULL_LOAD)
    reporter.table_counts(ORDERS, TableCounts(full_load_rows=400))
    reporter.flush()
    row = TableStatistics.objects.get(task=task)
    assert (row.table_state, row.full_load_rows, row.full_load_reloaded, row.inserts) == (
        "Table is being reloaded", 400, True, 7)
    reporter.table_state(ORDERS, TableState.COMPLETED)
    reporter.flush()
    row.refresh_from_db()
    assert row.table_state == "Table completed" and row.full_load_end_time is not None


def test_it_keeps_the_latest_checkpoint_and_metrics():
    task = make_task(status="running", has_run=True)
    reporter = ModelReporter(task.pk)
    reporter.checkpoint('{"v": 1, "position": "0/1"}', None)
    reporter.checkpoint('{"v": 1, "position": "0/2"}', None)
    reporter.metric("CDCLatencySource", 1.5)
    reporter.metric("CDCLatencySource", 0.5)
    reporter.metric("CDCIncomingChanges", 12)
    reporter.flush()
    task.refresh_from_db()
    assert task.recovery_checkpoint == '{"v": 1, "position": "0/2"}'
    assert task.latest_metrics == {"CDCLatencySource": 0.5, "CDCIncomingChanges": 12}
    assert reporter.progressed


@pytest.mark.parametrize(("setting", "kept"), [
    ("LOGGER_SEVERITY_ERROR", ["E"]),
    ("LOGGER_SEVERITY_WARNING", ["E", "W"]),
    ("LOGGER_SEVERITY_DEFAULT", ["E", "W", "I"]),
    ("LOGGER_SEVERITY_INFO", ["E", "W", "I"]),
    ("LOGGER_SEVERITY_DEBUG", ["E", "W", "I", "D"]),
    ("LOGGER_SEVERITY_DETAILED_DEBUG", ["E", "W", "I", "D", "T"]),
])
def test_it_keeps_log_lines_as_the_components_severity_allows(setting, kept):
    task = make_task(status="running", has_run=True)
    reporter = ModelReporter(task.pk, log_filter=LogFilter({"SOURCE_UNLOAD": setting}))
    for severity in Severity:
        reporter.log(Component.SOURCE_UNLOAD, severity, f"unload {severity.letter}")
        reporter.log(Component.TARGET_LOAD, severity, f"load {severity.letter}")
    reporter.flush()
    lines = list(TaskLog.objects.filter(task=task).order_by("id"))
    assert [line.letter for line in lines if line.component == "SOURCE_UNLOAD"] == kept
    assert [line.letter for line in lines if line.component == "TARGET_LOAD"] == ["E", "W", "I"]  # DEFAULT
    assert str(lines[0]).endswith("[SOURCE_UNLOAD]E: unload E")


def test_it_reads_the_log_filter_from_the_tasks_logging_settings():
    settings = '{"Logging": {"LogComponents": [{"Id": "TASK_MANAGER", "Severity": "LOGGER_SEVERITY_ERROR"}]}}'
    log_filter = log_filter_for(settings)
    assert not log_filter.allows("TASK_MANAGER", "LOGGER_SEVERITY_INFO")
    assert log_filter.allows("TASK_MANAGER", "LOGGER_SEVERITY_ERROR")
    assert log_filter.allows("SOURCE_CAPTURE", "LOGGER_SEVERITY_INFO")


def test_it_calls_the_monitoring_hook_after_the_flush_commits(monkeypatch, django_capture_on_commit_callbacks):
    from monitoring import broadcast

    calls = []
    monkeypatch.setattr(broadcast, "task_changed", lambda task_pk, **changed: calls.append((task_pk, changed)),
                        raising=False)
    task = make_task(status="running", has_run=True)
    reporter = ModelReporter(task.pk)
    reporter.table_state(ORDERS, TableState.FULL_LOAD)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reporter.flush()
    assert calls == []
    for callback in callbacks:
        callback()
    assert calls == [(task.pk, {"tables": True, "log": False, "metrics": False, "status": True})]


def test_it_keeps_queued_data_when_a_write_fails(monkeypatch):
    task = make_task(status="running", has_run=True)
    reporter = ModelReporter(task.pk)
    reporter.table_counts(ORDERS, TableCounts(inserts=3))
    original = ModelReporter._write

    def broken(self, *args):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(ModelReporter, "_write", broken)
    with pytest.raises(RuntimeError):
        reporter.flush()
    monkeypatch.setattr(ModelReporter, "_write", original)
    reporter.table_counts(ORDERS, TableCounts(inserts=2))
    reporter.flush()
    assert TableStatistics.objects.get(task=task).inserts == 5
    assert ReplicationTask.objects.get(pk=task.pk).status == "running"


def test_it_marks_a_fresh_start_begun_at_the_engines_first_table_state():
    task = make_task(status="running", has_run=True, fresh_started=False, last_start_type="reload-target")
    reporter = ModelReporter(task.pk)
    reporter.log(Component.TRANSFORMATION, Severity.WARNING, "a plan warning, before the target is touched")
    reporter.flush()
    assert ReplicationTask.objects.get(pk=task.pk).takeover_mode == "reload-target"
    reporter.table_state(ORDERS, TableState.BEFORE_LOAD)
    reporter.flush()
    assert ReplicationTask.objects.get(pk=task.pk).takeover_mode == "resume-processing"
