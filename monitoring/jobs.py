"""Celery jobs of the monitoring app (the word "task" belongs to ReplicationTask)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="dms.monitoring.compact_metrics", ignore_result=True)
def compact_metrics() -> None:
    """Celery beat, every monitoring.samples.COMPACT_EVERY seconds, on the control queue: downsample old
    metric samples and drop those past DMS_METRICS_RETENTION_DAYS."""
    from .samples import compact

    compact()
