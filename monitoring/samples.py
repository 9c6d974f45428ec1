"""Metric samples: recording, the series the Monitoring charts draw, retention and downsampling.

Samples are written by the runner's reporter (a task's metrics, every TaskSpec.metrics_interval
seconds) and by each worker's heartbeat (its replication instance's CPU, memory, free spool
storage and tasks running). Raw samples are kept RAW_KEEP; older ones are averaged into 1-minute
samples, kept MINUTE_KEEP; older ones into 1-hour samples, kept DMS_METRICS_RETENTION_DAYS.
`compact` does that (the scheduler runs it every COMPACT_EVERY; monitoring.jobs).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import MetricSample


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    help: str


# DMS's CloudWatch task metrics (reference: dms.md section 5.1), in the order the console lists them.
TASK_METRICS = [
    Metric("FullLoadThroughputRowsSource", "rows/s", "Full-load rows read from the source per second."),
    Metric("FullLoadThroughputRowsTarget", "rows/s", "Full-load rows written to the target per second."),
    Metric("FullLoadThroughputBandwidthSource", "KB/s", "Full-load data read from the source, KB per second."),
    Metric("FullLoadThroughputBandwidthTarget", "KB/s", "Full-load data written to the target, KB per second."),
    Metric("CDCIncomingChanges", "changes", "Change events waiting to be applied to the target."),
    Metric("CDCChangesMemorySource", "rows", "Changes held in memory waiting to be committed from the source."),
    Metric("CDCChangesDiskSource", "rows", "Changes held on disk (the spool) waiting to be committed from "
                                           "the source."),
    Metric("CDCChangesMemoryTarget", "rows", "Changes held in memory waiting to be committed to the target."),
    Metric("CDCChangesDiskTarget", "bytes", "Bytes of the on-disk spool waiting to be committed to the target."),
    Metric("CDCThroughputRowsSource", "rows/s", "Changes captured from the source per second."),
    Metric("CDCThroughputRowsTarget", "rows/s", "Changes applied to the target per second."),
    Metric("CDCThroughputBandwidthSource", "KB/s", "Change data captured from the source, KB per second."),
    Metric("CDCThroughputBandwidthTarget", "KB/s", "Change data applied to the target, KB per second."),
    Metric("CDCLatencySource", "seconds", "Now minus the source commit time of the last captured change."),
    Metric("CDCLatencyTarget", "seconds", "Now minus the source commit time of the last applied change "
                                          "while changes wait (the total lag)."),
]
TASK_METRIC_NAMES = [m.name for m in TASK_METRICS]

# A replication instance's metrics, per worker (dms.md section 5.2 names where DMS has one).
INSTANCE_METRICS = [
    Metric("CPUUtilization", "percent", "CPU used on the worker's machine, percent."),
    Metric("MemoryUsage", "percent", "Memory used on the worker's machine, percent."),
    Metric("AvailableMemory", "bytes", "Memory available on the worker's machine."),
    Metric("FreeStorageSpace", "bytes", "Free space where the worker keeps its change spools."),
    Metric("TasksRunning", "tasks", "Replication tasks this worker is running."),
]
INSTANCE_METRIC_NAMES = [m.name for m in INSTANCE_METRICS]

RAW_KEEP = timedelta(hours=2)
MINUTE_KEEP = timedelta(days=2)
COMPACT_EVERY = 300.0  # seconds between compaction passes


def retention() -> timedelta:
    return timedelta(days=int(getattr(settings, "DMS_METRICS_RETENTION_DAYS", 14)))


def tiers() -> list[tuple[int, timedelta, int | None]]:
    """(resolution, kept for, resolution it is averaged into afterwards)."""
    return [(0, RAW_KEEP, 60), (60, MINUTE_KEEP, 3600), (3600, retention(), None)]


# -- recording --------------------------------------------------------------------------------------------
def _clean(values: Mapping[str, float]) -> dict[str, float]:
    return {name: float(v) for name, v in values.items() if v is not None and math.isfinite(float(v))}


def record_task_sample(task_pk: int, values: Mapping[str, float], at: datetime | None = None) -> MetricSample:
    return MetricSample.objects.create(task_id=task_pk, time=at or timezone.now(), values=_clean(values))


def record_instance_sample(instance_pk: int, worker: str, values: Mapping[str, float],
                           at: datetime | None = None) -> MetricSample:
    return MetricSample.objects.create(instance_id=instance_pk, worker=worker, time=at or timezone.now(),
                                       values=_clean(values))


# -- reading ----------------------------------------------------------------------------------------------
WINDOWS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
DEFAULT_WINDOW = "15m"
MAX_POINTS = 900  # per chart: a 1-day window is drawn from 96-second averages


def window_of(name: str | None) -> str:
    return name if name in WINDOWS else DEFAULT_WINDOW


def task_series(task_pk: int, window: str, names: Iterable[str] = TASK_METRIC_NAMES,
                now: datetime | None = None) -> dict[str, list]:
    """{"t": [epoch seconds], name: [value or None], ...} over the window, at most MAX_POINTS points:
    raw samples when they are dense enough, else averages over equal steps."""
    now = now or timezone.now()
    span = WINDOWS[window_of(window)]
    step = span.total_seconds() / MAX_POINTS
    names = list(names)
    rows = MetricSample.objects.filter(task_id=task_pk, time__gte=now - span).order_by("time", "id") \
                               .values_list("time", "values")
    buckets: dict[float, dict[str, list[float]]] = {}
    for time, values in rows:
        stamp = time.timestamp()
        key = math.floor(stamp / step) * step if step > 1.0 else stamp
        bucket = buckets.setdefault(key, defaultdict(list))
        for name in names:
            if name in values:
                bucket[name].append(values[name])
    series: dict[str, list] = {"t": list(buckets)}
    for name in names:
        series[name] = [_mean(b.get(name)) for b in buckets.values()]
    return series


def point_of(sample: MetricSample, names: Iterable[str] = TASK_METRIC_NAMES) -> dict:
    """One sample as the charts append it live."""
    return {"t": sample.time.timestamp(), **{n: sample.values[n] for n in names if n in sample.values}}


def latest_instance_values(instance_pk: int, since: timedelta) -> dict[str, dict[str, float]]:
    """Each online worker's latest sample: {worker: values}."""
    latest: dict[str, dict[str, float]] = {}
    for worker, values in MetricSample.objects.filter(
            instance_id=instance_pk, resolution=0, time__gte=timezone.now() - since
    ).order_by("time", "id").values_list("worker", "values"):
        latest[worker] = values
    return latest


