"""/metrics: Bearer token only; the Prometheus text format, parsed by prometheus_client's own parser."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from dmsconsole.tests.fixtures import make_instance
from monitoring import prometheus, samples
from monitoring.models import TableStatistics
from tasks.models import Worker
from tasks.tests.task_helpers import make_task

pytestmark = [pytest.mark.django_db]

TOKEN = "s3cret-scrape-token"


def scrape(settings, header: str | None = f"Bearer {TOKEN}", token: str = TOKEN):
    settings.DMS_METRICS_TOKEN = token
    headers = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    return Client().get("/metrics", **headers)


def families(text: str) -> dict[str, list]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def test_it_refuses_a_scrape_without_the_token(settings):
    assert scrape(settings, header=None).status_code == 401
    assert scrape(settings, header="Bearer wrong").status_code == 401
    assert scrape(settings, header=TOKEN).status_code == 401  # not a Bearer header
    response = scrape(settings, header="Bearer ", token="")
    assert response.status_code == 401  # unset token: nobody may scrape
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_needs_no_session_and_answers_the_exposition_format(settings):
    response = scrape(settings)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "dms_task_cdc_latency_target_seconds" in families(response.content.decode())


def test_it_exposes_task_and_table_metrics_with_their_labels(settings):
    instance = make_instance("ri-prod")
    task = make_task(identifier="orders-cdc", status="running", instance=instance, full_load_progress_percent=100,
                     tables_loaded=2, latest_metrics={"CDCLatencyTarget": 1.25, "CDCIncomingChanges": 40,
                                                      "FullLoadThroughputRowsTarget": 0.0})
    make_task(identifier="stopped-one", status="stopped", instance=instance, latest_metrics={"CDCLatencyTarget": 99.0})
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", table_state="Table completed",
                                   inserts=12, updates=3, deletes=1, ddls=0, full_load_rows=1000)
    TableStatistics.objects.create(task=task, schema_name="shop", table_name='we"ird\\name', inserts=2)

    parsed = families(scrape(settings).content.decode())

    latency = parsed["dms_task_cdc_latency_target_seconds"]
    assert [(s.labels, s.value) for s in latency] == [({"task": "orders-cdc", "instance": "ri-prod"}, 1.25)]
    assert [s.value for s in parsed["dms_task_cdc_incoming_changes"]] == [40.0]
    assert [s.value for s in parsed["dms_task_full_load_throughput_rows_target_per_second"]] == [0.0]
    inserts = {s.labels["table"]: s.value for s in parsed["dms_table_inserts"] if s.name == "dms_table_inserts_total"}
    assert inserts == {"orders": 12.0, 'we"ird\\name': 2.0}
    updates = parsed["dms_table_updates"][0]
    assert updates.labels == {"task": "orders-cdc", "schema": "shop", "table": "orders"} and updates.value == 3.0
    assert {s.labels["state"] for s in parsed["dms_table_state"]} == {"Table completed", "Before load"}
    statuses = {s.labels["task"]: s.labels["status"] for s in parsed["dms_task_status"]}
    assert statuses == {"orders-cdc": "running", "stopped-one": "stopped"}
    assert {(s.labels["task"], s.labels["state"]): s.value for s in parsed["dms_task_tables"]}[
        ("orders-cdc", "loaded")] == 2.0


def test_it_exposes_each_online_workers_instance_metrics(settings):
    from django.utils import timezone

    instance = make_instance("ri-prod")
    Worker.objects.create(instance=instance, hostname="w1@host", pid=1, started_at=timezone.now(),
                          last_seen=timezone.now())
    samples.record_instance_sample(instance.pk, "w1@host", {"CPUUtilization": 37.5, "FreeStorageSpace": 1e9,
                                                            "TasksRunning": 2})
    parsed = families(scrape(settings).content.decode())
    cpu = parsed["dms_worker_cpu_utilization_percent"]
    assert [(s.labels, s.value) for s in cpu] == [({"instance": "ri-prod", "worker": "w1@host"}, 37.5)]
    assert [s.value for s in parsed["dms_worker_free_storage_space_bytes"]] == [1e9]
    assert [s.value for s in parsed["dms_instance_workers_online"]] == [1.0]


def test_it_writes_names_values_and_escapes_as_the_format_says():
    out = prometheus.Exposition()
    out.family("dms_x", "gauge", "Help with a \\ and\na newline.", [({"a": 'q"b\\c\nd'}, float("nan")),
                                                                   ({}, 3), ({"b": "1"}, float("inf"))])
    assert out.text() == ('# HELP dms_x Help with a \\\\ and\\na newline.\n# TYPE dms_x gauge\n'
                          'dms_x{a="q\\"b\\\\c\\nd"} NaN\ndms_x 3\ndms_x{b="1"} +Inf\n')
    assert prometheus.family_name("dms_task", "CDCThroughputBandwidthTarget", "KB/s") == \
        "dms_task_cdc_throughput_bandwidth_target_kilobytes_per_second"


def test_it_agrees_with_describe_table_statistics(settings):
    from tasks.tests.task_cluster import dms

    task = make_task(identifier="orders-cdc", status="running", latest_metrics={"CDCLatencySource": 0.2})
    other = make_task(identifier="other-task", status="stopped")
    for i, name in enumerate(["orders", "items", "customers"]):
        TableStatistics.objects.create(task=task, schema_name="shop", table_name=name, table_state="Table completed",
                                       inserts=10 * i + 1, updates=i, deletes=2 * i, ddls=i % 2,
                                       full_load_rows=1000 + i)
    TableStatistics.objects.create(task=other, schema_name="shop", table_name="orders", inserts=99)

    parsed = families(scrape(settings).content.decode())

    for identifier in ("orders-cdc", "other-task"):
        described = dms("describe-table-statistics", "--replication-task-arn", identifier)["TableStatistics"]
        assert described
        for row in described:
            labels = {"task": identifier, "schema": row["SchemaName"], "table": row["TableName"]}
            for family, field in [("dms_table_inserts", "Inserts"), ("dms_table_updates", "Updates"),
                                  ("dms_table_deletes", "Deletes"), ("dms_table_ddls", "Ddls"),
                                  ("dms_table_full_load_rows", "FullLoadRows")]:
                (value,) = [s.value for s in parsed[family] if s.labels == labels and s.name.endswith("_total")]
                assert value == row[field], (family, labels)
            (state,) = [s.labels["state"] for s in parsed["dms_table_state"]
                        if {k: v for k, v in s.labels.items() if k != "state"} == labels]
            assert state == row["TableState"]
