"""Celery jobs (the word "task" belongs to ReplicationTask). Ids in, one call into domain code.

Jobs are sent to a replication instance's queue (tasks.queues.queue_name) by the code
that starts them; names are explicit so a worker and a console of the same version agree.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="dms.endpoints.test_connection", ignore_result=True, bind=True)
def test_connection(self, connection_id: int, token: str) -> None:
    """Test one endpoint from a worker of the chosen instance. Safe to run twice: the
    result is written only for the attempt `token` names, and only once."""
    from endpoints.services import run_connection_test

    run_connection_test(connection_id, token, worker_name=self.request.hostname or "")


# ---- replication tasks (tasks/running.py, tasks/segments.py, tasks/sweep.py) ---------------------------
from . import shutdown  # noqa: E402,F401 - connects the SIGTERM hand-over to every worker of this app


@shared_task(name="dms.tasks.run", bind=True, acks_late=True, ignore_result=True, time_limit=None,
             soft_time_limit=None)
def run_replication_task(self, task_pk: int, dispatch_id: str, mode: str, previous_owner: str = "",
                         reason: str = "") -> None:
    """A task's runner, on its instance's queue, for as long as the task runs. Safe to deliver twice: it
    works only under the task's lease, for the current dispatch (tasks/lease.py)."""
    from .running import ClaimFailed, run_task

    try:
        run_task(task_pk, dispatch_id, mode, worker=self.request.hostname or "", previous_owner=previous_owner,
                 reason=reason)
    except ClaimFailed as exc:
        raise self.retry(exc=exc, countdown=2, max_retries=30) from exc


@shared_task(name="dms.tasks.load_segment", bind=True, ignore_result=True, time_limit=None, soft_time_limit=None)
def load_segment(self, task_pk: int, dispatch_id: str, number: int, payload: str) -> None:
    """One full-load unit of a running task, on its instance's queue. Claimed once in Redis (SET NX)."""
    from .segments import run_segment

    run_segment(task_pk, dispatch_id, number, payload, worker=self.request.hostname or "")


@shared_task(name="dms.tasks.sweep", ignore_result=True)
def sweep() -> None:
    """Celery beat, every DMS_SWEEP_SECONDS, on the control queue: take over expired leases, prune logs."""
    from .sweep import sweep as run_sweep

    run_sweep()


@shared_task(name="dms.tasks.delete", ignore_result=True)
def delete_replication_task(task_pk: int) -> None:
    """On the task's instance queue: remove what the task created on the source, then the task."""
    from .actions import finish_delete

    finish_delete(task_pk)
