"""Sampling a running task's metrics, named as DMS's CloudWatch task metrics.

`MetricsSampler` samples the change-data-capture metrics; `FullLoadMeter` the
full-load throughput, from the rows and bytes the loaders report.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from endpoints.engines.base import seconds_since

from .reporting import Reporter


class _Periodic:
    """Something that samples every `interval` seconds (its `_last_at` is when it last did)."""

    interval: float
    _last_at: float

    def sample(self) -> None:
        raise NotImplementedError

    def maybe_sample(self) -> None:
        if time.monotonic() - self._last_at >= self.interval:
            self.sample()

    def run_until(self, stop: threading.Event) -> threading.Thread:
        """Sample on a thread of its own until `stop`: through the full load too, when the runner's
        thread is busy loading tables."""

        def body() -> None:
            while not stop.wait(min(self.interval, 1.0)):
                self.maybe_sample()

        thread = threading.Thread(target=body, name="metrics", daemon=True)
        thread.start()
        return thread


class MetricsSampler(_Periodic):
    """Turns the capture's and applier's counters into rates and latencies every `interval` seconds."""

    def __init__(self, reporter: Reporter, pump: Any, loop: Any, spool: Any, stream: Any, interval: float):
        self.reporter = reporter
        self.pump = pump
        self.loop = loop
        self.spool = spool
        self.stream = stream
        self.interval = interval
        self._last_at = time.monotonic()
        self._last_read = 0
        self._last_read_bytes = 0
        self._last_applied = 0

    def sample(self) -> None:
        now = time.monotonic()
        elapsed = max(now - self._last_at, 1e-6)
        read, read_bytes, applied = self.stream.read_changes, self.stream.read_bytes, self.loop.applied_changes
        backlog = self.spool.backlog
        metrics = {
            "CDCIncomingChanges": backlog,
            "CDCChangesDiskSource": backlog,
            "CDCChangesMemorySource": 0,
            "CDCChangesMemoryTarget": self.spool.changes_in_memory,
            "CDCChangesDiskTarget": self.spool.bytes_on_disk,
            "CDCThroughputRowsSource": (read - self._last_read) / elapsed,
            "CDCThroughputBandwidthSource": (read_bytes - self._last_read_bytes) / 1024 / elapsed,
            "CDCThroughputRowsTarget": (applied - self._last_applied) / elapsed,
            # The applier does not count bytes: applied rows at the captured changes' average size.
            "CDCThroughputBandwidthTarget":
                (applied - self._last_applied) * _average(read_bytes, read) / 1024 / elapsed,
            "CDCLatencySource": self.pump.latency(),
            "CDCLatencyTarget": self._target_latency(backlog),
        }
        for name, value in metrics.items():
            self.reporter.metric(name, float(value))
        self._last_at, self._last_read, self._last_read_bytes, self._last_applied = now, read, read_bytes, applied

    def _target_latency(self, backlog: int) -> float:
        """Seconds from the source commit of the last applied change to now while work waits; else
        the source latency (the target is caught up with what was captured)."""
        last = self.loop.last_commit_time
        if backlog == 0 or last is None:
            return self.pump.latency()
        return max(0.0, seconds_since(last))


def _average(total: float, count: int) -> float:
    return total / count if count else 0.0


class FullLoadMeter(_Periodic):
    """FullLoadThroughputRowsSource/Target and FullLoadThroughputBandwidthSource/Target every `interval`
    seconds while tables load. Loaders report a batch once it is written, so rows read and rows written
    are the same batches (the source and target figures differ only when a batch is still in flight)."""

    NAMES = ("FullLoadThroughputRowsSource", "FullLoadThroughputRowsTarget",
             "FullLoadThroughputBandwidthSource", "FullLoadThroughputBandwidthTarget")

    def __init__(self, reporter: Reporter, interval: float):
        self.reporter = reporter
        self.interval = interval
        self._lock = threading.Lock()
        self._rows = 0
        self._bytes = 0
        self._last_at = time.monotonic()

    def add(self, rows: int, nbytes: int) -> None:
        with self._lock:
            self._rows += rows
            self._bytes += nbytes

    def sample(self) -> None:
        now = time.monotonic()
        with self._lock:
            rows, nbytes, self._rows, self._bytes = self._rows, self._bytes, 0, 0
        elapsed = max(now - self._last_at, 1e-6)
        self._last_at = now
        rows_rate, kb_rate = rows / elapsed, nbytes / 1024 / elapsed
        for name, value in zip(self.NAMES, (rows_rate, rows_rate, kb_rate, kb_rate), strict=True):
            self.reporter.metric(name, float(value))

    def finish(self) -> None:
        """The load is over: the throughput drops to zero (a chart does not keep showing the last rate)."""
        for name in self.NAMES:
            self.reporter.metric(name, 0.0)
