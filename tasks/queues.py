"""Celery queue names. A replication instance is one queue; its workers are whatever consumes it."""

from __future__ import annotations

INSTANCE_QUEUE_PREFIX = "dms.instance."


def queue_name(instance_identifier: str) -> str:
    """The Celery queue of a replication instance: every job for that instance goes there."""
    return INSTANCE_QUEUE_PREFIX + instance_identifier.lower()


def instance_from_queue(queue: str) -> str | None:
    """The instance identifier a queue belongs to, or None for other queues."""
    if queue.startswith(INSTANCE_QUEUE_PREFIX):
        return queue[len(INSTANCE_QUEUE_PREFIX):] or None
    return None
