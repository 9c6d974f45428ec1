"""One task's life: plan, start capture, full load, cached changes, ongoing replication, stop.

`TaskRunner.run(mode)` runs until the task finishes (full-load), is asked to
stop (`stop` event: console Stop, SIGTERM, CdcStopPosition) or fails. It is the
same code whether called from the command line (`python -m tasks.engine run`)
or from the console's Celery job; only the Reporter differs.

Start positions, resume and exactly-once are the engine's invariants
(DESIGN.md): the target holds the checkpoint and per-table states, written in
the same transactions as the data; the source is acknowledged only up to the
checkpoint; a resumed run restarts the stream where the target says and skips
what the target already has.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from endpoints.engines import get_engine
from endpoints.engines.base import Applier, Engine, RowFormat, TableSyncState
from endpoints.engines.catalog import SourceTable
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.plan import PrepMode, TablePlan

from .apply import ApplyLoop, ApplyOptions, Checkpoint, StopRequested
from .apply_writer import ErrorPolicies, Policy, StopTask
from .capture import CapturePump
from .executors import LocalExecutor, UnitExecutor
from .full_load import FullLoad, FullLoadOptions, TableFailed, TaskStopped, table_key
from .load_unit import choose_format
from .metrics import MetricsSampler
from .planner import build_plan
from .planning import Plan, PlanError, build_task_plan
from .reporting import Component, Reporter, Severity, TableKey, TableState
from .routing import Route, RouteStatus
from .settings import SettingsResult, parse_task_settings
from .spool import Spool, SpoolFull
from .stop_position import StopPosition, parse_stop_position


class MigrationType(StrEnum):
    FULL_LOAD = "full-load"
    CDC = "cdc"
    FULL_LOAD_AND_CDC = "full-load-and-cdc"


class StartMode(StrEnum):
    START = "start-replication"
    RESUME = "resume-processing"
    RELOAD = "reload-target"


GIL_SWITCH_SECONDS = 0.001
# Capture and apply allocate a few objects per change and free nearly all of them by reference
# counting, so the cyclic collector finds almost nothing to free. It counts allocations net of frees and
# examines every young object still alive when the count passes the first threshold: at the default
# (700) it ran thousands of times a second; at 50,000 it still examined every change of a batch window
# (50,000 changes held until written) and of the in-memory spool: 150 collections, 1.0-1.3 s of a 9 s
# drain of one million-row transaction (gc.callbacks, bench/cdc.py's (b) with batch apply). At a
# million, objects that die within a window are never examined: none ran during that drain, and the
# engine's CPU fell by 0.8-1.0 s (alternating runs). Cycles (exceptions, connections) are still
# collected, after a million net allocations.
GC_THRESHOLDS = (1_000_000, 20, 100)
# Changes held in memory between capture and apply before the spool writes them to disk (estimated).
SPOOL_MEMORY_BYTES = 64 * 2**20


@dataclass
class TaskSpec:
    task_id: str
    source: ConnectionInfo
    target: ConnectionInfo
    migration_type: MigrationType
    table_mappings: str | dict
    task_settings: str | dict | None = None
    cdc_start_position: str | None = None
    cdc_start_time: datetime | None = None
    cdc_stop_position: str | None = None
    spool_dir: Path = Path(".spool")
    spool_limit_bytes: int = 50 * 2**30  # the replication instance's allocated storage
    executor: str = "process"
    metrics_interval: float = 5.0
    # Where full-load units run: (options, number of units) -> UnitExecutor. None: a local pool of
    # processes (threads for a single unit). The console passes one that spreads units over workers.
    executor_factory: Callable[[FullLoadOptions, int], UnitExecutor] | None = None


@dataclass
class RunResult:
    stop_reason: str
    failed_tables: dict[TableKey, str] = field(default_factory=dict)
    error: str | None = None
    recoverable: bool = False
    checkpoint: str | None = None
    invalid_input: bool = False  # a document or the plan is wrong: nothing ran

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed_tables


class TaskRunner:
    def __init__(self, spec: TaskSpec, reporter: Reporter, stop: threading.Event | None = None):
        self.spec = spec
        self.reporter = reporter
        self.stop = stop or threading.Event()
        self.settings: SettingsResult = parse_task_settings(spec.task_settings)
        self.source: Engine = get_engine(spec.source.engine)(spec.source)
        self.target: Engine = get_engine(spec.target.engine)(spec.target)
        self.stop_position: StopPosition | None = parse_stop_position(spec.cdc_stop_position)
        self.loop: ApplyLoop | None = None
        self._units_hint = 0  # load units of the full load about to start (sizes the local pool)
        self._streamed_units = False  # every unit moves COPY/LOAD text lines, not Python rows
        self.pump: CapturePump | None = None
        self._planned: Plan | None = None  # made by plan() for the next run()

    # -- planning ------------------------------------------------------------------------------
    def plan(self) -> Plan:
        """The task's plan as the source and target are now. The next run() starts from it instead of
        planning again (callers show the estimates first; planning took a third of a resume's start-up);
        the runs after that, restarts after errors, plan afresh."""
        self._planned = build_task_plan(self.source, self.target, self.spec.table_mappings, self.settings)
        return self._planned

    # -- running -------------------------------------------------------------------------------
    def run(self, mode: StartMode = StartMode.START) -> RunResult:
        try:
            if self.settings.errors:
                raise PlanError(self.settings.errors)
            plan = self._planned if self._planned is not None else self.plan()
            self._planned = None
            if plan.errors:
                raise PlanError(plan.errors)
            for warning in plan.warnings:
                self.reporter.log(Component.TRANSFORMATION, Severity.WARNING, str(warning))
            if self.spec.migration_type is MigrationType.FULL_LOAD:
                return self._full_load_only(plan, mode)
            return self._with_cdc(plan, mode)
        except PlanError as exc:
            return RunResult("Stop Reason FATAL_ERROR", error=str(exc), invalid_input=True)
        except (StopTask, TableFailed) as exc:
            return RunResult("Stop Reason FATAL_ERROR", error=str(exc))
        except SpoolFull as exc:
            return RunResult("Stop Reason STOPPED_DUE_TO_LOW_DISK", error=str(exc))
        except EngineError as exc:
            reason = "Stop Reason FATAL_ERROR" if exc.permanent else "Stop Reason RECOVERABLE_ERROR"
            return RunResult(reason, error=str(exc), recoverable=not exc.permanent)

    @property
    def _settings(self) -> Any:
        return self.settings.settings

    def _control_schema(self) -> str:
        return self._settings.control_tables.control_schema

    def _full_load_options(self, *, prep_mode: PrepMode | None = None) -> FullLoadOptions:
        full = self._settings.full_load
        return FullLoadOptions(
            prep_mode=prep_mode or full.target_table_prep_mode,
            max_subtasks=full.max_full_load_sub_tasks,
            commit_rate=full.commit_rate,
            create_pk_after_load=full.create_pk_after_full_load,
            stop_task_on_table_error=self._settings.error_behavior.table_error_policy == "STOP_TASK",
            metrics_interval=self.spec.metrics_interval,
        )

    def _executor(self) -> UnitExecutor:
        options = self._full_load_options()
        units = self._units_hint
        if self.spec.executor_factory is not None:
            return self.spec.executor_factory(options, units)
        # One unit gains nothing from another process and pays for starting it (a second or so of CPU);
        # units that pass text lines through spend their time in the servers, not in Python, so threads
        # serve them as well as processes would, without that start-up cost for each worker.
        kind = "thread" if units == 1 or self._streamed_units else self.spec.executor
        return LocalExecutor(self.spec.source, self.spec.target, workers=max(1, min(options.max_subtasks, units or 99)),
                             commit_rate=options.commit_rate, kind=kind)

    def _full_load(self, plans: list[TablePlan], **kwargs: Any) -> FullLoad:
        self._units_hint = sum(max(1, len(p.segments)) for p in plans)
        self._streamed_units = all(choose_format(self.source, self.target, p) is not RowFormat.PYTHON for p in plans)
        return FullLoad(self.spec.source, self.spec.target, plans, self._full_load_options(), self.reporter,
                        self._executor(), stop=self.stop, **kwargs)

    # -- full-load tasks -----------------------------------------------------------------------
    def _full_load_only(self, plan: Plan, mode: StartMode) -> RunResult:
        applier = self._optional_applier()
        plans = plan.tables
        try:
            if applier is not None and mode is StartMode.RESUME:
                _, saved = applier.load_state(self.spec.task_id)
                done = {key for key, st in saved.items() if st.state in ("loaded", "replicating")}
                plans = [p for p in plans if (p.source_schema, p.source_table) not in done]
                for p in plan.tables:
                    if (p.source_schema, p.source_table) in done:
                        self.reporter.table_state(table_key(p), TableState.COMPLETED)
            elif applier is not None:
                _save(applier, self.spec.task_id, Checkpoint("full-load", start=""),
                      {(p.source_schema, p.source_table): TableSyncState(state="pending") for p in plans})
            self._log(Component.TASK_MANAGER, f"Full load of {len(plans)} table(s) starting")

            def loaded(table_plan: TablePlan, positions: list[str | None]) -> None:
                if applier is not None:
                    key = (table_plan.source_schema, table_plan.source_table)
                    _save(applier, self.spec.task_id, Checkpoint("full-load", start=""),
                          {key: TableSyncState(state="loaded")})

            summary = self._full_load(plans, on_table_loaded=loaded).run()
        except TaskStopped:
            return RunResult("Stop Reason NORMAL")
        finally:
            if applier is not None:
                applier.close()
        return RunResult("Stop Reason FULL_LOAD_ONLY_FINISHED", failed_tables=summary.failed)

    def _optional_applier(self) -> Applier | None:
        """Full-load tasks record finished tables on the target when the target engine can (so a
        resume skips them); a target without control tables simply reloads everything on resume."""
        try:
            return self.target.open_applier(self._control_schema())
        except EngineError as exc:
            if exc.kind is ErrorKind.UNSUPPORTED:
                return None
            raise

    # -- tasks with change data capture --------------------------------------------------------
    def _with_cdc(self, plan: Plan, mode: StartMode) -> RunResult:
        spec = self.spec
        applier = self.target.open_applier(self._control_schema())
        try:
            saved_checkpoint, saved_tables = applier.load_state(spec.task_id)
            resume = mode is StartMode.RESUME and saved_checkpoint is not None
            if not resume:  # a fresh start (or a resume of a run that never checkpointed) starts over
                self.source.end_capture(spec.task_id)  # and recreates the task's slot, as DMS does
            routes = self._routes(plan, saved_tables if resume else {})
            needs_load = [r.plan for r in routes.values() if r.status is RouteStatus.PENDING]
            start = Checkpoint.loads(saved_checkpoint).resume_from if resume else self._start_position()
            tables = [p.source for p in plan.tables]
            with self.source.begin_capture(spec.task_id, tables, start=start, with_snapshot=bool(needs_load)) as cap:
                checkpoint = Checkpoint.loads(saved_checkpoint) if resume else Checkpoint(
                    "full-load" if needs_load else "cdc", start=cap.position)
                _save(applier, spec.task_id, checkpoint,
                      {(r.key.schema, r.key.table): r.sync for r in routes.values()})
                self._start_replication(routes, checkpoint, start or cap.position)
                if needs_load:
                    stopped = self._load_tables(needs_load, cap.snapshot, cap.snapshot_position)
                    if stopped is not None:
                        return self._shutdown(stopped)
        except StopRequested as exc:
            return self._shutdown(exc.reason)
        finally:
            applier.close()
        return self._replicate()

    def _routes(self, plan: Plan, saved: dict[tuple[str, str], TableSyncState]) -> dict[TableKey, Route]:
        routes: dict[TableKey, Route] = {}
        for table_plan in plan.tables:
            if not table_plan.key:
                self.reporter.log(Component.SOURCE_CAPTURE, Severity.WARNING,
                                  f"Table {table_plan.source_schema}.{table_plan.source_table} has no primary key or "
                                  "unique key: its updates and deletes are matched on every column, and a PostgreSQL "
                                  "source captures them only with REPLICA IDENTITY FULL (else inserts only)")
            route = Route(table_plan)
            state = saved.get((table_plan.source_schema, table_plan.source_table))
            if self.spec.migration_type is MigrationType.CDC:
                route.status = RouteStatus.REPLICATING
                route.sync = state or TableSyncState(state="replicating")
            elif state is not None and state.state in ("loaded", "replicating"):
                route.status, route.sync = RouteStatus.REPLICATING, state
                self.reporter.table_state(route.key, TableState.COMPLETED)
            routes[route.key] = route
        return routes

    def _start_position(self) -> str | None:
        if self.spec.cdc_start_position:
            return self.spec.cdc_start_position
        if self.spec.cdc_start_time is not None:
            return self.source.position_at(self.spec.cdc_start_time)
        return None

    def _start_replication(self, routes: dict[TableKey, Route], checkpoint: Checkpoint, start: str) -> None:
        spec = self.spec
        # Capture and apply are CPU-bound threads; the writer thread waits on the target and then needs the
        # GIL back. At the default 5 ms switch interval it queues that long after every round trip.
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        gc.set_threshold(*GC_THRESHOLDS)
        directory = spec.spool_dir / spec.task_id
        self.spool = Spool(directory / "main", spec.spool_limit_bytes, memory_bytes=SPOOL_MEMORY_BYTES)
        self.stream = self.source.open_stream(spec.task_id, [r.plan.source for r in routes.values()], start)
        self.stop_capture = threading.Event()
        self.pump = CapturePump(self.stream, self.spool, self.stop_capture)
        self.loop = ApplyLoop(
            target=spec.target, control_schema=self._control_schema(), task_id=spec.task_id, routes=routes,
            checkpoint=checkpoint, options=self._apply_options(), reporter=self.reporter,
            position_key=self.source.position_key, spool=self.spool, cache_dir=directory / "cache",
            cache_limit=spec.spool_limit_bytes, acknowledge=self.stream.acknowledge,
            capture_error=lambda: self.pump.error, stop=self.stop, replan=self._replan)
        self.loop_error: BaseException | None = None
        self.loop_thread = threading.Thread(target=self._run_loop, name="apply", daemon=True)
        self.pump.start()
        self.loop_thread.start()
        self.sampler = MetricsSampler(self.reporter, self.pump, self.loop, self.spool, self.stream,
                                      spec.metrics_interval)
        self.sampler_thread = self.sampler.run_until(self.stop_capture)
        self._log(Component.SOURCE_CAPTURE, f"Capture started at position {start}")

    def _replan(self, table: SourceTable) -> TablePlan | None:
        """The plan of one table as the mappings shape it now (after a source DDL)."""
        plan = build_plan([table], self.spec.table_mappings, self.settings, target=self.target,
                          source_engine=self.source.name)
        return plan.tables[0] if plan.tables and not plan.errors else None

    def _run_loop(self) -> None:
        try:
            self.loop.run()
        except BaseException as exc:  # the runner thread turns it into the task's result
            self.loop_error = exc

    def _load_tables(self, plans: list[TablePlan], snapshot: str | None, snapshot_position: str | None) -> str | None:
        """Full load under a running capture. Returns a stop reason when the task stops here."""
        full = self._settings.full_load

        def loaded(table_plan: TablePlan, positions: list[str | None]) -> None:
            position, exact = _loaded_position(snapshot, snapshot_position, positions, self.source)
            if not full.stop_task_cached_changes_not_applied:
                self.loop.table_loaded(table_key(table_plan), position, exact)

        for table_plan in plans:
            self.loop.routes[table_key(table_plan)].status = RouteStatus.LOADING
        try:
            summary = self._full_load(plans, snapshot=snapshot, on_table_loaded=loaded).run()
        except TaskStopped:
            return "Stop Reason NORMAL"
        for key in summary.failed:
            self.loop.routes[key].status = RouteStatus.SUSPENDED
        if full.stop_task_cached_changes_not_applied:
            for table_plan in plans:
                if table_key(table_plan) not in summary.failed:
                    self.loop.table_loaded(table_key(table_plan), snapshot_position, snapshot is not None,
                                           drain=False)
            return "Stop Reason STOPPED_AFTER_FULL_LOAD"
        if full.stop_task_cached_changes_applied:
            self._wait_until(self.loop.all_replicating)
            return "Stop Reason STOPPED_AFTER_CACHED_EVENTS"
        return None

    def reload_tables(self, keys: list[TableKey]) -> threading.Thread:
        """Reload these tables while the others keep replicating (DMS ReloadTables): their changes are
        cached from now on, they are loaded again under a fresh snapshot, then their cache drains.
        Runs on its own thread, returned so callers may wait; failures mark the table Table error."""
        if self.loop is None or not self.loop_thread.is_alive():
            raise EngineError("Reload tables needs a running task with change data capture.",
                              kind=ErrorKind.UNSUPPORTED)
        unknown = [k for k in keys if k not in self.loop.routes]
        if unknown:
            raise EngineError(f"Cannot reload {', '.join(map(str, unknown))}: not a table of this task.",
                              kind=ErrorKind.SCHEMA)
        thread = threading.Thread(target=self._reload, args=(list(keys),), name="reload", daemon=True)
        thread.start()
        return thread

    def _reload(self, keys: list[TableKey]) -> None:
        switched = self.loop.begin_reload(keys)
        while not switched.wait(0.5):
            if not self.loop_thread.is_alive():
                return
        plans = [self.loop.routes[k].plan for k in keys]
        self._log(Component.TASK_MANAGER, f"Reloading {', '.join(map(str, keys))}")
        try:
            start = self.loop.checkpoint.resume_from
            # All the task's tables: capture set-up (a PostgreSQL publication) must keep covering the others.
            every_table = [route.plan.source for route in self.loop.routes.values()]
            with self.source.begin_capture(self.spec.task_id, every_table, start=start, with_snapshot=True) as cap:
                def loaded(table_plan: TablePlan, positions: list[str | None]) -> None:
                    position, exact = _loaded_position(cap.snapshot, cap.snapshot_position, positions, self.source)
                    self.loop.table_loaded(table_key(table_plan), position, exact)

                self._full_load(plans, snapshot=cap.snapshot, on_table_loaded=loaded).run()
        except (EngineError, TaskStopped) as exc:
            for key in keys:
                self.reporter.table_state(key, TableState.ERROR, message=f"Reload failed: {exc}")
                self.loop.routes[key].status = RouteStatus.SUSPENDED

    def _replicate(self) -> RunResult:
        """Ongoing replication until a stop or an error."""
        while self.loop_thread.is_alive():
            self.loop_thread.join(timeout=0.5)
            if self.stop_position is not None and self.stop_position.reached_server_time():
                self.loop.stop_reason_override = "Stop Reason STOPPED_AT_SERVER_TIME"
                self.stop.set()
        return self._finish()

    def _wait_until(self, event: threading.Event) -> None:
        while not event.wait(0.5):
            if not self.loop_thread.is_alive() or self.stop.is_set():
                return

    def _shutdown(self, reason: str) -> RunResult:
        if self.loop is not None:
            self.loop.stop_reason_override = reason
        self.stop.set()
        if self.loop is not None:
            self.loop_thread.join()
        return self._finish()

    def _finish(self) -> RunResult:
        self.stop.set()
        self.stop_capture.set()
        self.pump.join(timeout=30)
        self.stream.close()
        self.spool.close()
        self.sampler_thread.join(timeout=5)
        self.sampler.sample()
        error = self.loop_error
        checkpoint = self.loop.checkpoint.dumps()
        if error is None or isinstance(error, StopRequested):
            reason = self.loop.stop_reason_override or (error.reason if error else "Stop Reason NORMAL")
            return RunResult(reason, checkpoint=checkpoint)
        if isinstance(error, SpoolFull):
            return RunResult("Stop Reason STOPPED_DUE_TO_LOW_DISK", error=str(error), checkpoint=checkpoint)
        if isinstance(error, EngineError) and not error.permanent:
            return RunResult("Stop Reason RECOVERABLE_ERROR", error=str(error), recoverable=True,
                             checkpoint=checkpoint)
        self.reporter.log(Component.TASK_MANAGER, Severity.ERROR, f"Task failed: {error}")
        return RunResult("Stop Reason FATAL_ERROR", error=str(error), checkpoint=checkpoint)

    def _apply_options(self) -> ApplyOptions:
        settings = self._settings
        errors = settings.error_behavior
        tuning = settings.change_processing
        return ApplyOptions(
            policies=ErrorPolicies(
                insert=Policy(errors.apply_error_insert_policy),
                update=Policy(errors.apply_error_update_policy),
                delete=Policy(errors.apply_error_delete_policy),
                data=Policy(errors.data_error_policy),
                escalation=Policy(errors.apply_error_escalation_policy),
                escalation_count=errors.apply_error_escalation_count,
            ),
            min_transaction_size=tuning.min_transaction_size,
            commit_timeout=float(tuning.commit_timeout),
            handle_truncate=settings.ddl_handling.handle_source_table_truncated,
            handle_altered=settings.ddl_handling.handle_source_table_altered,
            retry_interval=float(errors.recoverable_error_interval),
            retry_max_interval=float(errors.recoverable_error_throttling_max),
            retry_limit=errors.recoverable_error_count,
            stop_after_commit_time=self.stop_position.commit_time if self.stop_position else None,
            batch_apply=settings.target_metadata.batch_apply_enabled,
            batch_timeout_min=float(tuning.batch_apply_timeout_min),
            batch_timeout_max=float(tuning.batch_apply_timeout_max),
        )

    def _log(self, component: Component, message: str) -> None:
        self.reporter.log(component, Severity.INFO, message)


def _loaded_position(snapshot: str | None, snapshot_position: str | None, positions: list[str | None],
                     source: Engine) -> tuple[str | None, bool]:
    """The position a loaded table's rows are consistent with, and whether it is exact."""
    if snapshot is not None:
        return snapshot_position, True
    if positions and all(p is not None for p in positions):
        ordered = sorted(positions, key=source.position_key)
        # One reader, one snapshot: exact. Several segments read at different moments: changes
        # between the earliest and latest snapshot are applied idempotently.
        return ordered[0], len(set(positions)) == 1
    return None, False


def _save(applier: Applier, task_id: str, checkpoint: Checkpoint,
          tables: dict[tuple[str, str], TableSyncState]) -> None:
    applier.begin()
    applier.save_state(task_id, checkpoint.dumps(), None, tables)
    applier.commit()


__all__ = ["MigrationType", "PlanError", "RunResult", "StartMode", "TaskRunner", "TaskSpec", "time"]
