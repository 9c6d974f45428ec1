"""The Database migration tasks list: its columns, search and status filter, the live refresh, the empty
state, and a query count that does not grow with the number of tasks."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dmsconsole.tests import personas
from dmsconsole.tests.fixtures import make_endpoint, make_instance, unique
from tasks.models import ReplicationTask

from .task_helpers import MAPPINGS, make_task

pytestmark = pytest.mark.django_db


def many_tasks(count: int, *, prefix: str = "bulk") -> None:
    """`count` tasks over a few instances and endpoints, as a busy console has them."""
    instances = [make_instance(unique("ri")) for _ in range(3)]
    sources = [make_endpoint(unique("src"), endpoint_type="source") for _ in range(4)]
    targets = [make_endpoint(unique("tgt"), endpoint_type="target") for _ in range(4)]
    ReplicationTask.objects.bulk_create(
        ReplicationTask(identifier=f"{prefix}-{n:04d}", instance=instances[n % 3], source=sources[n % 4],
                        target=targets[(n + 1) % 4], migration_type="full-load-and-cdc", table_mappings=MAPPINGS,
                        status=("running", "stopped", "ready", "failed")[n % 4], full_load_progress_percent=n % 101,
                        tables_loaded=n % 7, latest_metrics={"CDCLatencyTarget": 1.5})
        for n in range(count))


def _queries(client, count: int) -> int:
    ReplicationTask.objects.all().delete()
    many_tasks(count, prefix=f"n{count}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/tasks/")
    count_now = len(queries)  # before anything else resets the connection's query log
    assert response.status_code == 200
    assert response.content.decode().count('class="status ') == count
    return count_now


def test_it_renders_the_list_in_the_same_number_of_queries_for_10_and_200_tasks():
    client = personas.client_for("viewer")
    client.get("/tasks/")  # the session and the user's role are read once per request either way
    small = _queries(client, 10)
    assert small == 4  # session, user, the user's role, then the tasks with their instances and endpoints
    assert _queries(client, 200) == small


def test_it_shows_each_task_with_its_status_progress_endpoints_and_counts():
    task = make_task(identifier="orders-cdc", status="running", has_run=True, full_load_progress_percent=42,
                     tables_loaded=3, tables_loading=2, tables_queued=1, tables_errored=1,
                     latest_metrics={"CDCLatencyTarget": 2.25})
    html = personas.client_for("viewer").get("/tasks/").content.decode()
    row = html.split(f'id="task-{task.pk}-row"')[1].split("</tr>")[0]
    assert 'href="/tasks/orders-cdc/"' in row and "Running with errors" in row
    assert 'aria-valuenow="42"' in row and "42 %" in row
    assert '<td title="Migrate existing data and replicate ongoing changes">Full load, ongoing replication</td>' in row
    for name in (task.source.identifier, task.target.identifier, task.instance.identifier):
        assert name in row
    # The live cells (monitoring.live pushes their contents to these ids).
    assert f'id="task-{task.pk}-tables">3 loaded, 2 loading, 1 queued, 1 errored</td>' in row
    assert f'id="task-{task.pk}-latency">2.3 s</td>' in row


def test_it_searches_and_filters_by_status_without_a_reload():
    make_task(identifier="orders-copy", status="running", has_run=True)
    make_task(identifier="customers-copy", status="stopped", has_run=True)
    client = personas.client_for("viewer")
    found = client.get("/tasks/", {"q": "orders"}, HTTP_HX_REQUEST="true").content.decode()
    assert "orders-copy" in found and "customers-copy" not in found and "<html" not in found
    assert found.lstrip().startswith('<div id="task-table"')
    stopped = client.get("/tasks/", {"status": "stopped"}, HTTP_HX_REQUEST="true").content.decode()
    assert "customers-copy" in stopped and "orders-copy" not in stopped
    none = client.get("/tasks/", {"q": "nothing-like-this"}, HTTP_HX_REQUEST="true").content.decode()
    assert "No task matches “nothing-like-this”" in none


def test_it_refreshes_often_while_a_task_is_busy_and_seldom_otherwise():
    # The poll runs only while no websocket is connected (static/monitoring/live.js); pushes say when to fetch.
    client = personas.client_for("viewer")
    make_task(identifier="quiet", status="stopped", has_run=True)
    live = " [!(window.dmsLive &amp;&amp; dmsLive.connected)]"
    assert f'hx-trigger="dms:tasks-changed from:body, every 15s{live}"' in client.get("/tasks/").content.decode()
    make_task(identifier="busy", status="running", has_run=True)
    assert f'hx-trigger="dms:tasks-changed from:body, every 3s{live}"' in client.get("/tasks/").content.decode()


def test_it_tells_a_new_user_what_a_first_task_needs():
    admin_page = personas.client_for("administrator").get("/tasks/").content.decode()
    assert "No database migration tasks yet." in admin_page and 'href="/tasks/create/"' in admin_page
    viewer_page = personas.client_for("viewer").get("/tasks/").content.decode()
    assert "An administrator creates tasks" in viewer_page and 'href="/tasks/create/"' not in viewer_page
