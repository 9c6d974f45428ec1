"""The task page's Logs tab (filters by component and severity) and the task actions over HTTP, by role."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from dmsconsole.tests import personas
from monitoring.models import TableStatistics, TaskLog
from tasks.models import ReplicationTask

from .task_helpers import make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def task_with_log():
    task = make_task(identifier="shop-task", status="running", has_run=True)
    lines = [("TASK_MANAGER", "LOGGER_SEVERITY_INFO", "Task running on worker w1"),
             ("SOURCE_UNLOAD", "LOGGER_SEVERITY_WARNING", "Table shop.orders: 3 zero date value(s) loaded as NULL"),
             ("TARGET_LOAD", "LOGGER_SEVERITY_ERROR", "Loading shop.lines failed: disk full"),
             ("TARGET_APPLY", "LOGGER_SEVERITY_DEBUG", "group of 12 changes committed")]
    for component, severity, message in lines:
        TaskLog.objects.create(task=task, component=component, severity=severity, message=message)
    return task


def test_it_shows_the_task_with_its_log_to_a_viewer(task_with_log):
    page = personas.client_for("viewer").get(reverse("task-detail", args=["shop-task"]), {"tab": "logs"})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'id="task-{task_with_log.pk}-log"' in html
    for message in ("Task running on worker w1", "3 zero date value(s)", "disk full", "group of 12 changes"):
        assert message in html
    assert "Stop</button>" not in html  # a viewer sees no actions


def test_it_filters_the_log_by_component_and_minimum_severity(task_with_log):
    client = personas.client_for("viewer")
    url = reverse("task-log", args=["shop-task"])
    by_component = client.get(url, {"component": "SOURCE_UNLOAD"}, HTTP_HX_REQUEST="true").content.decode()
    assert "zero date" in by_component and "worker w1" not in by_component and "disk full" not in by_component
    warnings_up = client.get(url, {"severity": "LOGGER_SEVERITY_WARNING"}, HTTP_HX_REQUEST="true").content.decode()
    assert "zero date" in warnings_up and "disk full" in warnings_up
    assert "worker w1" not in warnings_up and "group of 12" not in warnings_up
    both = client.get(url, {"component": "TARGET_LOAD", "severity": "LOGGER_SEVERITY_WARNING"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert "disk full" in both and "zero date" not in both
    none = client.get(url, {"component": "VALIDATOR"}, HTTP_HX_REQUEST="true").content.decode()
    assert "No log lines match these filters." in none
    assert "<html" not in none  # the partial alone


def test_it_pages_through_older_log_lines(task_with_log, monkeypatch):
    from tasks import task_views

    monkeypatch.setattr(task_views, "LOG_PAGE", 2)
    client = personas.client_for("viewer")
    first = client.get(reverse("task-log", args=["shop-task"]), HTTP_HX_REQUEST="true").content.decode()
    assert "group of 12" in first and "disk full" in first and "zero date" not in first
    newest_two = list(TaskLog.objects.filter(task=task_with_log).order_by("-id")[:2])
    assert f"before={newest_two[1].id}" in first
    older = client.get(reverse("task-log", args=["shop-task"]), {"before": newest_two[1].id},
                       HTTP_HX_REQUEST="true").content.decode()
    assert "zero date" in older and "worker w1" in older and "disk full" not in older


@pytest.fixture
def sent(monkeypatch):
    from tasks import jobs

    calls = []
    monkeypatch.setattr(jobs.run_replication_task, "apply_async", lambda **kw: calls.append(kw))
    return calls


@pytest.mark.parametrize(("role", "url_name", "data", "status"), [
    ("viewer", "task-stop", {}, 403),
    ("viewer", "task-start", {"start_type": "resume-processing"}, 403),
    ("viewer", "task-reload-tables", {"table": '["shop", "orders"]'}, 403),
    ("operator", "task-delete", {}, 403),
    ("operator", "task-stop", {}, 302),
    ("operator", "task-reload-tables", {"table": '["shop", "orders"]'}, 302),
    ("administrator", "task-delete", {}, 302),  # allowed role, but a running task: refused, see below
])
def test_it_enforces_roles_on_forged_posts(role, url_name, data, status, sent):
    task = make_task(identifier="shop-task", status="running", has_run=True, lease_owner="w@h|1|a")
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", table_state="Table completed")
    if role == "administrator":  # the role passes; the state rule refuses and says why
        response = personas.client_for(role).post(reverse(url_name, args=["shop-task"]), data, follow=True)
        assert "Cannot delete task shop-task: its status is running" in response.content.decode()
        assert ReplicationTask.objects.get(pk=task.pk).status == "running"
        return
    response = personas.client_for(role).post(reverse(url_name, args=["shop-task"]), data)
    assert response.status_code == status
    task.refresh_from_db()
    if status == 403:
        assert task.status == "running" and task.reload_requested == ""
    elif url_name == "task-stop":
        assert task.status == "stopping"
    else:
        assert json.loads(task.reload_requested) == [["shop", "orders"]]


def test_it_lets_an_operator_resume_a_stopped_task_from_the_page(sent, django_capture_on_commit_callbacks):
    make_task(identifier="shop-task", status="stopped", has_run=True)
    client = personas.client_for("operator")
    page = client.get(reverse("task-detail", args=["shop-task"])).content.decode()
    assert 'value="resume-processing"' in page and 'value="start-replication"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("task-start", args=["shop-task"]), {"start_type": "resume-processing"})
    assert response.status_code == 302
    assert ReplicationTask.objects.get(identifier="shop-task").status == "starting"
    assert sent[0]["args"][2] == "resume-processing"
