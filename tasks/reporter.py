"""The engine's Reporter on a worker: writes TableStatistics, TaskLog and the task's progress.

The engine calls from its loader, capture and apply threads; none of them waits
for the console's database. Calls are queued in memory under a lock and written
by one flusher thread, in one transaction per flush:
  - table states and log lines are written promptly (they wake the flusher);
  - row-count deltas are summed per table and written at most every
    FLUSH_INTERVAL seconds, with F() increments;
  - the checkpoint and the latest metric values overwrite older ones; each flush's metric values
    are also kept as a sample (monitoring.samples) for the Monitoring charts and /metrics.
After each flush the task's table counters and progress percent are recomputed,
and `monitoring.broadcast.task_changed` (if the monitoring app provides it) is
called once the transaction committed.
Log lines are kept only when the task's Logging settings allow their severity
for their component (LogComponents); EnableLogging is DMS's CloudWatch switch and
does not turn the console's own task log off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.db.models import BigIntegerField, Case, Count, F, Value, When
from django.utils import timezone

from monitoring.models import TableState, TableStatistics, TaskLog
from monitoring.samples import record_task_sample
from tasks.engine.reporting import Component, Severity, TableCounts, TableKey
from tasks.engine.reporting import TableState as EngineTableState

from .models import ReplicationTask

log = logging.getLogger("dms.reporter")

FLUSH_INTERVAL = 0.5  # seconds: a busy task writes its counters at most twice a second

_RANK = {
    "LOGGER_SEVERITY_ERROR": 0, "LOGGER_SEVERITY_WARNING": 1, "LOGGER_SEVERITY_INFO": 2,
    "LOGGER_SEVERITY_DEFAULT": 2, "LOGGER_SEVERITY_DEBUG": 3, "LOGGER_SEVERITY_DETAILED_DEBUG": 4,
}
LOADING_STATES = (TableState.FULL_LOAD, TableState.RELOADING)
COUNTERS = ("full_load_rows", "inserts", "updates", "deletes", "ddls")


class TableRowsChanged(Exception):
    """A counters UPDATE missed rows the reporter knew: they were deleted (and seeded again)."""


class LogFilter:
    """DMS's per-component severities: a line is kept when its severity is at most as verbose as its
    component's setting (LOGGER_SEVERITY_DEFAULT keeps errors, warnings and information)."""

    def __init__(self, components: Mapping[str, str] | None = None):
        self.components = dict(components or {})

    def allows(self, component: str, severity: str) -> bool:
        setting = self.components.get(component, "LOGGER_SEVERITY_DEFAULT")
        return _RANK.get(severity, 2) <= _RANK.get(setting, 2)


def log_filter_for(task_settings: str) -> LogFilter:
    from tasks.engine.settings import parse_task_settings

    return LogFilter(parse_task_settings(task_settings or None).settings.logging.log_components)


def write_log(task: ReplicationTask, component: str, severity: str, message: str) -> TaskLog | None:
    """One line from the console side (actions, takeovers), filtered like the engine's."""
    if not log_filter_for(task.task_settings).allows(component, severity):
        return None
    line = TaskLog.objects.create(task_id=task.pk, component=component, severity=severity, message=message)
    publish(task.pk, log=True)
    return line


def publish(task_pk: int, **changed: Any) -> None:
    """Tell live pages about a change once it committed (monitoring.broadcast.task_changed, when present)."""
    try:
        from monitoring import broadcast
    except ImportError:
        return
    hook = getattr(broadcast, "task_changed", None)
    if hook is None:
        return

    def send() -> None:
        try:
            hook(task_pk, **changed)
        except Exception:  # a live page missing one update is not worth failing a run for
            log.warning("task_changed hook failed for task %s", task_pk, exc_info=True)

    transaction.on_commit(send)


