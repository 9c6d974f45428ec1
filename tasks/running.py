"""A replication task's run on a worker: lease, keeper thread, the engine's TaskRunner, the result.

`run_task` is the whole body of the `dms.tasks.run` job (tasks/jobs.py). It claims
the task's lease (tasks/lease.py explains why a redelivered message exits there),
builds a TaskSpec from the models, runs `TaskRunner.run(mode)` with a ModelReporter,
and records the result. Meanwhile a keeper thread renews the lease and turns the
console's requests into engine calls: Stop and worker shutdown set the engine's
stop event (it stops at a transaction boundary), Reload tables calls
`reload_tables`. When the run ends the task is stopped or failed, handed to another
worker (SIGTERM, a lost loader), or retried after a recoverable error with DMS's
RecoverableErrorInterval backoff.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from monitoring.models import TableStatistics
from tasks.engine.executors import UnitExecutor
from tasks.engine.full_load import FullLoadOptions
from tasks.engine.reporting import Component, Severity, TableKey
from tasks.engine.runner import MigrationType as EngineMigrationType
from tasks.engine.runner import RunResult, StartMode, TaskRunner, TaskSpec

from . import lease, segments, shutdown
from .actions import dispatch
from .models import MigrationType, ReplicationTask, Status
from .reporter import ModelReporter, log_filter_for, publish, table_summary, write_log
from .unit_pool import LocalUnits

log = logging.getLogger("dms.running")

POLL_SECONDS = 1.0  # how soon a runner sees Stop, Reload tables and a worker shutdown


def run_task(task_pk: int, dispatch_id: str, mode: str, *, worker: str, previous_owner: str = "",
             reason: str = "") -> str:
    """Run the task if this message may (see tasks.lease). Returns what happened, for logs and tests."""
    run = TaskRun(task_pk, dispatch_id, StartMode(mode), worker=worker, previous_owner=previous_owner,
                  reason=reason)
    try:
        claimed = lease.claim(task_pk, dispatch_id, run.owner)
    except DatabaseError as exc:  # the console database is busy or away: the job tries again
        raise ClaimFailed(f"could not claim task {task_pk}: {exc}") from exc
    if not claimed:
        log.info("task %s: message %s not run (stale dispatch, or the lease is held)", task_pk, dispatch_id)
        return "skipped"
    try:
        return run.execute()
    except Exception as exc:  # a bug here must not leave the task "running" with nobody running it
        log.exception("task %s: runner failed", task_pk)
        run.fail(f"Unexpected error in the runner: {type(exc).__name__}: {exc}")
        return "failed"


class ClaimFailed(Exception):
    """The lease could not be claimed because the database failed (not because someone holds it)."""


class TaskRun:
    def __init__(self, task_pk: int, dispatch_id: str, mode: StartMode, *, worker: str, previous_owner: str,
                 reason: str):
        self.task_pk, self.dispatch_id, self.mode = task_pk, dispatch_id, mode
        self.worker, self.previous_owner, self.reason = worker, previous_owner, reason
        self.owner = lease.owner_name(worker)
        self.stop = threading.Event()
        self.handoff = False
        self.lost_lease = False
        self.running = False
        self.remote_executors: list[segments.RemoteUnits] = []
        self.task: ReplicationTask | None = None

    # -- the run ---------------------------------------------------------------------------------
    def execute(self) -> str:
        task = self.task = ReplicationTask.objects.select_related("instance", "source", "target").get(pk=self.task_pk)
        self._announce(task)
        self._wait_for_previous_loaders(task)
        spec = build_spec(task)
        reporter = ModelReporter(task.pk, log_filter=log_filter_for(task.task_settings)).start()
        remote = _remote_units_wanted(task)
        spec.executor_factory = lambda options, units: self._executor(spec, options, units, remote)
        runner = TaskRunner(spec, reporter, self.stop)
        keeper = LeaseKeeper(self, runner, reporter)
        keeper.start()
        try:
            if _seed_tables(task, runner):  # the endpoints answered and the documents make a plan
                self.mark_running()
            started = time.monotonic()
            result = runner.run(self.mode)
            log.info("task %s: run ended after %.1f s: %s", task.identifier, time.monotonic() - started,
                     result.stop_reason)
        finally:
            keeper.finish()
            reporter.close()
        return self._record(task, result, reporter)

    def _executor(self, spec: TaskSpec, options: FullLoadOptions, units: int | None, remote: bool) -> UnitExecutor:
        if not remote:  # no more loaders than units: each costs a process start
            return LocalUnits(spec.source, spec.target, workers=min(options.max_subtasks, units or 99),
                              commit_rate=options.commit_rate, threads=units == 1)
        executor = segments.RemoteUnits(
            task_pk=self.task_pk, dispatch_id=self.dispatch_id, queue=self.task.instance.queue,
            commit_rate=options.commit_rate, source=spec.source, target=spec.target,
            local_workers=options.max_subtasks, stop=self.stop)
        self.remote_executors.append(executor)
        return executor

    def _announce(self, task: ReplicationTask) -> None:
        me, before = self.worker, lease.worker_of(self.previous_owner)
        if self.reason == "failover":
            message = f"Multi-AZ failover: task taken over from worker {before} by worker {me}"
        elif self.reason == "handoff":
            message = f"Task handed over from worker {before} (shutting down) to worker {me}"
        elif self.reason == "retry":
            message = f"Task resuming after a recoverable error on worker {me} (attempt {task.recoverable_attempts})"
        else:
            message = f"Task running on worker {me} ({self.mode.value})"
        write_log(task, Component.TASK_MANAGER, Severity.INFO, message)

    def _wait_for_previous_loaders(self, task: ReplicationTask) -> None:
        if not self.reason:
            return
        try:
            gone = segments.wait_for_previous_runs(task.pk, self.dispatch_id)
        except Exception:  # no Redis: remote loaders cannot have run either
            log.warning("task %s: could not look for loaders of earlier runs", task.pk, exc_info=True)
            return
        if not gone:
            write_log(task, Component.TASK_MANAGER, Severity.WARNING,
                      "Loaders of an earlier run of this task still answer after 30 s; continuing anyway")

    def mark_running(self) -> None:
        """starting -> running, once: after planning, or at the engine's first table state."""
        if self.running:
            return
        self.running = True
        if ReplicationTask.objects.filter(pk=self.task_pk, lease_owner=self.owner, status=Status.STARTING).update(
                status=Status.RUNNING):
            publish(self.task_pk, status=True)

    # -- the end ---------------------------------------------------------------------------------
    def request_handoff(self) -> None:
        self.handoff = True
        self.stop.set()

    def _record(self, task: ReplicationTask, result: RunResult, reporter: ModelReporter) -> str:
        if self.lost_lease:
            log.warning("task %s: lease lost to another runner; nothing recorded", task.identifier)
            return "lost"
        current = ReplicationTask.objects.filter(pk=task.pk).values("status", "recoverable_attempts").first()
        stopping = current is not None and current["status"] == Status.STOPPING
        lost_unit = next((e.lost for e in self.remote_executors if e.lost), None)
        if not stopping and (self.handoff or lost_unit):
            return self._hand_over(task, result, lost_unit)
        attempts = 0 if reporter.progressed else (current or {}).get("recoverable_attempts", 0)
        if result.recoverable and not stopping:
            delay = retry_delay(runner_settings(task).error_behavior, attempts + 1)
            if delay is not None:
                return self._retry(task, result, attempts + 1, delay)
        fields: dict[str, Any] = {"stop_date": timezone.now(), "stop_reason": result.stop_reason,
                                  "recoverable_attempts": attempts}
        if result.checkpoint:
            fields["recovery_checkpoint"] = result.checkpoint
        if result.error:
            fields.update(status=Status.FAILED, last_failure_message=result.error)
        else:
            fields.update(status=Status.STOPPED, last_failure_message="; ".join(
                f"{key}: {message}" for key, message in result.failed_tables.items()))
        fields.update(table_summary(task.pk))
        if not lease.release(task.pk, self.owner, **fields):
            return "lost"
        if result.error:
            write_log(task, Component.TASK_MANAGER, Severity.ERROR,
                      f"Task failed ({result.stop_reason}): {result.error}")
        else:
            write_log(task, Component.TASK_MANAGER, Severity.INFO, f"Task stopped: {result.stop_reason}")
        publish(task.pk, status=True)
        return str(fields["status"])

    def _hand_over(self, task: ReplicationTask, result: RunResult, lost_unit: str | None) -> str:
        dispatch_id = lease.new_dispatch_id()
        extra = {"recovery_checkpoint": result.checkpoint} if result.checkpoint else {}
        if not lease.release(task.pk, self.owner, dispatch_id=dispatch_id, **extra):
            return "lost"
        if lost_unit:
            kind = "failover"
            message = f"Multi-AZ failover: the {lost_unit} stopped answering; the task resumes from its checkpoint"
        else:
            kind = "handoff"
            message = (f"Worker {self.worker} is shutting down: the task stopped at a transaction boundary and is "
                       f"handed over to another worker of instance {task.instance}")
        write_log(task, Component.TASK_MANAGER, Severity.WARNING if lost_unit else Severity.INFO, message)
        dispatch(task, dispatch_id, _takeover_mode(task), previous_owner=self.owner, reason=kind)
        return kind

    def _retry(self, task: ReplicationTask, result: RunResult, attempt: int, delay: float) -> str:
        dispatch_id = lease.new_dispatch_id()
        extra = {"recovery_checkpoint": result.checkpoint} if result.checkpoint else {}
        if not lease.release(task.pk, self.owner, dispatch_id=dispatch_id, recoverable_attempts=attempt,
                             last_failure_message=result.error or "", **extra):
            return "lost"
        write_log(task, Component.TASK_MANAGER, Severity.WARNING,
                  f"Recoverable error: {result.error}. The task resumes in {delay:g} s (attempt {attempt})")
        dispatch(task, dispatch_id, _takeover_mode(task), previous_owner=self.owner, reason="retry", countdown=delay)
        return "retry"

    def fail(self, message: str) -> None:
        if lease.release(self.task_pk, self.owner, status=Status.FAILED, stop_reason="Stop Reason FATAL_ERROR",
                         last_failure_message=message, stop_date=timezone.now()):
            task = ReplicationTask.objects.get(pk=self.task_pk)
            write_log(task, Component.TASK_MANAGER, Severity.ERROR, message)
            publish(task.pk, status=True)


