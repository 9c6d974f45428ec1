"""A Reporter for the command line: progress while running, a table of results at the end."""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from typing import TextIO

from .reporting import Component, RecordingReporter, Severity, TableCounts, TableKey, TableState


class TerminalReporter(RecordingReporter):
    """Plain timestamped lines when output is not a terminal; a redrawn progress line when it is."""

    def __init__(self, out: TextIO | None = None, *, estimates: dict[TableKey, int] | None = None,
                 verbose: bool = False):
        super().__init__()
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self.estimates = estimates or {}
        self.verbose = verbose
        self._print_lock = threading.Lock()
        self._last_draw = 0.0

    def table_state(self, table: TableKey, state: TableState, *, message: str = "") -> None:
        super().table_state(table, state, message=message)
        rows = self.counts.get(table, TableCounts()).full_load_rows
        suffix = f" ({rows} rows)" if state is TableState.COMPLETED else (f": {message}" if message else "")
        self._line(f"{table}: {state}{suffix}")

    def table_counts(self, table: TableKey, counts: TableCounts) -> None:
        super().table_counts(table, counts)
        if self.tty and time.monotonic() - self._last_draw > 0.2:
            self._draw()
        elif not self.tty and counts.full_load_rows and self.verbose:
            self._line(f"{table}: {self.counts[table].full_load_rows} rows loaded")

    def log(self, component: Component, severity: Severity, message: str) -> None:
        super().log(component, severity, message)
        if severity in (Severity.ERROR, Severity.WARNING) or self.verbose:
            self._line(f"[{component.value}]{severity.letter}: {message}")

    def _line(self, text: str) -> None:
        with self._print_lock:
            stamp = datetime.now().strftime("%H:%M:%S")
            prefix = "\r\033[K" if self.tty else ""
            self.out.write(f"{prefix}{stamp} {text}\n")
            self.out.flush()

    def _draw(self) -> None:
        with self._print_lock:
            self._last_draw = time.monotonic()
            loading = [k for k, s in self.states.items() if s is TableState.FULL_LOAD]
            parts = []
            for key in loading[:4]:
                rows = self.counts.get(key, TableCounts()).full_load_rows
                total = self.estimates.get(key) or 0
                parts.append(f"{key.table} {_bar(rows, total)} {rows}" + (f"/{total}" if total else ""))
            done = sum(1 for s in self.states.values() if s is TableState.COMPLETED)
            text = f"{done}/{len(self.states)} tables done  " + "  ".join(parts)
            self.out.write("\r\033[K" + text[: 160])
            self.out.flush()

    def summary(self) -> str:
        header = ("Schema", "Table", "State", "Full load rows", "Inserts", "Updates", "Deletes", "DDLs")
        rows = [header]
        for key in sorted(self.states, key=lambda k: (k.schema, k.table)):
            counts = self.counts.get(key, TableCounts())
            rows.append((key.schema, key.table, str(self.states[key]), str(counts.full_load_rows),
                         str(counts.inserts), str(counts.updates), str(counts.deletes), str(counts.ddls)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _bar(done: int, total: int, width: int = 12) -> str:
    if total <= 0:
        return "[" + "?" * width + "]"
    filled = min(width, int(width * done / total))
    return "[" + "#" * filled + "." * (width - filled) + "]"