class ModelReporter:
    def __init__(self, task_pk: int, *, log_filter: LogFilter | None = None, flush_interval: float = FLUSH_INTERVAL):
        self.task_pk = task_pk
        self.log_filter = log_filter or LogFilter()
        self.flush_interval = flush_interval
        self.progressed = False  # a table completed or a checkpoint advanced during this run
        self.saw_table_state = False
        self._begun = False
        self._lock = threading.Lock()
        self._events: list[tuple] = []
        self._counts: dict[TableKey, TableCounts] = {}
        self._checkpoint: str | None = None
        self._metrics: dict[str, float] = {}
        self._reloading: set[TableKey] = set()
        self._pks: dict[TableKey, int] = {}  # TableStatistics ids, for the counters' single UPDATE
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life -------------------------------------------------------------------------------------
    def start(self) -> ModelReporter:
        self._thread = threading.Thread(target=self._run, name=f"reporter-{self.task_pk}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Write everything still queued, then stop the flusher."""
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        else:
            self.flush()

    # -- the Reporter protocol (any thread) -----------------------------------------------------
    def table_state(self, table: TableKey, state: EngineTableState, *, message: str = "") -> None:
        self.saw_table_state = True
        with self._lock:
            if state in (EngineTableState.BEFORE_LOAD, EngineTableState.RELOADING):
                pending = self._counts.get(table)
                if pending is not None:  # rows of the load being replaced
                    pending.full_load_rows = 0
            self._events.append(("state", table, str(state), message, timezone.now()))
        self._wake.set()

    def table_counts(self, table: TableKey, counts: TableCounts) -> None:
        with self._lock:
            total = self._counts.setdefault(table, TableCounts())
            total.full_load_rows += counts.full_load_rows
            total.inserts += counts.inserts
            total.updates += counts.updates
            total.deletes += counts.deletes
            total.ddls += counts.ddls

    def checkpoint(self, position: str, commit_time: datetime | None) -> None:
        with self._lock:
            self._checkpoint = position
            self.progressed = True

    def metric(self, name: str, value: float) -> None:
        with self._lock:
            self._metrics[name] = value

    def log(self, component: Component, severity: Severity, message: str) -> None:
        if not self.log_filter.allows(str(component), str(severity)):
            return
        with self._lock:
            self._events.append(("log", str(component), str(severity), message, timezone.now()))
        self._wake.set()

    # -- writing ------------------------------------------------------------------------------------
    def _run(self) -> None:
        close_old_connections()
        try:
            while True:
                closing = self._closing.is_set()
                try:
                    self.flush()
                except Exception:  # the database was busy or away: keep the data, try again
                    log.warning("reporter for task %s could not write; retrying", self.task_pk, exc_info=True)
                    connection.close()
                    if closing:
                        time.sleep(self.flush_interval)
                        continue
                if closing:
                    return
                self._wake.wait(self.flush_interval)
                self._wake.clear()
                time.sleep(0.02)  # let a burst of states gather into one transaction
        finally:
            connection.close()

    def flush(self) -> None:
        with self._lock:
            events, counts, checkpoint, metrics = self._events, self._counts, self._checkpoint, self._metrics
            self._events, self._counts, self._checkpoint, self._metrics = [], {}, None, {}
        if not (events or counts or checkpoint or metrics):
            return
        try:
            with transaction.atomic():
                self._write(events, counts, checkpoint, metrics)
        except BaseException as exc:
            if isinstance(exc, TableRowsChanged):
                self._pks.clear()  # rows were deleted and seeded again (a Restart): look them up anew
            self._requeue(events, counts, checkpoint, metrics)
            raise

    def _requeue(self, events: list, counts: dict, checkpoint: str | None, metrics: dict) -> None:
        with self._lock:
            self._events = events + self._events
            for key, delta in counts.items():
                total = self._counts.setdefault(key, TableCounts())
                for name in ("full_load_rows", "inserts", "updates", "deletes", "ddls"):
                    setattr(total, name, getattr(total, name) + getattr(delta, name))
            if self._checkpoint is None:
                self._checkpoint = checkpoint
            self._metrics = {**metrics, **self._metrics}

    def _write(self, events: list, counts: dict[TableKey, TableCounts], checkpoint: str | None,
               metrics: dict[str, float]) -> None:
        lines: list[TaskLog] = []
        states_changed = False
        for event in events:
            if event[0] == "state":
                _, key, state, message, at = event
                self._write_state(key, state, message, at)
                states_changed = True
            else:
                _, component, severity, message, at = event
                lines.append(TaskLog(task_id=self.task_pk, time=at, component=component, severity=severity,
                                     message=message))
        if lines:
            TaskLog.objects.bulk_create(lines)
        now = timezone.now()
        self._write_counts({key: delta for key, delta in counts.items() if delta}, now)
        task_fields: dict[str, Any] = {}
        if checkpoint is not None:
            task_fields["recovery_checkpoint"] = checkpoint
        if metrics:
            current = ReplicationTask.objects.filter(pk=self.task_pk).values_list("latest_metrics", flat=True).first()
            task_fields["latest_metrics"] = {**(current or {}), **metrics}
            record_task_sample(self.task_pk, metrics, now)  # the Monitoring charts and their retention
        if states_changed or any(c.full_load_rows for c in counts.values()):
            task_fields.update(table_summary(self.task_pk))
        if not self._begun and (states_changed or any(line.component == "SOURCE_CAPTURE" for line in lines)):
            task_fields["fresh_started"] = True  # the engine has reset the target's state: takeovers resume
            self._begun = True
        if task_fields:
            ReplicationTask.objects.filter(pk=self.task_pk).update(**task_fields)
        publish(self.task_pk, tables=bool(states_changed or counts), log=bool(lines), metrics=bool(metrics),
                status="full_load_progress_percent" in task_fields)

    def _row(self, key: TableKey) -> TableStatistics:
        row, _ = TableStatistics.objects.get_or_create(task_id=self.task_pk, schema_name=key.schema,
                                                       table_name=key.table)
        self._pks[key] = row.pk
        return row

    def _write_counts(self, counts: dict[TableKey, TableCounts], now: datetime) -> None:
        """All tables' deltas in one UPDATE: a busy task's flush costs one statement, not two per table.
        Ids are remembered from the rows' first write."""
        if not counts:
            return
        for key in counts:
            if key not in self._pks:
                self._row(key)
        deltas = [(self._pks[key], *(getattr(delta, name) for name in COUNTERS)) for key, delta in counts.items()]
        if add_counts(deltas, now) != len(deltas):
            raise TableRowsChanged(f"table statistics of task {self.task_pk} were replaced; writing again")

    def _write_state(self, key: TableKey, state: str, message: str, at: datetime) -> None:
        row = self._row(key)
        fields: dict[str, Any] = {"last_update_time": at}
        shown = state
        if state == TableState.RELOADING:
            self._reloading.add(key)
            fields.update(full_load_reloaded=True, full_load_rows=0, full_load_start_time=at,
                          full_load_end_time=None)
        elif state == TableState.BEFORE_LOAD:
            fields.update(full_load_rows=0, full_load_start_time=None, full_load_end_time=None)
            if key in self._reloading:
                shown = TableState.RELOADING
        elif state == TableState.FULL_LOAD:
            fields.update(full_load_start_time=at, full_load_end_time=None)
            if key in self._reloading:
                shown = TableState.RELOADING
        elif state == TableState.COMPLETED:
            if row.table_state in LOADING_STATES:
                fields["full_load_end_time"] = at
            self._reloading.discard(key)
            self.progressed = True
        elif state == TableState.ERROR:
            fields["state_message"] = message
            self._reloading.discard(key)
        fields["table_state"] = shown
        TableStatistics.objects.filter(pk=row.pk).update(**fields)


def add_counts(deltas: list[tuple[int, int, int, int, int, int]], now: datetime) -> int:
    """Add (id, full_load_rows, inserts, updates, deletes, ddls) deltas to TableStatistics rows in one
    statement; returns the rows updated. PostgreSQL and SQLite (3.33+) take UPDATE ... FROM a derived table
    (about 1 ms for 20 rows, where the ORM's CASE expressions cost about 10 ms of CPU); other databases
    take the CASE expressions."""
    if connection.vendor not in ("postgresql", "sqlite"):
        fields: dict[str, Any] = {"last_update_time": now}
        for index, name in enumerate(COUNTERS, start=1):
            whens = [When(pk=delta[0], then=Value(delta[index])) for delta in deltas if delta[index]]
            if whens:
                fields[name] = F(name) + Case(*whens, default=Value(0), output_field=BigIntegerField())
        return TableStatistics.objects.filter(pk__in=[delta[0] for delta in deltas]).update(**fields)
    quote = connection.ops.quote_name
    table = quote(TableStatistics._meta.db_table)
    sets = ", ".join(f"{quote(name)} = {table}.{quote(name)} + CAST(d.{quote(name)} AS BIGINT)" for name in COUNTERS)
    first = "SELECT %s AS id, " + ", ".join(f"%s AS {quote(name)}" for name in COUNTERS)
    rows = " UNION ALL ".join([first] + ["SELECT %s, %s, %s, %s, %s, %s"] * (len(deltas) - 1))
    sql = (f"UPDATE {table} SET {sets}, {quote('last_update_time')} = %s "  # noqa: S608 - model names; values
           f"FROM ({rows}) AS d WHERE {table}.id = d.id")                   # are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [now] + [value for delta in deltas for value in delta])
        return cursor.rowcount


def table_summary(task_pk: int) -> dict[str, Any]:
    """The task's table counters and FullLoadProgressPercent from its TableStatistics rows.
    Progress is row-based where the source gave estimates: a completed table counts whole, a loading
    table by its rows so far (at most 99 % of its estimate); queued tables count nothing."""
    counts = dict(TableStatistics.objects.filter(task_id=task_pk).values_list("table_state")
                  .annotate(n=Count("id")).values_list("table_state", "n"))
    loading = counts.get(TableState.FULL_LOAD, 0) + counts.get(TableState.RELOADING, 0)
    queued = counts.get(TableState.BEFORE_LOAD, 0)
    summary: dict[str, Any] = {
        "tables_loaded": counts.get(TableState.COMPLETED, 0), "tables_loading": loading,
        "tables_queued": queued, "tables_errored": counts.get(TableState.ERROR, 0),
    }
    done = weight = 0.0
    for state, rows, estimate in TableStatistics.objects.filter(task_id=task_pk).values_list(
            "table_state", "full_load_rows", "estimated_rows"):
        size = float(max(estimate, 1))
        weight += size
        if state in (TableState.COMPLETED, TableState.ERROR, TableState.CANCELLED):
            done += size
        elif state in LOADING_STATES:
            done += min(rows / size, 0.99) * size
    if weight:
        summary["full_load_progress_percent"] = int(100 * done / weight)
    task = ReplicationTask.objects.filter(pk=task_pk).values("full_load_start_date", "full_load_finish_date").first()
    if task is not None:
        now = timezone.now()
        if loading and task["full_load_start_date"] is None:
            summary["full_load_start_date"] = now
        if loading or queued:
            summary["full_load_finish_date"] = None
        elif task["full_load_start_date"] is not None and task["full_load_finish_date"] is None:
            summary["full_load_finish_date"] = now
    return summary