class LeaseKeeper(threading.Thread):
    """Renews the lease and watches the task row for Stop, hand-over and Reload tables requests."""

    def __init__(self, run: TaskRun, runner: TaskRunner, reporter: ModelReporter):
        super().__init__(name=f"lease-{run.task_pk}", daemon=True)
        self.run_, self.runner, self.reporter = run, runner, reporter
        self._finished = threading.Event()
        self._next_renew = time.monotonic() + lease.renew_seconds()
        self._warned_reload = False

    def finish(self) -> None:
        self._finished.set()
        self.join(timeout=10)

    def run(self) -> None:
        close_old_connections()
        try:
            while not self._finished.wait(POLL_SECONDS):
                try:
                    self._tick()
                except Exception:  # a busy database: the next tick tries again (the lease outlives a few)
                    log.warning("task %s: lease keeper could not reach the database", self.run_.task_pk, exc_info=True)
                    connection.close()
        finally:
            connection.close()

    def _lose(self) -> None:
        self.run_.lost_lease = True
        self.run_.stop.set()
        self._finished.set()

    def _tick(self) -> None:
        run = self.run_
        if shutdown.SHUTTING_DOWN.is_set():
            run.request_handoff()
        if time.monotonic() >= self._next_renew:
            if not lease.renew(run.task_pk, run.owner):
                self._lose()
                return
            self._next_renew = time.monotonic() + lease.renew_seconds()
        row = ReplicationTask.objects.filter(pk=run.task_pk).values(
            "lease_owner", "status", "handoff_requested", "reload_requested").first()
        if row is None or row["lease_owner"] != run.owner:
            self._lose()
            return
        if row["status"] == Status.STOPPING:
            run.stop.set()
        elif self.reporter.saw_table_state:
            run.mark_running()
        if row["handoff_requested"]:
            run.request_handoff()
        if row["reload_requested"] and not run.stop.is_set():
            self._reload(row["reload_requested"])

    def _reload(self, raw: str) -> None:
        run = self.run_
        keys = [TableKey(schema, table) for schema, table in json.loads(raw)]
        names = ", ".join(map(str, keys))
        reload = getattr(self.runner, "reload_tables", None)
        if reload is None:
            if not self._warned_reload:
                self.reporter.log(Component.TASK_MANAGER, Severity.WARNING,
                                  f"Reload of {names} waits: this engine cannot reload tables yet")
                self._warned_reload = True
            return
        if run.task.migration_type != MigrationType.FULL_LOAD and self.runner.loop is None:
            return  # change capture is not started yet: ask again next tick
        try:
            reload(keys)  # the engine logs "Reloading ..." and reports the tables' states
        except Exception as exc:
            self.reporter.log(Component.TASK_MANAGER, Severity.ERROR, f"Reload of {names} refused: {exc}")
        ReplicationTask.objects.filter(pk=run.task_pk, reload_requested=raw).update(reload_requested="")


