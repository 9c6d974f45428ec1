"""The runner job's body without Celery: stale messages, recoverable errors with backoff, fatal errors."""

from __future__ import annotations

import json

import pytest

from dmsconsole.tests.fixtures import make_endpoint, unique
from monitoring.models import TaskLog
from tasks import lease
from tasks.models import ReplicationTask
from tasks.running import run_task

from .task_helpers import make_task

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sent(monkeypatch):
    from tasks import jobs

    calls = []
    monkeypatch.setattr(jobs.run_replication_task, "apply_async", lambda **kw: calls.append(kw))
    return calls


def unreachable_source():
    return make_endpoint(unique("src"), endpoint_type="source", engine="postgres", port=1)


def test_it_does_nothing_for_a_stale_message_or_a_held_lease(sent):
    task = make_task(status="running", has_run=True, dispatch_id="current", lease_owner="w@h|1|a")
    assert run_task(task.pk, "current", "resume-processing", worker="w2@h") == "skipped"
    assert run_task(task.pk, "older", "resume-processing", worker="w2@h") == "skipped"
    assert ReplicationTask.objects.get(pk=task.pk).lease_owner == "w@h|1|a"
    assert not TaskLog.objects.exists()


def test_it_retries_a_recoverable_error_after_the_error_behavior_interval(sent):
    task = make_task(status="starting", has_run=True, dispatch_id="d1", source=unreachable_source(),
                     migration_type="full-load")
    assert run_task(task.pk, "d1", "start-replication", worker="w1@h") == "retry"
    task.refresh_from_db()
    assert (task.status, task.lease_owner, task.recoverable_attempts) == ("starting", None, 1)
    assert "127.0.0.1:1" in task.last_failure_message
    (call,) = sent
    assert call["countdown"] == 5.0  # RecoverableErrorInterval
    assert call["args"] == [task.pk, task.dispatch_id, "resume-processing"]
    assert call["kwargs"]["reason"] == "retry"
    assert TaskLog.objects.filter(task=task, severity="LOGGER_SEVERITY_WARNING",
                                  message__endswith="The task resumes in 5 s (attempt 1)").exists()

    assert run_task(task.pk, task.dispatch_id, "resume-processing", worker="w1@h", reason="retry") == "retry"
    assert sent[1]["countdown"] == 10.0  # throttled: doubled
    assert TaskLog.objects.filter(task=task, message="Task resuming after a recoverable error on worker w1@h "
                                                     "(attempt 1)").exists()


def test_it_fails_the_task_when_recoverable_errors_may_not_be_retried(sent):
    settings = json.dumps({"ErrorBehavior": {"RecoverableErrorCount": 0}})
    task = make_task(status="starting", has_run=True, dispatch_id="d1", source=unreachable_source(),
                     migration_type="full-load", task_settings=settings)
    assert run_task(task.pk, "d1", "start-replication", worker="w1@h") == "failed"
    task.refresh_from_db()
    assert (task.status, task.stop_reason, task.lease_owner) == ("failed", "Stop Reason RECOVERABLE_ERROR", None)
    assert task.stop_date is not None
    assert sent == []
    assert TaskLog.objects.filter(task=task, severity="LOGGER_SEVERITY_ERROR",
                                  message__startswith="Task failed (Stop Reason RECOVERABLE_ERROR)").exists()


def test_it_fails_a_task_whose_mappings_select_nothing(sent, pg_database):
    from endpoints.engines.conninfo import ConnectionInfo

    info = ConnectionInfo.from_url(pg_database())
    source = make_endpoint(unique("src"), endpoint_type="source", database_name=info.database)
    target = make_endpoint(unique("tgt"), endpoint_type="target", database_name=info.database)
    task = make_task(status="starting", has_run=True, dispatch_id="d1", source=source, target=target,
                     migration_type="full-load")
    assert run_task(task.pk, "d1", "start-replication", worker="w1@h") == "failed"
    task.refresh_from_db()
    assert (task.status, task.stop_reason) == ("failed", "Stop Reason FATAL_ERROR")
    assert task.last_failure_message
    assert not lease.claim(task.pk, "d1", "w2@h|2|b")  # failed: no runner may claim it any more
