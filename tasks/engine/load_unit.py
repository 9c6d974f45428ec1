"""Loading one unit of work (a whole table or one key-range segment) from source to target.

Runs in a pool worker (process or thread) or in a Celery job: everything it needs
arrives as plain data (connection infos, the plan, the segment) and progress goes
out through a callback, so the same function serves every executor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from endpoints.engines import get_engine
from endpoints.engines.base import Engine, LoadResult, RowBatch, RowFormat
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.plan import Segment, TablePlan

from .shaping import RowShaper

Progress = Callable[[int, int], None]  # (rows, bytes) just handed to the target


@dataclass(frozen=True)
class LoadUnit:
    plan: TablePlan
    segment: Segment | None = None

    @property
    def label(self) -> str:
        name = f"{self.plan.source_schema}.{self.plan.source_table}"
        return name if self.segment is None else f"{name} segment {self.segment.index + 1}"


@dataclass
class UnitOutcome:
    rows: int = 0
    nbytes: int = 0
    seconds: float = 0.0
    format: str = ""
    notes: dict[str, int] = field(default_factory=dict)
    snapshot_position: str | None = None  # set when the reader took its own snapshot (MySQL)


def choose_format(source: Engine, target: Engine, plan: TablePlan) -> RowFormat:
    """The first format the target prefers that the source can produce for this plan."""
    offered = source.source_formats(plan)
    for fmt in target.target_formats():
        if fmt in offered and (fmt is RowFormat.PYTHON or plan.passthrough):
            return fmt
    return RowFormat.PYTHON


def load_unit(source_info: ConnectionInfo, target_info: ConnectionInfo, unit: LoadUnit, *, commit_rate: int,
              snapshot: str | None = None, progress: Progress | None = None) -> UnitOutcome:
    source = get_engine(source_info.engine)(source_info)
    target = get_engine(target_info.engine)(target_info)
    started = time.monotonic()
    fmt = choose_format(source, target, unit.plan)
    reads = source.read(unit.plan, unit.segment, fmt=fmt, batch_rows=commit_rate, snapshot=snapshot)
    batches = reads
    seen = _FirstPosition()
    batches = seen.watch(batches)
    if fmt is RowFormat.PYTHON:
        batches = _shaped(batches, RowShaper(unit.plan))
    if progress is not None:
        batches = _reporting(batches, progress)
    try:
        result: LoadResult = target.load(unit.plan, batches, commit_rows=commit_rate)
    finally:
        _close(reads)  # a failed load must not leave the reader (and its connection) waiting
        source.close()
        target.close()
    return UnitOutcome(rows=result.rows, nbytes=result.nbytes, seconds=time.monotonic() - started,
                       format=fmt.value, notes=dict(result.notes), snapshot_position=seen.position)


def _close(iterator: Iterator[RowBatch]) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


class _FirstPosition:
    """Remembers the snapshot position a reader reports on its batches."""

    def __init__(self) -> None:
        self.position: str | None = None

    def watch(self, batches: Iterator[RowBatch]) -> Iterator[RowBatch]:
        for batch in batches:
            if self.position is None and batch.snapshot_position is not None:
                self.position = batch.snapshot_position
            yield batch


def _shaped(batches: Iterator[RowBatch], shaper: RowShaper) -> Iterator[RowBatch]:
    for batch in batches:
        batch.data = shaper.shape_all(batch.data)
        yield batch


def _reporting(batches: Iterator[RowBatch], progress: Progress) -> Iterator[RowBatch]:
    # Report a batch once the loader asks for the next one: by then it has been written.
    pending: RowBatch | None = None
    for batch in batches:
        if pending is not None:
            progress(pending.rows, pending.nbytes)
        pending = batch
        yield batch
    if pending is not None:
        progress(pending.rows, pending.nbytes)
