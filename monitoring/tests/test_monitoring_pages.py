"""The Monitoring tab's window switch, the dashboard's live widgets, the Table statistics partial."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from dmsconsole.tests import personas
from monitoring import samples
from monitoring.models import TableStatistics
from tasks.tests.task_helpers import make_task

pytestmark = [pytest.mark.django_db]


def test_it_switches_the_monitoring_window_in_place():
    task = make_task(identifier="orders-cdc", status="running")
    samples.record_task_sample(task.pk, {"CDCLatencySource": 4.0}, at=timezone.now() - timedelta(minutes=30))
    client = personas.client_for("viewer")

    quarter = client.get(f"/tasks/{task.identifier}/monitoring/?window=15m", HTTP_HX_REQUEST="true")
    hour = client.get(f"/tasks/{task.identifier}/monitoring/?window=1h", HTTP_HX_REQUEST="true")

    assert quarter.status_code == hour.status_code == 200
    assert hour.content.decode().lstrip().startswith(f'<div id="task-{task.pk}-monitoring"')
    assert 'data-window="3600"' in hour.content.decode()

    def series(response) -> dict:
        found = re.search(r'<script id="task-\d+-series" type="application/json">(.*?)</script>',
                          response.content.decode(), re.S)
        return json.loads(found.group(1))

    assert series(quarter)["CDCLatencySource"] == []
    assert series(hour)["CDCLatencySource"] == [4.0]
    for name in ("CDCThroughputRowsSource", "CDCLatencyTarget", "CDCIncomingChanges", "FullLoadThroughputRowsTarget"):
        assert name in series(hour)


def test_it_sends_a_plain_request_for_a_window_to_the_task_pages_tab():
    task = make_task(identifier="orders-cdc")
    response = personas.client_for("viewer").get(f"/tasks/{task.identifier}/monitoring/?window=1d")
    assert response.status_code == 302
    assert response["Location"] == f"/tasks/{task.identifier}/?window=1d#monitoring"


def test_it_shows_the_dashboards_live_widgets():
    make_task(identifier="alpha", status="running", latest_metrics={"CDCLatencyTarget": 2.0,
                                                                    "CDCLatencySource": 0.5})
    make_task(identifier="beta", status="stopped")
    page = personas.client_for("viewer").get("/").content.decode()
    assert 'id="dashboard-live"' in page and 'ws-connect="/ws/dashboard/"' in page
    assert re.search(r'id="dashboard-status-running">.*?<span class="card-figure">1</span>', page, re.S)
    assert re.search(r'id="dashboard-status-stopped">.*?<span class="card-figure">1</span>', page, re.S)
    assert re.search(r'id="dashboard-latency-\d+">.*?alpha.*?2\.0 s.*?0\.5 s', page, re.S)


def test_it_renders_table_statistics_with_dms_columns_and_stable_ids():
    task = make_task(identifier="orders-cdc", status="running")
    row = TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", inserts=3, updates=2,
                                         deletes=1, ddls=1, full_load_rows=10, table_state="Table completed")
    html = Template("{% load monitoring %}{% table_statistics task %}").render(Context({"task": task}))
    headers = re.findall(r'<button type="button" class="sort">(.*?)</button>', html)
    assert headers == ["Schema name", "Table name", "Load state", "Elapsed load time", "Inserts", "Deletes",
                       "Updates", "DDLs", "Full load rows", "Total rows", "Full load start time", "Full load end time",
                       "Last updated", "Validation state"]
    assert f'<td id="tablestat-{row.pk}-inserts" class="num">3</td>' in html
    assert f'<td id="tablestat-{row.pk}-total" class="num">16</td>' in html
    assert 'data-sortable' in html and 'name="table"' not in html


def test_it_puts_the_tasks_socket_on_the_page_with_what_the_page_holds():
    task = make_task(identifier="orders-cdc", status="running")
    row = TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders")
    html = Template("{% load monitoring %}{% task_live task %}").render(Context({"task": task}))
    assert re.search(rf'hx-ext="ws" ws-connect="/ws/tasks/{task.pk}/\?rows={row.pk}&amp;since=\d+\.\d+"', html)
    assert "vendor/uplot/uPlot.iife.min.js" in html and "monitoring/live.js" in html
