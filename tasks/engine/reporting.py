"""How the engine tells the world what it is doing.

The engine calls a `Reporter`; the command-line runner prints, the Celery job
writes models and broadcasts to the task's Channels group. Calls carry deltas
(rows just loaded, changes just applied), never totals, so a reporter can sum
and coalesce them. The loader, the capture and the applier run on different
threads: implementations must be thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class TableState(StrEnum):
    """DMS's table states (DescribeTableStatistics TableState)."""

    NOT_EXIST = "Table does not exist"
    BEFORE_LOAD = "Before load"
    FULL_LOAD = "Full load"
    COMPLETED = "Table completed"
    CANCELLED = "Table cancelled"
    ERROR = "Table error"
    RELOADING = "Table is being reloaded"


class Component(StrEnum):
    """DMS's log components."""

    SOURCE_UNLOAD = "SOURCE_UNLOAD"
    SOURCE_CAPTURE = "SOURCE_CAPTURE"
    SORTER = "SORTER"
    TARGET_LOAD = "TARGET_LOAD"
    TARGET_APPLY = "TARGET_APPLY"
    TASK_MANAGER = "TASK_MANAGER"
    TABLES_MANAGER = "TABLES_MANAGER"
    METADATA_MANAGER = "METADATA_MANAGER"
    TRANSFORMATION = "TRANSFORMATION"
    VALIDATOR = "VALIDATOR"


class Severity(StrEnum):
    ERROR = "LOGGER_SEVERITY_ERROR"
    WARNING = "LOGGER_SEVERITY_WARNING"
    INFO = "LOGGER_SEVERITY_INFO"
    DEBUG = "LOGGER_SEVERITY_DEBUG"
    DETAILED_DEBUG = "LOGGER_SEVERITY_DETAILED_DEBUG"

    @property
    def letter(self) -> str:
        return {"ERROR": "E", "WARNING": "W", "INFO": "I", "DEBUG": "D", "DETAILED_DEBUG": "T"}[self.name]


@dataclass(frozen=True, slots=True)
class TableKey:
    """A table as the user knows it: the source schema and name."""

    schema: str
    table: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass
class TableCounts:
    """Deltas for one table: full-load rows and applied CDC changes."""

    full_load_rows: int = 0
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    ddls: int = 0

    def __bool__(self) -> bool:
        return any((self.full_load_rows, self.inserts, self.updates, self.deletes, self.ddls))


class Reporter(Protocol):
    def table_state(self, table: TableKey, state: TableState, *, message: str = "") -> None: ...

    def table_counts(self, table: TableKey, counts: TableCounts) -> None: ...

    def checkpoint(self, position: str, commit_time: datetime | None) -> None: ...

    def metric(self, name: str, value: float) -> None: ...

    def log(self, component: Component, severity: Severity, message: str) -> None: ...


class NullReporter:
    """Swallows everything (for tests that only look at the databases)."""

    def table_state(self, table: TableKey, state: TableState, *, message: str = "") -> None:
        pass

    def table_counts(self, table: TableKey, counts: TableCounts) -> None:
        pass

    def checkpoint(self, position: str, commit_time: datetime | None) -> None:
        pass

    def metric(self, name: str, value: float) -> None:
        pass

    def log(self, component: Component, severity: Severity, message: str) -> None:
        pass


class RecordingReporter(NullReporter):
    """Keeps every call, summing counts per table (used by tests and the runner's final table)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.states: dict[TableKey, TableState] = {}
        self.messages: dict[TableKey, str] = {}
        self.counts: dict[TableKey, TableCounts] = {}
        self.logs: list[tuple[Component, Severity, str]] = []
        self.checkpoints: list[str] = []
        self.metrics: dict[str, float] = {}

    def table_state(self, table: TableKey, state: TableState, *, message: str = "") -> None:
        self.states[table] = state
        if message:
            self.messages[table] = message

    def table_counts(self, table: TableKey, counts: TableCounts) -> None:
        with self._lock:
            total = self.counts.setdefault(table, TableCounts())
            total.full_load_rows += counts.full_load_rows
            total.inserts += counts.inserts
            total.updates += counts.updates
            total.deletes += counts.deletes
            total.ddls += counts.ddls

    def checkpoint(self, position: str, commit_time: datetime | None) -> None:
        self.checkpoints.append(position)

    def metric(self, name: str, value: float) -> None:
        self.metrics[name] = value

    def log(self, component: Component, severity: Severity, message: str) -> None:
        with self._lock:
            self.logs.append((component, severity, message))
