"""DMS's state rules for every task action in every status, roles, audit rows, and what each action changes."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from dmsconsole.models import AuditEntry
from dmsconsole.tests import personas
from monitoring.models import TableStatistics, TaskLog
from tasks import actions
from tasks.models import ReplicationTask

from .task_helpers import make_task

pytestmark = pytest.mark.django_db

STATUSES = ["creating", "ready", "starting", "running", "stopping", "stopped", "failed", "deleting", "modifying",
            "testing"]
ACTIONS = ["start", "resume", "restart", "stop", "reload", "modify", "delete"]

# (action, status, has the task run?) -> allowed. Everything not listed is refused with a reason.
ALLOWED = {
    ("start", "ready", False),
    ("resume", "stopped", True), ("resume", "failed", True),
    ("restart", "stopped", True), ("restart", "failed", True),
    ("stop", "starting", False), ("stop", "starting", True), ("stop", "running", True),
    ("reload", "running", True),
    ("modify", "ready", False), ("modify", "ready", True), ("modify", "stopped", True), ("modify", "failed", True),
    ("delete", "creating", False), ("delete", "creating", True), ("delete", "ready", False), ("delete", "ready", True),
    ("delete", "stopped", True), ("delete", "failed", True),
}


@pytest.fixture
def sent(monkeypatch):
    """Celery messages the actions send, instead of sending them."""
    from tasks import jobs

    calls = []
    monkeypatch.setattr(jobs.run_replication_task, "apply_async", lambda **kw: calls.append(("run", kw)))
    monkeypatch.setattr(jobs.delete_replication_task, "apply_async", lambda **kw: calls.append(("delete", kw)))
    return calls


def _attempt(action: str, task: ReplicationTask):
    if action in ("start", "resume", "restart"):
        start_type = {"start": "start-replication", "resume": "resume-processing", "restart": "reload-target"}
        return actions.start_task(task, start_type[action])
    if action == "stop":
        return actions.stop_task(task)
    if action == "reload":
        return actions.reload_tables(task, [("shop", "orders")])
    if action == "modify":
        return actions.modify_task(task, {"cdc_stop_position": "server_time:2030-01-01T00:00:00"})
    return actions.delete_task(task)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("has_run", [False, True], ids=["never-run", "has-run"])
def test_it_allows_each_action_only_in_the_states_dms_allows(action, status, has_run, sent,
                                                             django_capture_on_commit_callbacks):
    task = make_task(status=status, has_run=has_run or status in ("running", "stopped", "failed"))
    has_run = task.has_run
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", table_state="Table completed")
    expected = (action, status, has_run) in ALLOWED
    with django_capture_on_commit_callbacks(execute=True):
        if expected:
            _attempt(action, task)
        else:
            with pytest.raises(actions.ActionRefused) as refused:
                _attempt(action, task)
            message = str(refused.value)
            assert task.identifier in message
            assert f"its status is {status}" in message or "it has run before" in message or \
                "it has never run" in message
    after = ReplicationTask.objects.filter(pk=task.pk).first()
    if not expected:
        assert after.status == status  # a refused action changes nothing
        assert not sent


def test_it_starts_a_never_run_task_and_dispatches_the_runner_to_the_instance_queue(
        sent, django_capture_on_commit_callbacks):
    task = make_task()
    with django_capture_on_commit_callbacks(execute=True):
        started = actions.start_task(task, "start-replication")
    assert started.status == "starting"
    assert started.fresh_start_date is not None and started.start_date is not None
    assert started.last_start_type == "start-replication"
    (kind, call), = sent
    assert kind == "run"
    assert call["queue"] == f"dms.instance.{task.instance.identifier}"
    assert call["args"] == [task.pk, started.dispatch_id, "start-replication"]
    assert AuditEntry.objects.filter(action="task.start", target=f"replication task {task.identifier}").exists()
    assert TaskLog.objects.filter(task=task, component="TASK_MANAGER",
                                  message="Task start requested by the command line (start-replication)").exists()


def test_it_refuses_start_replication_on_a_task_that_has_run_and_says_what_to_use():
    task = make_task(status="stopped", has_run=True)
    with pytest.raises(actions.ActionRefused, match="has run before. Use resume-processing"):
        actions.start_task(task, "start-replication")


def test_it_resumes_keeping_table_statistics_and_restarts_from_scratch(sent, django_capture_on_commit_callbacks):
    task = make_task(status="stopped", has_run=True, recovery_checkpoint="cp-1", tables_loaded=1)
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", table_state="Table completed",
                                   inserts=5, full_load_rows=100)
    with django_capture_on_commit_callbacks(execute=True):
        resumed = actions.start_task(task, "resume-processing")
    assert resumed.recovery_checkpoint == "cp-1"
    assert TableStatistics.objects.get(task=task).inserts == 5
    ReplicationTask.objects.filter(pk=task.pk).update(status="stopped")
    with django_capture_on_commit_callbacks(execute=True):
        restarted = actions.start_task(ReplicationTask.objects.get(pk=task.pk), "reload-target")
    assert restarted.recovery_checkpoint == "" and restarted.tables_loaded == 0
    assert not TableStatistics.objects.filter(task=task).exists()
    assert [call["args"][2] for _, call in sent] == ["resume-processing", "reload-target"]


def test_it_stops_a_task_nobody_picked_up_at_once_and_a_running_one_through_stopping(sent):
    waiting = make_task(status="starting", has_run=True)
    assert actions.stop_task(waiting).status == "stopped"
    assert ReplicationTask.objects.get(pk=waiting.pk).stop_reason == "Stop Reason NORMAL"
    running = make_task(status="running", has_run=True, lease_owner="w1@host|1|abc")
    assert actions.stop_task(running).status == "stopping"


def test_it_refuses_reloading_more_than_ten_tables_unknown_tables_and_loading_tables():
    task = make_task(status="running", has_run=True)
    for i in range(12):
        TableStatistics.objects.create(task=task, schema_name="shop", table_name=f"t{i}",
                                       table_state="Full load" if i == 11 else "Table completed")
    with pytest.raises(actions.ActionRefused, match=r"at most 10 tables at a time \(11 given\)"):
        actions.reload_tables(task, [("shop", f"t{i}") for i in range(11)])
    with pytest.raises(actions.ActionRefused, match=r"Not tables of task .*: shop.nope"):
        actions.reload_tables(task, [("shop", "t1"), ("shop", "nope")])
    with pytest.raises(actions.ActionRefused, match=r"Still loading, so not reloaded: shop.t11"):
        actions.reload_tables(task, [("shop", "t11")])
    actions.reload_tables(task, [("shop", "t1"), ("shop", "t2")])
    actions.reload_tables(task, [("shop", "t2"), ("shop", "t3")])
    assert json.loads(ReplicationTask.objects.get(pk=task.pk).reload_requested) == [
        ["shop", "t1"], ["shop", "t2"], ["shop", "t3"]]


def test_it_refuses_reloading_tables_of_a_cdc_only_task():
    task = make_task(status="running", has_run=True, migration_type="cdc")
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", table_state="Table completed")
    with pytest.raises(actions.ActionRefused, match="reloading is for full-load and full-load-and-cdc tasks"):
        actions.reload_tables(task, [("shop", "orders")])


def test_it_refuses_changing_endpoints_or_migration_type_once_the_task_has_run():
    task = make_task(status="stopped", has_run=True)
    with pytest.raises(actions.ActionRefused, match="Cannot change migration type of task .*: it has run"):
        actions.modify_task(task, {"migration_type": "full-load"})
    never_run = make_task(status="ready")
    modified = actions.modify_task(never_run, {"migration_type": "full-load"})
    assert modified.migration_type == "full-load"


def test_it_deletes_a_stopped_task_with_its_statistics_and_logs(sent):
    task = make_task(status="stopped", has_run=True, migration_type="full-load")
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders")
    TaskLog.objects.create(task=task, component="TASK_MANAGER", severity="LOGGER_SEVERITY_INFO", message="x")
    assert actions.delete_task(task).status == "deleting"
    assert not ReplicationTask.objects.filter(pk=task.pk).exists()  # no worker online: cleaned up in place
    assert not TableStatistics.objects.exists() and not TaskLog.objects.exists()
    assert AuditEntry.objects.filter(action="task.delete").exists()


@pytest.mark.parametrize(("role", "action", "allowed"), [
    ("viewer", "start", False), ("operator", "start", True), ("administrator", "start", True),
    ("viewer", "stop", False), ("operator", "stop", True),
    ("operator", "modify", False), ("administrator", "modify", True),
    ("operator", "delete", False), ("administrator", "delete", True),
])
def test_it_enforces_roles_in_the_actions_themselves(role, action, allowed, sent):
    status = {"start": "ready", "stop": "running", "modify": "ready", "delete": "ready"}[action]
    task = make_task(status=status, has_run=status == "running")
    request = RequestFactory().post("/")
    request.user = personas.make_user(role)
    call = {
        "start": lambda: actions.start_task(task, "start-replication", request),
        "stop": lambda: actions.stop_task(task, request),
        "modify": lambda: actions.modify_task(task, {"cdc_stop_position": ""}, request),
        "delete": lambda: actions.delete_task(task, request),
    }[action]
    if allowed:
        call()
        entry = AuditEntry.objects.get(action=f"task.{action}")
        assert entry.username == request.user.username
    else:
        with pytest.raises(PermissionDenied):
            call()
        assert not AuditEntry.objects.filter(action__startswith="task.").exists()
