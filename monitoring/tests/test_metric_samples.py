"""Metric samples: recorded per task and per instance worker, drawn as series, downsampled and bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dmsconsole.tests.fixtures import make_instance
from monitoring import samples
from monitoring.models import MetricSample
from tasks.tests.task_helpers import make_task

pytestmark = [pytest.mark.django_db]

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def test_it_records_a_task_sample_without_values_that_are_not_numbers():
    task = make_task(identifier="orders-cdc")
    sample = samples.record_task_sample(task.pk, {"CDCLatencySource": 1.5, "CDCIncomingChanges": 3,
                                                  "CDCLatencyTarget": float("nan")}, at=NOW)
    assert MetricSample.objects.get(pk=sample.pk).values == {"CDCLatencySource": 1.5, "CDCIncomingChanges": 3.0}


def test_it_draws_raw_points_for_fifteen_minutes_and_averages_for_a_day():
    task = make_task(identifier="orders-cdc")
    for i in range(6):  # one sample every 5 s, the last 25 s ago
        samples.record_task_sample(task.pk, {"CDCLatencySource": float(i)}, at=NOW - timedelta(seconds=50 - 5 * i))
    samples.record_task_sample(task.pk, {"CDCLatencySource": 99.0}, at=NOW - timedelta(minutes=20))

    recent = samples.task_series(task.pk, "15m", ["CDCLatencySource"], now=NOW)
    assert recent["CDCLatencySource"] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert recent["t"][0] == (NOW - timedelta(seconds=50)).timestamp()

    day = samples.task_series(task.pk, "1d", ["CDCLatencySource", "CDCLatencyTarget"], now=NOW)
    assert len(day["t"]) <= samples.MAX_POINTS
    assert 99.0 in day["CDCLatencySource"]
    assert day["CDCLatencySource"] == [99.0, 2.5]  # the six recent samples share one 96-second step
    assert set(day["CDCLatencyTarget"]) == {None}


def test_it_averages_old_raw_samples_into_minutes_and_minutes_into_hours():
    task = make_task(identifier="orders-cdc")
    old = NOW - timedelta(hours=3)
    start = old.replace(minute=0, second=0)
    for i in range(24):  # two minutes of 5-second samples, 3 hours ago
        samples.record_task_sample(task.pk, {"CDCLatencySource": float(i % 12)}, at=start + timedelta(seconds=5 * i))
    samples.record_task_sample(task.pk, {"CDCLatencySource": 7.0}, at=NOW - timedelta(minutes=1))  # recent: kept

    done = samples.compact(now=NOW)

    assert done["compacted_0s"] == 24
    minutes = list(MetricSample.objects.filter(task=task, resolution=60).values_list("time", "values"))
    assert minutes == [(start, {"CDCLatencySource": 5.5}), (start + timedelta(minutes=1), {"CDCLatencySource": 5.5})]
    assert MetricSample.objects.filter(task=task, resolution=0).count() == 1

    samples.compact(now=NOW + timedelta(days=3))
    hours = list(MetricSample.objects.filter(task=task, resolution=3600).values_list("time", "values"))
    assert hours[0] == (start, {"CDCLatencySource": 5.5})


def test_it_drops_samples_past_the_retention(settings):
    settings.DMS_METRICS_RETENTION_DAYS = 14
    task = make_task(identifier="orders-cdc")
    MetricSample.objects.create(task=task, time=NOW - timedelta(days=15), resolution=3600, values={"x": 1.0})
    MetricSample.objects.create(task=task, time=NOW - timedelta(days=13), resolution=3600, values={"x": 2.0})
    assert samples.compact(now=NOW)["dropped_3600s"] == 1
    assert list(MetricSample.objects.values_list("values", flat=True)) == [{"x": 2.0}]


def test_it_keeps_a_bounded_number_of_rows_for_a_task_sampled_every_five_seconds_for_four_days():
    task = make_task(identifier="orders-cdc")
    t = NOW - timedelta(days=4)
    batch = []
    while t < NOW:
        batch.append(MetricSample(task=task, time=t, values={"CDCLatencySource": 1.0}))
        t += timedelta(seconds=5)
    MetricSample.objects.bulk_create(batch)
    assert len(batch) == 69120
    samples.compact(now=NOW)
    # the last 2 h raw (1440), then 46 h of minutes (2760), then 2 days of hours (48)
    assert MetricSample.objects.filter(task=task).count() == 1440 + 2760 + 48


def test_it_records_instance_samples_per_worker_and_reads_each_workers_latest():
    instance = make_instance("ri-metrics")
    samples.record_instance_sample(instance.pk, "w1@host", {"CPUUtilization": 10.0})
    samples.record_instance_sample(instance.pk, "w1@host", {"CPUUtilization": 20.0})
    samples.record_instance_sample(instance.pk, "w2@host", {"CPUUtilization": 30.0})
    assert samples.latest_instance_values(instance.pk, timedelta(minutes=1)) == {
        "w1@host": {"CPUUtilization": 20.0}, "w2@host": {"CPUUtilization": 30.0}}


def test_it_samples_a_workers_machine_and_the_tasks_it_runs():
    from monitoring.instance_metrics import record_worker_metrics
    from tasks.tests.task_helpers import make_task as task_on

    instance = make_instance("ri-machine")
    task_on(identifier="mine", instance=instance, status="running", lease_owner="w1@host|123|abc")
    task_on(identifier="other", instance=instance, status="running", lease_owner="w2@host|9|x")
    task_on(identifier="idle", instance=instance, status="stopped")

    assert record_worker_metrics("w1@host", ["ri-machine", "ri-missing"]) == 1

    (values,) = MetricSample.objects.filter(instance=instance, worker="w1@host").values_list("values", flat=True)
    assert set(values) == {"CPUUtilization", "MemoryUsage", "AvailableMemory", "FreeStorageSpace", "TasksRunning"}
    assert values["TasksRunning"] == 1.0
    assert 0.0 <= values["MemoryUsage"] <= 100.0 and values["FreeStorageSpace"] > 0
