"""SIGTERM on a worker: its runners stop at a transaction boundary and hand their tasks over.

Celery's warm shutdown waits for running jobs, and a CDC runner never ends on its
own, so the worker must tell its runners. The signal handler (worker_shutting_down,
in the worker's main process) only sets a flag and starts a thread, which marks
every task leased by this worker `handoff_requested` in the database. Runners see
the flag (in-process for the solo and threads pools; through the database for
prefork children) within a second, stop the engine at a transaction boundary,
release the lease and dispatch resume-processing to the instance's queue, where
another worker of the instance takes the task over. Status stays running.
"""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_shutting_down

log = logging.getLogger("dms.shutdown")

SHUTTING_DOWN = threading.Event()


@worker_shutting_down.connect
def _on_worker_shutting_down(sender: str | None = None, **kwargs) -> None:
    SHUTTING_DOWN.set()
    threading.Thread(target=request_handoffs, args=(sender or "",), name="dms-handoff", daemon=True).start()


def request_handoffs(worker: str) -> int:
    """Ask every runner of `worker` (its Celery node name) to hand its task over."""
    from django.db import close_old_connections, connection

    from .forkguard import no_fork
    from .models import ReplicationTask

    with no_fork():
        close_old_connections()
        try:
            count = ReplicationTask.objects.filter(lease_owner__startswith=f"{worker}|").update(
                handoff_requested=True)
            log.info("worker %s shutting down: %d task(s) asked to hand over", worker, count)
            return count
        except Exception:
            log.exception("worker %s shutting down: could not ask its runners to hand over", worker)
            return 0
        finally:
            connection.close()