# ---- helpers -----------------------------------------------------------------------------------------

def build_spec(task: ReplicationTask) -> TaskSpec:
    start_time = task.cdc_start_time.astimezone(UTC).replace(tzinfo=None) if task.cdc_start_time else None
    return TaskSpec(
        task_id=task.engine_task_id,
        source=segments.plain_info(task.source.connection_info()),
        target=segments.plain_info(task.target.connection_info()),
        migration_type=EngineMigrationType(task.migration_type),
        table_mappings=task.table_mappings,
        task_settings=task.task_settings or None,
        cdc_start_position=task.cdc_start_position or None,
        cdc_start_time=start_time,
        cdc_stop_position=task.cdc_stop_position or None,
        spool_dir=Path(settings.DMS_SPOOL_DIR),
        spool_limit_bytes=task.instance.spool_limit_bytes,
        metrics_interval=float(getattr(settings, "DMS_METRICS_INTERVAL", 5)),
    )


def runner_settings(task: ReplicationTask) -> Any:
    from tasks.engine.settings import parse_task_settings

    return parse_task_settings(task.task_settings or None).settings


def retry_delay(errors: Any, attempt: int) -> float | None:
    """Seconds before recoverable-error attempt `attempt` (1, 2, ...), or None when DMS's
    ErrorBehavior says to stop retrying: RecoverableErrorCount (-1: forever), RecoverableErrorInterval
    doubled per attempt while RecoverableErrorThrottling, capped at RecoverableErrorThrottlingMax
    (past which RecoverableErrorStopRetryAfterThrottlingMax gives up)."""
    if 0 <= errors.recoverable_error_count < attempt:
        return None
    interval = float(errors.recoverable_error_interval)
    if not errors.recoverable_error_throttling:
        return interval
    delay = interval * 2 ** (attempt - 1)
    limit = float(errors.recoverable_error_throttling_max)
    if delay > limit:
        if errors.recoverable_error_stop_retry_after_throttling_max:
            return None
        delay = limit
    return delay


