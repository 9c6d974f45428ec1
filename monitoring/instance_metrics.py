"""A replication instance's metrics, sampled by each of its workers at every heartbeat (tasks.heartbeat):
CPU and memory of the worker's machine (psutil), free storage where its change spools live, and the
tasks it runs. Stored per worker as MetricSample rows; the dashboard and /metrics read the latest."""

from __future__ import annotations

from pathlib import Path

import psutil
from django.conf import settings

from .samples import record_instance_sample


def machine_values(spool_dir: Path | None = None) -> dict[str, float]:
    """CPUUtilization (percent since the previous call: the first call of a process says 0),
    MemoryUsage (percent), AvailableMemory (bytes), FreeStorageSpace (bytes, on the spool's disk)."""
    folder = Path(spool_dir or getattr(settings, "DMS_SPOOL_DIR", "."))
    while not folder.exists() and folder != folder.parent:  # the spool folder appears with the first task
        folder = folder.parent
    memory = psutil.virtual_memory()
    return {
        "CPUUtilization": float(psutil.cpu_percent(interval=None)),
        "MemoryUsage": float(memory.percent),
        "AvailableMemory": float(memory.available),
        "FreeStorageSpace": float(psutil.disk_usage(str(folder)).free),
    }


def tasks_running(instance_pk: int, hostname: str) -> int:
    """Tasks whose runner on this worker holds the lease (lease owner "<worker node>|<pid>|<nonce>")."""
    from tasks.models import ReplicationTask
    from tasks.models.task import ACTIVE_STATUSES

    return ReplicationTask.objects.filter(instance_id=instance_pk, status__in=ACTIVE_STATUSES,
                                          lease_owner__startswith=f"{hostname}|").count()


def record_worker_metrics(hostname: str, identifiers: list[str]) -> int:
    """One sample per replication instance this worker serves. Returns the samples written."""
    from tasks.models import ReplicationInstance

    values = machine_values()
    written = 0
    for instance_pk in ReplicationInstance.objects.filter(identifier__in=identifiers).values_list("pk", flat=True):
        record_instance_sample(instance_pk, hostname, {**values, "TasksRunning": tasks_running(instance_pk, hostname)})
        written += 1
    return written
