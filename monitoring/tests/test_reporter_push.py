"""The runner's reporter as the push path's source: counters in one statement, metrics kept as samples,
every committed flush handed to the publisher."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring import broadcast
from monitoring.models import MetricSample, TableStatistics
from tasks.engine.reporting import TableCounts, TableKey
from tasks.reporter import ModelReporter
from tasks.tests.task_helpers import make_task

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def marks(monkeypatch, settings):
    settings.DMS_LIVE_PUSH = True
    seen: list[tuple[int, dict]] = []
    monkeypatch.setattr(broadcast.Publisher, "mark", lambda self, task_pk, changed: seen.append((task_pk, changed)))
    return seen


def test_it_writes_twenty_tables_counters_in_one_statement(marks):
    task = make_task(identifier="orders-cdc", status="running")
    reporter = ModelReporter(task.pk)
    keys = [TableKey("shop", f"t{i:02d}") for i in range(20)]
    for key in keys:
        reporter.table_counts(key, TableCounts(inserts=1))
    reporter.flush()  # the first flush finds the rows' ids
    for i, key in enumerate(keys):
        reporter.table_counts(key, TableCounts(inserts=i, updates=2, deletes=1 if i % 2 else 0))
    with CaptureQueriesContext(connection) as queries:
        reporter.flush()
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "monitoring_tablestatistics"')]
    assert len(updates) == 1
    rows = {r.table_name: r for r in TableStatistics.objects.filter(task=task)}
    assert (rows["t07"].inserts, rows["t07"].updates, rows["t07"].deletes) == (8, 2, 1)
    assert (rows["t10"].inserts, rows["t10"].updates, rows["t10"].deletes) == (11, 2, 0)
    assert marks[-1] == (task.pk, {"tables": True, "log": False, "metrics": False, "status": False})


def test_it_keeps_each_flushes_metrics_as_a_sample():
    task = make_task(identifier="orders-cdc", status="running")
    reporter = ModelReporter(task.pk)
    reporter.metric("CDCLatencySource", 0.5)
    reporter.metric("CDCLatencyTarget", 1.5)
    reporter.flush()
    reporter.metric("CDCLatencyTarget", 0.75)
    reporter.flush()
    assert list(MetricSample.objects.filter(task=task).values_list("values", flat=True)) == [
        {"CDCLatencySource": 0.5, "CDCLatencyTarget": 1.5}, {"CDCLatencyTarget": 0.75}]


def test_it_writes_the_counts_again_when_the_rows_were_replaced():
    task = make_task(identifier="orders-cdc", status="running")
    reporter = ModelReporter(task.pk)
    key = TableKey("shop", "orders")
    reporter.table_counts(key, TableCounts(inserts=1))
    reporter.flush()
    TableStatistics.objects.filter(task=task).delete()  # a Restart seeds the rows again
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders")
    reporter.table_counts(key, TableCounts(inserts=5))
    with pytest.raises(Exception, match="replaced"):
        reporter.flush()
    reporter.flush()  # the flusher thread retries
    assert TableStatistics.objects.get(task=task).inserts == 5
