"""Worker heartbeats: a Celery bootstep that says, every few seconds, "this worker serves instance X".

It runs in every worker of the console's Celery app, whether started by `dms worker`
or by the plain `celery -A dmsconsole worker -Q dms.instance.X` command. For each
replication-instance queue the worker consumes, it upserts a Worker row (node name,
pid, last_seen); the instances page counts rows seen within three beats as online.
A worker that stops cleanly marks its rows stopped at once.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta

from celery import bootsteps

from .queues import instance_from_queue

log = logging.getLogger("dms.heartbeat")

# Rows of workers gone for this long are deleted, so the table does not grow with every restart.
FORGET_AFTER = timedelta(days=1)


def beat(hostname: str, pid: int, identifiers: list[str], *, started: bool = False) -> list[str]:
    """Write one heartbeat for each instance; returns the identifiers that have no instance (yet)."""
    from django.utils import timezone

    from .models import ReplicationInstance, Worker

    now = timezone.now()
    missing: list[str] = []
    for identifier in identifiers:
        instance = ReplicationInstance.objects.filter(identifier=identifier).first()
        if instance is None:
            missing.append(identifier)
            continue
        defaults = {"pid": pid, "last_seen": now, "stopped_at": None}
        if started:
            defaults["started_at"] = now
        Worker.objects.update_or_create(instance=instance, hostname=hostname, defaults=defaults,
                                        create_defaults={**defaults, "started_at": now})
    Worker.objects.filter(last_seen__lt=now - FORGET_AFTER).delete()
    return missing


def record_metrics(hostname: str, identifiers: list[str]) -> None:
    """The instance's metrics as this worker sees them (monitoring.instance_metrics: CPU, memory, free
    spool storage, tasks running); a failure there never costs the heartbeat itself."""
    try:
        from monitoring.instance_metrics import record_worker_metrics

        record_worker_metrics(hostname, identifiers)
    except Exception:
        log.warning("heartbeat: could not record the instance metrics", exc_info=True)


def stopped(hostname: str, identifiers: list[str]) -> None:
    from django.utils import timezone

    from .models import Worker

    Worker.objects.filter(hostname=hostname, instance__identifier__in=identifiers).update(stopped_at=timezone.now())


class Heartbeat(bootsteps.StartStopStep):
    """Registered on the console's Celery app (dmsconsole/celery.py) for every worker."""

    label = "DMS heartbeat"

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._identifiers: list[str] = []
        self._hostname = ""

    def start(self, worker) -> None:
        queues = worker.app.amqp.queues.consume_from or worker.app.amqp.queues
        self._identifiers = sorted({i for q in queues if (i := instance_from_queue(q))})
        if not self._identifiers:
            log.info("heartbeat: this worker serves no replication instance queue")
            return
        self._hostname = worker.hostname
        self._thread = threading.Thread(target=self._run, name="dms-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from django.conf import settings

        interval = int(getattr(settings, "DMS_HEARTBEAT_SECONDS", 5))
        pid = os.getpid()
        first = True
        warned: set[str] = set()
        from django.db import close_old_connections

        from .forkguard import no_fork

        while not self._stop.is_set():
            try:
                with no_fork():  # the prefork pool must not fork mid-transaction (see tasks/forkguard.py)
                    close_old_connections()
                    missing = beat(self._hostname, pid, self._identifiers, started=first)
                    record_metrics(self._hostname, self._identifiers)
                first = False
                for identifier in set(missing) - warned:
                    log.warning("heartbeat: no replication instance %r exists: create it in the console "
                                "(this worker keeps consuming its queue)", identifier)
                warned |= set(missing)
            except Exception:  # a database blip must not kill the worker; the next beat retries
                log.exception("heartbeat: could not write the heartbeat")
                from django.db import connection

                with no_fork():
                    connection.close()
            self._stop.wait(interval)
        try:
            with no_fork():
                close_old_connections()
                stopped(self._hostname, self._identifiers)
        except Exception:
            log.exception("heartbeat: could not mark the worker stopped")

    def stop(self, worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    shutdown = stop
