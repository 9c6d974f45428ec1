"""The scheduler's job (Celery beat, every DMS_SWEEP_SECONDS): Multi-AZ failover and log retention.

A runner whose lease expired has stopped renewing it: its worker died, froze or lost
the database. The sweep takes the lease back with a conditional UPDATE (only if it
is still the same expired lease) and a new dispatch id, so the dead runner's
message, if Redis ever redelivers it, is stale; then it dispatches
resume-processing to the instance's queue, and another worker of the instance
resumes the task from its checkpoint. A task that was stopping when its worker
died is simply stopped.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from monitoring.models import TaskLog
from tasks.engine.reporting import Component, Severity

from . import lease
from .actions import STOP_NORMAL, dispatch
from .models import ReplicationTask, Status
from .models.task import ACTIVE_STATUSES
from .reporter import publish, write_log

log = logging.getLogger("dms.sweep")

PRUNE_EVERY = 60.0  # seconds between log-retention passes
_last_prune = 0.0


def sweep() -> dict[str, int]:
    taken = sum(take_over(task) for task in ReplicationTask.objects.select_related("instance").filter(
        status__in=ACTIVE_STATUSES, lease_owner__isnull=False, lease_expires__lt=timezone.now()))
    orphans = recover_orphans()
    global _last_prune
    pruned = 0
    if time.monotonic() - _last_prune >= PRUNE_EVERY:
        pruned = prune_logs()
        _last_prune = time.monotonic()
    return {"taken_over": taken, "redispatched": orphans, "log_lines_pruned": pruned}


def orphan_seconds() -> float:
    return max(30.0, 3.0 * lease.lease_seconds())


def recover_orphans() -> int:
    """Tasks waiting for a runner whose message is gone (a Redis flush, a job that failed before it
    could claim): nobody holds the lease, the message was sent long ago, the instance's queue is empty
    and a worker is online. They are dispatched again (a new dispatch id makes any late copy stale)."""
    cutoff = timezone.now() - timedelta(seconds=orphan_seconds())
    recovered = 0
    for task in ReplicationTask.objects.select_related("instance").filter(
            status__in=(Status.STARTING, Status.RUNNING), lease_owner__isnull=True, dispatched_at__lt=cutoff):
        if not task.instance.online_workers().exists() or queued_messages(task.instance.queue):
            continue  # no one to run it yet, or it is still waiting its turn
        dispatch_id = lease.new_dispatch_id()
        if not ReplicationTask.objects.filter(pk=task.pk, dispatch_id=task.dispatch_id,
                                              lease_owner__isnull=True).update(dispatch_id=dispatch_id):
            continue
        write_log(task, Component.TASK_MANAGER, Severity.WARNING,
                  f"No worker of instance {task.instance} took the task's runner up within {orphan_seconds():.0f} s "
                  "and its queue is empty: the runner is dispatched again")
        dispatch(task, dispatch_id, task.takeover_mode, reason="redispatch")
        recovered += 1
    return recovered


def queued_messages(queue: str) -> int:
    """Messages waiting in a Redis queue (kombu keeps one list per priority step)."""
    from .segments import redis

    client = redis()
    return sum(client.llen(queue + suffix) for suffix in ("", "\x06\x163", "\x06\x166", "\x06\x169"))


def take_over(task: ReplicationTask) -> bool:
    """Take an expired lease back and re-dispatch the task. False when someone got there first."""
    expired_owner, expired_at = task.lease_owner, task.lease_expires
    worker = lease.worker_of(expired_owner)
    same_lease = ReplicationTask.objects.filter(pk=task.pk, lease_owner=expired_owner, lease_expires=expired_at)
    if task.status == Status.STOPPING:
        if not same_lease.update(lease_owner=None, lease_expires=None, status=Status.STOPPED,
                                 stop_reason=STOP_NORMAL, stop_date=timezone.now()):
            return False
        write_log(task, Component.TASK_MANAGER, Severity.WARNING,
                  f"Worker {worker} stopped answering while the task was stopping; the task is stopped")
        publish(task.pk, status=True)
        return True
    dispatch_id = lease.new_dispatch_id()
    if not same_lease.update(lease_owner=None, lease_expires=None, dispatch_id=dispatch_id):
        return False
    last = task.lease_heartbeat.strftime("%H:%M:%S") if task.lease_heartbeat else "never"
    write_log(task, Component.TASK_MANAGER, Severity.WARNING,
              f"Multi-AZ failover: worker {worker} stopped renewing the task's lease (last heartbeat {last} UTC); "
              f"the task resumes on another worker of instance {task.instance}")
    log.warning("task %s: lease of %s expired; re-dispatched", task.identifier, worker)
    dispatch(task, dispatch_id, task.takeover_mode, previous_owner=expired_owner or "", reason="failover")
    publish(task.pk, status=True)
    return True


def prune_logs(keep: int | None = None) -> int:
    """Keep the newest `keep` (DMS_TASK_LOG_KEEP) log lines of each task."""
    keep = keep if keep is not None else int(getattr(settings, "DMS_TASK_LOG_KEEP", 20000))
    removed = 0
    for task_pk in ReplicationTask.objects.values_list("pk", flat=True):
        boundary = TaskLog.objects.filter(task_id=task_pk).order_by("-id").values_list("id", flat=True)[keep:keep + 1]
        boundary = list(boundary)
        if boundary:
            removed += TaskLog.objects.filter(task_id=task_pk, id__lte=boundary[0]).delete()[0]
    return removed
