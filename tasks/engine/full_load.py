"""The full load: prepare target tables, load them in parallel, report each table's life.

Tables (and their key-range segments) run as LoadUnits on an executor, at most
MaxFullLoadSubTasks at a time, in the plan's order (load-order first). A table
is complete when all its units are; then its deferred key is created and
`on_table_loaded` runs (the CDC phase applies the table's cached changes there).
A failing table is suspended (Table error) or stops the task, per TableErrorPolicy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

from endpoints.engines import get_engine
from endpoints.engines.base import Engine
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError
from endpoints.engines.plan import PrepMode, TablePlan

from .executors import UnitExecutor
from .load_unit import LoadUnit, UnitOutcome
from .metrics import FullLoadMeter
from .reporting import Component, Reporter, Severity, TableCounts, TableKey, TableState


class TaskStopped(Exception):
    """Raised when a stop was requested; the caller records the stop reason."""


class TableFailed(Exception):
    """A table failed and TableErrorPolicy is STOP_TASK."""


@dataclass(frozen=True)
class FullLoadOptions:
    prep_mode: PrepMode = PrepMode.DROP_AND_CREATE
    max_subtasks: int = 8
    commit_rate: int = 10000
    create_pk_after_load: bool = False
    stop_task_on_table_error: bool = False  # TableErrorPolicy STOP_TASK
    metrics_interval: float = 5.0  # seconds between full-load throughput samples


@dataclass
class TableProgress:
    plan: TablePlan
    units: int
    done: int = 0
    rows: int = 0
    failed: str | None = None
    started: float | None = None
    notes: dict[str, int] = field(default_factory=dict)
    positions: list[str | None] = field(default_factory=list)  # each unit's snapshot position


@dataclass
class FullLoadSummary:
    completed: list[TableKey] = field(default_factory=list)
    failed: dict[TableKey, str] = field(default_factory=dict)
    rows: dict[TableKey, int] = field(default_factory=dict)
    notes: dict[TableKey, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0


_SEP = "\x1f"  # between schema and table in progress events: never part of a name


def table_key(plan: TablePlan) -> TableKey:
    return TableKey(plan.source_schema, plan.source_table)


def unit_key(key: TableKey, unit: LoadUnit) -> str:
    segment = "-" if unit.segment is None else str(unit.segment.index)
    return f"{key.schema}{_SEP}{key.table}{_SEP}{segment}"


class FullLoad:
    def __init__(self, source: ConnectionInfo, target: ConnectionInfo, plans: Iterable[TablePlan],
                 options: FullLoadOptions, reporter: Reporter, executor: UnitExecutor, *,
                 snapshot: str | None = None,
                 on_table_loaded: Callable[[TablePlan, list[str | None]], None] | None = None,
                 stop: threading.Event | None = None):
        self.source = source
        self.target_info = target
        self.plans = list(plans)
        self.options = options
        self.reporter = reporter
        self.executor = executor
        self.snapshot = snapshot
        self.on_table_loaded = on_table_loaded
        self.stop = stop or threading.Event()
        self.summary = FullLoadSummary()
        self._unit_rows: dict[str, int] = {}  # rows reported so far per running unit
        self._finished_units: set[str] = set()
        self.meter = FullLoadMeter(reporter, options.metrics_interval)

    def run(self) -> FullLoadSummary:
        started = time.monotonic()
        target = get_engine(self.target_info.engine)(self.target_info)
        try:
            progress = self._prepare(target)
            self._load(target, progress)
        finally:
            target.close()
            self.meter.finish()
        self.summary.seconds = time.monotonic() - started
        return self.summary

    # -- preparation ---------------------------------------------------------------------------
    def _prepare(self, target: Engine) -> dict[TableKey, TableProgress]:
        progress: dict[TableKey, TableProgress] = {}
        for plan in self.plans:
            key = table_key(plan)
            self.reporter.table_state(key, TableState.BEFORE_LOAD)
            try:
                target.prepare_table(plan, self.options.prep_mode, create_key=not self.options.create_pk_after_load)
            except EngineError as exc:
                self._fail(key, f"Preparing target table {plan.target_schema}.{plan.target_table} failed: {exc}")
                continue
            progress[key] = TableProgress(plan, units=max(1, len(plan.segments)))
        return progress

    # -- loading -------------------------------------------------------------------------------
    def _load(self, target: Engine, progress: dict[TableKey, TableProgress]) -> None:
        pending = [(key, LoadUnit(p.plan, segment)) for key, p in progress.items()
                   for segment in (p.plan.segments or (None,))]
        pending.reverse()  # pop() from the end keeps plan order
        running: dict[Future[UnitOutcome], tuple[TableKey, LoadUnit]] = {}
        try:
            while pending or running:
                if self.stop.is_set():
                    raise TaskStopped()
                while pending and len(running) < self.options.max_subtasks:
                    key, unit = pending.pop()
                    if progress[key].failed:
                        continue
                    self._start_unit(key, unit, progress[key], running)
                done, _ = wait(list(running), timeout=0.25, return_when=FIRST_COMPLETED)
                self._drain(progress)
                for future in done:
                    key, unit = running.pop(future)
                    self._finish_unit(target, key, unit, future, progress[key])
        except BaseException:
            self.executor.shutdown(cancel=True)
            raise
        self.executor.shutdown()

    def _start_unit(self, key: TableKey, unit: LoadUnit, table: TableProgress,
                    running: dict[Future[UnitOutcome], tuple[TableKey, LoadUnit]]) -> None:
        if table.started is None:
            table.started = time.monotonic()
            self.reporter.table_state(key, TableState.FULL_LOAD)
            self.reporter.log(Component.SOURCE_UNLOAD, Severity.INFO,
                              f"Unloading table {key} into {table.plan.target_schema}.{table.plan.target_table}"
                              f" ({table.units} unit{'s' if table.units > 1 else ''})")
        running[self.executor.submit(unit_key(key, unit), unit, self.snapshot)] = (key, unit)

    def _drain(self, progress: dict[TableKey, TableProgress]) -> None:
        per_table: dict[TableKey, int] = {}
        for key_text, rows, nbytes in self.executor.drain():
            if key_text in self._finished_units:
                continue  # late news of a unit whose final count is already in
            schema, table, _segment = key_text.split(_SEP)
            key = TableKey(schema, table)
            per_table[key] = per_table.get(key, 0) + rows
            self._unit_rows[key_text] = self._unit_rows.get(key_text, 0) + rows
            self.meter.add(rows, nbytes)
        for key, rows in per_table.items():
            progress[key].rows += rows
            self.reporter.table_counts(key, TableCounts(full_load_rows=rows))
        self.meter.maybe_sample()

    def _finish_unit(self, target: Engine, key: TableKey, unit: LoadUnit, future: Future[UnitOutcome],
                     table: TableProgress) -> None:
        try:
            outcome = future.result()
        except Exception as exc:  # a unit's error fails its table, never the others
            if not table.failed:
                self._fail(key, f"Loading {unit.label} failed: {exc}")
                table.failed = str(exc)
            return
        # Progress messages may still be on their way: the unit's own count is the truth.
        unit_text = unit_key(key, unit)
        remainder = outcome.rows - self._unit_rows.pop(unit_text, 0)
        self._finished_units.add(unit_text)
        if remainder:
            table.rows += remainder
            self.reporter.table_counts(key, TableCounts(full_load_rows=remainder))
        for note, count in outcome.notes.items():
            table.notes[note] = table.notes.get(note, 0) + count
        table.positions.append(outcome.snapshot_position)
        table.done += 1
        if table.done == table.units and not table.failed:
            self._complete_table(target, key, table)

    def _complete_table(self, target: Engine, key: TableKey, table: TableProgress) -> None:
        try:
            target.finish_table(table.plan)
            if self.on_table_loaded is not None:
                self.on_table_loaded(table.plan, table.positions)
        except EngineError as exc:
            self._fail(key, f"Finishing table {key} failed: {exc}")
            table.failed = str(exc)
            return
        self._report_notes(key, table.notes)
        seconds = time.monotonic() - (table.started or time.monotonic())
        self.reporter.log(Component.TARGET_LOAD, Severity.INFO,
                          f"Load finished for table {key}: {table.rows} rows in {seconds:.1f} s")
        self.reporter.table_state(key, TableState.COMPLETED)
        self.summary.completed.append(key)
        self.summary.rows[key] = table.rows
        self.summary.notes[key] = dict(table.notes)

    def _report_notes(self, key: TableKey, notes: dict[str, int]) -> None:
        if notes.get("zero_dates"):
            self.reporter.log(Component.SOURCE_UNLOAD, Severity.WARNING,
                              f"Table {key}: {notes['zero_dates']} zero date value(s) were loaded as NULL")
        if notes.get("lob_truncated"):
            self.reporter.log(Component.SOURCE_UNLOAD, Severity.WARNING,
                              f"Table {key}: {notes['lob_truncated']} LOB value(s) were truncated to the "
                              "limited LOB size (LobMaxSize); use full LOB mode to carry them whole")

    def _fail(self, key: TableKey, message: str) -> None:
        self.reporter.log(Component.TARGET_LOAD, Severity.ERROR, message)
        self.reporter.table_state(key, TableState.ERROR, message=message)
        self.summary.failed[key] = message
        if self.options.stop_task_on_table_error:
            raise TableFailed(message)