def _takeover_mode(task: ReplicationTask) -> str:
    current = ReplicationTask.objects.filter(pk=task.pk).only("fresh_started", "last_start_type").first()
    return current.takeover_mode if current is not None else StartMode.RESUME.value


def _remote_units_wanted(task: ReplicationTask) -> bool:
    mode = getattr(settings, "DMS_REMOTE_SEGMENTS", "auto")
    if mode == "always":
        return True
    if mode == "never":
        return False
    return task.instance.online_workers().count() > 1


def _seed_tables(task: ReplicationTask, runner: TaskRunner) -> bool:
    """One TableStatistics row per planned table (Before load; cdc tasks: Table completed) with the source's
    row estimate, so the table counters and the progress percent are right from the start. False when
    there is no plan (run() meets the same problem and reports it with its stop reason)."""
    try:
        plan = runner.plan()
    except Exception:
        return False
    if plan.errors:
        return False
    state = "Table completed" if task.migration_type == MigrationType.CDC else "Before load"
    existing = set(TableStatistics.objects.filter(task_id=task.pk).values_list("schema_name", "table_name"))
    TableStatistics.objects.bulk_create([
        TableStatistics(task_id=task.pk, schema_name=p.source_schema, table_name=p.source_table, table_state=state,
                        estimated_rows=p.source.estimated_rows)
        for p in plan.tables if (p.source_schema, p.source_table) not in existing], ignore_conflicts=True)
    ReplicationTask.objects.filter(pk=task.pk).update(**table_summary(task.pk))
    return True
