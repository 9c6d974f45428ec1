"""One runner per task: the lease's conditional UPDATEs, the scheduler's takeover, the retry policy."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from monitoring.models import TaskLog
from tasks import lease, sweep
from tasks.models import ReplicationTask
from tasks.running import retry_delay

from .task_helpers import make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    from tasks import jobs

    calls = []
    monkeypatch.setattr(jobs.run_replication_task, "apply_async", lambda **kw: calls.append(kw))
    return calls


def test_it_lets_exactly_one_runner_claim_the_current_dispatch():
    task = make_task(status="starting", has_run=True, dispatch_id="d1")
    assert lease.claim(task.pk, "d1", "w1@h|1|a") is True
    assert lease.claim(task.pk, "d1", "w2@h|2|b") is False  # a redelivered copy finds the lease held
    assert ReplicationTask.objects.get(pk=task.pk).lease_owner == "w1@h|1|a"


def test_it_refuses_a_stale_dispatch_even_when_the_lease_is_free():
    task = make_task(status="running", has_run=True, dispatch_id="d2")
    assert lease.claim(task.pk, "d1", "w1@h|1|a") is False
    ReplicationTask.objects.filter(pk=task.pk).update(status="stopped")
    assert lease.claim(task.pk, "d2", "w1@h|1|a") is False  # a stopped task is never claimed


def test_it_lets_another_runner_claim_an_expired_lease_and_the_old_one_notices():
    task = make_task(status="running", has_run=True, dispatch_id="d1")
    assert lease.claim(task.pk, "d1", "w1@h|1|a")
    ReplicationTask.objects.filter(pk=task.pk).update(lease_expires=timezone.now() - timedelta(seconds=1))
    assert lease.claim(task.pk, "d1", "w2@h|2|b") is True
    assert lease.renew(task.pk, "w1@h|1|a") is False
    assert lease.release(task.pk, "w1@h|1|a", status="stopped") is False
    assert ReplicationTask.objects.get(pk=task.pk).status == "running"
    assert lease.renew(task.pk, "w2@h|2|b") is True


def test_it_takes_an_expired_lease_over_and_dispatches_resume_to_the_instance(sent,
                                                                             django_capture_on_commit_callbacks):
    expired = timezone.now() - timedelta(seconds=2)
    task = make_task(status="running", has_run=True, dispatch_id="d1", lease_owner="ri-1-a@host|77|x",
                     lease_expires=expired, lease_heartbeat=expired - timedelta(seconds=20))
    healthy = make_task(status="running", has_run=True, dispatch_id="h1", lease_owner="ri-1-b@host|78|y",
                        lease_expires=timezone.now() + timedelta(seconds=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep.sweep()["taken_over"] == 1
    task.refresh_from_db()
    assert (task.status, task.lease_owner) == ("running", None)
    assert task.dispatch_id not in ("", "d1")
    (call,) = sent
    assert call["args"] == [task.pk, task.dispatch_id, "resume-processing"]
    assert call["kwargs"] == {"previous_owner": "ri-1-a@host|77|x", "reason": "failover"}
    assert call["queue"] == f"dms.instance.{task.instance.identifier}"
    line = TaskLog.objects.get(task=task)
    assert line.message.startswith("Multi-AZ failover: worker ri-1-a@host stopped renewing the task's lease")
    assert ReplicationTask.objects.get(pk=healthy.pk).lease_owner == "ri-1-b@host|78|y"
    assert sweep.sweep()["taken_over"] == 0


def test_it_stops_a_stopping_task_whose_worker_died(sent):
    task = make_task(status="stopping", has_run=True, lease_owner="w@h|1|a",
                     lease_expires=timezone.now() - timedelta(seconds=1))
    sweep.sweep()
    task.refresh_from_db()
    assert (task.status, task.stop_reason, task.lease_owner) == ("stopped", "Stop Reason NORMAL", None)
    assert sent == []


def test_it_keeps_the_newest_log_lines_of_each_task():
    task, other = make_task(), make_task()
    for i in range(30):
        TaskLog.objects.create(task=task, component="TASK_MANAGER", severity="LOGGER_SEVERITY_INFO", message=str(i))
    TaskLog.objects.create(task=other, component="TASK_MANAGER", severity="LOGGER_SEVERITY_INFO", message="x")
    assert sweep.prune_logs(keep=10) == 20
    assert [line.message for line in TaskLog.objects.filter(task=task)] == [str(i) for i in range(29, 19, -1)]
    assert TaskLog.objects.filter(task=other).count() == 1


def _errors(count=-1, interval=5, throttling=True, throttling_max=1800, stop_after_max=True):
    return SimpleNamespace(recoverable_error_count=count, recoverable_error_interval=interval,
                           recoverable_error_throttling=throttling, recoverable_error_throttling_max=throttling_max,
                           recoverable_error_stop_retry_after_throttling_max=stop_after_max)


@pytest.mark.parametrize(("errors", "delays"), [
    (_errors(), [5, 10, 20, 40, 80, 160, 320, 640, 1280, None]),  # DMS defaults: doubling up to 1800 s
    (_errors(stop_after_max=False), [5, 10, 20, 40, 80, 160, 320, 640, 1280, 1800, 1800]),
    (_errors(count=3, throttling=False, interval=2), [2, 2, 2, None]),
    (_errors(count=0), [None]),
])
def test_it_backs_off_recoverable_errors_as_error_behavior_says(errors, delays):
    assert [retry_delay(errors, attempt) for attempt in range(1, len(delays) + 1)] == delays


def test_it_repeats_a_restart_whose_runner_died_before_it_began(sent, django_capture_on_commit_callbacks):
    expired = timezone.now() - timedelta(seconds=1)
    task = make_task(status="running", has_run=True, lease_owner="w@h|1|a", lease_expires=expired,
                     last_start_type="reload-target", fresh_started=False)
    with django_capture_on_commit_callbacks(execute=True):
        sweep.sweep()
    assert sent[0]["args"][2] == "reload-target"
    ReplicationTask.objects.filter(pk=task.pk).update(lease_owner="w2@h|2|b", lease_expires=expired,
                                                      fresh_started=True)
    with django_capture_on_commit_callbacks(execute=True):
        sweep.sweep()
    assert sent[1]["args"][2] == "resume-processing"


@pytest.mark.live
def test_it_dispatches_again_a_runner_message_that_was_lost(sent, django_capture_on_commit_callbacks):
    from tasks.models import Worker

    long_ago = timezone.now() - timedelta(seconds=sweep.orphan_seconds() + 5)
    task = make_task(status="starting", has_run=True, dispatch_id="lost", dispatched_at=long_ago,
                     last_start_type="start-replication", fresh_started=False)
    waiting = make_task(status="starting", has_run=True, dispatch_id="new", dispatched_at=timezone.now(),
                        instance=task.instance)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep.recover_orphans() == 0  # no worker online: nobody could run it anyway
    Worker.objects.create(instance=task.instance, hostname="w@h", pid=1, started_at=timezone.now(),
                          last_seen=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep.recover_orphans() == 1
    task.refresh_from_db()
    assert task.dispatch_id != "lost"
    assert sent[0]["args"] == [task.pk, task.dispatch_id, "start-replication"]
    assert ReplicationTask.objects.get(pk=waiting.pk).dispatch_id == "new"
    assert TaskLog.objects.filter(task=task, message__startswith="No worker of instance").exists()
