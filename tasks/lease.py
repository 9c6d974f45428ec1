"""The task lease: one runner per task, claimed and renewed with conditional UPDATEs.

Strategy (DESIGN.md "One runner per task"): a runner is one long Celery job with
acks_late. Redis redelivers an unacknowledged message after `visibility_timeout`,
and a killed worker's message comes back the same way; a redelivered copy must not
start a second runner. So a runner may work only while it holds the lease, and it
claims the lease only if
  - its message is the task's current dispatch (`dispatch_id`: every start, resume,
    restart, takeover and retry dispatches a new id, so older copies are stale), and
  - the lease is free or expired.
Both are checked in one `UPDATE ... WHERE` and the runner checks it won (one row).
A redelivered copy of a live runner's message finds the lease held and exits; a
copy of a dead runner's message finds a newer dispatch (the scheduler's takeover)
and exits. The holder renews the lease every DMS_LEASE_RENEW_SECONDS; renewing
fails once someone else took the task over, and the runner then stops at once.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import ReplicationTask
from .models.task import ACTIVE_STATUSES


def lease_seconds() -> int:
    return int(getattr(settings, "DMS_LEASE_SECONDS", 20))


def renew_seconds() -> float:
    return float(getattr(settings, "DMS_LEASE_RENEW_SECONDS", 4))


def owner_name(worker: str) -> str:
    """Who holds a lease: the Celery node name (shown in the task log), the pid and a nonce."""
    return f"{worker or 'worker'}|{os.getpid()}|{uuid.uuid4().hex[:8]}"


def worker_of(owner: str | None) -> str:
    return (owner or "").split("|", 1)[0]


def claim(task_pk: int, dispatch_id: str, owner: str) -> bool:
    """Take the lease for the run `dispatch_id` names. False: stale message, or another runner holds it."""
    now = timezone.now()
    won = ReplicationTask.objects.filter(
        Q(lease_owner__isnull=True) | Q(lease_expires__lt=now),
        pk=task_pk, dispatch_id=dispatch_id, status__in=ACTIVE_STATUSES,
    ).update(lease_owner=owner, lease_expires=now + timedelta(seconds=lease_seconds()), lease_heartbeat=now,
             handoff_requested=False)
    return won == 1


def renew(task_pk: int, owner: str) -> bool:
    """Extend the lease; False when it is no longer ours (taken over after we were silent too long)."""
    now = timezone.now()
    return ReplicationTask.objects.filter(pk=task_pk, lease_owner=owner).update(
        lease_expires=now + timedelta(seconds=lease_seconds()), lease_heartbeat=now) == 1


def release(task_pk: int, owner: str, **fields) -> bool:
    """Give the lease up, writing `fields` in the same UPDATE; False when it was not ours any more."""
    return ReplicationTask.objects.filter(pk=task_pk, lease_owner=owner).update(
        lease_owner=None, lease_expires=None, handoff_requested=False, **fields) == 1


def new_dispatch_id() -> str:
    return uuid.uuid4().hex
