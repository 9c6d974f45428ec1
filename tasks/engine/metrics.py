"""Sampling a running task's CDC metrics, named as DMS's CloudWatch task metrics."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from .reporting import Reporter


class MetricsSampler:
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

    def maybe_sample(self) -> None:
        if time.monotonic() - self._last_at >= self.interval:
            self.sample()

    def sample(self) -> None:
        now = time.monotonic()
        elapsed = max(now - self._last_at, 1e-6)
        read, read_bytes, applied = self.stream.read_changes, self.stream.read_bytes, self.loop.applied_changes
        backlog = self.spool.backlog
        metrics = {
            "CDCIncomingChanges": backlog,
            "CDCChangesDiskSource": backlog,
            "CDCChangesMemorySource": 0,
            "CDCChangesMemoryTarget": 0,
            "CDCChangesDiskTarget": self.spool.bytes_on_disk,
            "CDCThroughputRowsSource": (read - self._last_read) / elapsed,
            "CDCThroughputBandwidthSource": (read_bytes - self._last_read_bytes) / 1024 / elapsed,
            "CDCThroughputRowsTarget": (applied - self._last_applied) / elapsed,
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
        return max(0.0, (datetime.now(UTC).replace(tzinfo=None) - last).total_seconds())
