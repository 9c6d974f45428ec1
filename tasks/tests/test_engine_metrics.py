"""The engine's metric samplers, without databases: DMS's CloudWatch names, rates per second, KB."""

from __future__ import annotations

import types

import pytest

from tasks.engine import metrics
from tasks.engine.reporting import RecordingReporter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(metrics, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    return clock


def test_it_reports_full_load_throughput_in_rows_and_kilobytes_per_second(clock):
    reporter = RecordingReporter()
    meter = metrics.FullLoadMeter(reporter, interval=5.0)
    meter.add(4000, 2048 * 1024)
    meter.add(6000, 2048 * 1024)
    clock.now += 4.0
    meter.maybe_sample()
    assert reporter.metrics == {}  # not yet: the interval is 5 s
    clock.now += 1.0
    meter.maybe_sample()
    assert reporter.metrics == {
        "FullLoadThroughputRowsSource": 2000.0, "FullLoadThroughputRowsTarget": 2000.0,
        "FullLoadThroughputBandwidthSource": 819.2, "FullLoadThroughputBandwidthTarget": 819.2,
    }


def test_it_counts_each_interval_apart_and_drops_to_zero_when_the_load_ends(clock):
    reporter = RecordingReporter()
    meter = metrics.FullLoadMeter(reporter, interval=1.0)
    meter.add(100, 0)
    clock.now += 1.0
    meter.maybe_sample()
    assert reporter.metrics["FullLoadThroughputRowsTarget"] == 100.0
    meter.add(50, 0)
    clock.now += 2.0
    meter.maybe_sample()
    assert reporter.metrics["FullLoadThroughputRowsTarget"] == 25.0
    meter.finish()
    assert set(reporter.metrics.values()) == {0.0}


def test_it_samples_the_cdc_metrics_with_target_bandwidth(clock):
    reporter = RecordingReporter()
    stream = types.SimpleNamespace(read_changes=0, read_bytes=0)
    loop = types.SimpleNamespace(applied_changes=0, last_commit_time=None)
    spool = types.SimpleNamespace(backlog=0, bytes_on_disk=0, changes_in_memory=0)
    pump = types.SimpleNamespace(latency=lambda: 0.5)
    sampler = metrics.MetricsSampler(reporter, pump, loop, spool, stream, interval=2.0)
    stream.read_changes, stream.read_bytes = 400, 400 * 512
    loop.applied_changes = 300
    spool.backlog, spool.bytes_on_disk, spool.changes_in_memory = 100, 4096, 70
    clock.now += 2.0
    sampler.maybe_sample()
    assert reporter.metrics == {
        "CDCIncomingChanges": 100.0, "CDCChangesDiskSource": 100.0, "CDCChangesMemorySource": 0.0,
        "CDCChangesMemoryTarget": 70.0, "CDCChangesDiskTarget": 4096.0,
        "CDCThroughputRowsSource": 200.0, "CDCThroughputBandwidthSource": 100.0,
        "CDCThroughputRowsTarget": 150.0, "CDCThroughputBandwidthTarget": 75.0,
        "CDCLatencySource": 0.5, "CDCLatencyTarget": 0.5,
    }
