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