def _mean(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None


# -- retention --------------------------------------------------------------------------------------------
def compact(now: datetime | None = None) -> dict[str, int]:
    """Average samples past their tier's keep into the next tier and delete samples past the retention.
    Buckets are aligned to the coarser resolution and compacted whole (WINDOW of them per pass),
    so each is written once. Returns the rows removed per tier."""
    now = now or timezone.now()
    done: dict[str, int] = {}
    for resolution, keep, coarser in tiers():
        if coarser is None:
            done[f"dropped_{resolution}s"] = MetricSample.objects.filter(
                resolution=resolution, time__lt=now - keep).delete()[0]
            continue
        cutoff = _floor(now - keep, coarser)
        removed = 0
        while True:
            oldest = MetricSample.objects.filter(resolution=resolution, time__lt=cutoff).order_by("time") \
                                         .values_list("time", flat=True).first()
            if oldest is None:
                break
            start = _floor(oldest, coarser)
            end = min(start + WINDOW[coarser], cutoff)
            removed += _roll_up(list(MetricSample.objects.filter(resolution=resolution, time__gte=start,
                                                                 time__lt=end)), coarser)
        done[f"compacted_{resolution}s"] = removed
    return done


WINDOW = {60: timedelta(hours=1), 3600: timedelta(days=1)}  # compacted per query, by coarser resolution


def _roll_up(samples: list[MetricSample], resolution: int) -> int:
    groups: dict[tuple, list[MetricSample]] = defaultdict(list)
    for sample in samples:
        groups[(sample.task_id, sample.instance_id, sample.worker, _floor(sample.time, resolution))].append(sample)
    merged = []
    for (task_id, instance_id, worker, start), members in groups.items():
        values: dict[str, list[float]] = defaultdict(list)
        for member in members:
            for name, value in member.values.items():
                values[name].append(value)
        merged.append(MetricSample(task_id=task_id, instance_id=instance_id, worker=worker, time=start,
                                   resolution=resolution, values={n: _mean(v) for n, v in values.items()}))
    with transaction.atomic():
        MetricSample.objects.bulk_create(merged)
        MetricSample.objects.filter(pk__in=[s.pk for s in samples]).delete()
    return len(samples)


def _floor(moment: datetime, seconds: int) -> datetime:
    stamp = moment.timestamp()
    return datetime.fromtimestamp(stamp - stamp % seconds, tz=moment.tzinfo or timezone.get_current_timezone())
