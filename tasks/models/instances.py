"""Replication instances (a Celery queue each) and the workers that serve them, seen by heartbeat."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from dmsconsole.identifiers import validate_identifier

from ..queues import queue_name

# Labels only: a worker's real capacity is the machine it runs on.
INSTANCE_CLASSES = [
    (name, name) for name in (
        "dms.t3.micro", "dms.t3.small", "dms.t3.medium", "dms.t3.large",
        "dms.c5.large", "dms.c5.xlarge", "dms.c5.2xlarge", "dms.c5.4xlarge",
        "dms.r5.large", "dms.r5.xlarge", "dms.r5.2xlarge", "dms.r5.4xlarge",
    )
]
IDENTIFIER_MAX = 63


def heartbeat_seconds() -> int:
    return int(getattr(settings, "DMS_HEARTBEAT_SECONDS", 5))


def online_window() -> timedelta:
    """A worker is online while its last heartbeat is younger than three beats."""
    return timedelta(seconds=3 * heartbeat_seconds())


def _validate_instance_identifier(value: str) -> None:
    validate_identifier(value, IDENTIFIER_MAX)


class ReplicationInstance(models.Model):
    identifier = models.CharField(
        max_length=IDENTIFIER_MAX, unique=True, validators=[_validate_instance_identifier],
        help_text="1-63 letters, digits and hyphens; starts with a letter; stored lower-case.")
    description = models.CharField(max_length=300, blank=True)
    instance_class = models.CharField(max_length=40, choices=INSTANCE_CLASSES, default="dms.t3.medium")
    allocated_storage_gb = models.PositiveIntegerField(
        "allocated storage (GiB)", default=50, validators=[MinValueValidator(1), MaxValueValidator(6144)],
        help_text="The most disk a task's change spool may use on a worker of this instance.")
    multi_az = models.BooleanField(
        "Multi-AZ", default=False,
        help_text="Run workers on two or more machines: if one dies, another takes its tasks over.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identifier"]

    def __str__(self) -> str:
        return self.identifier

    def save(self, *args, **kwargs):
        self.identifier = self.identifier.lower()
        super().save(*args, **kwargs)

    @property
    def queue(self) -> str:
        return queue_name(self.identifier)

    @property
    def spool_limit_bytes(self) -> int:
        return self.allocated_storage_gb * 1024**3

    def online_workers(self) -> models.QuerySet[Worker]:
        return self.workers.filter(stopped_at__isnull=True, last_seen__gte=timezone.now() - online_window())

    @property
    def status(self) -> str:
        """DMS words: available when at least one worker answers heartbeats, else unavailable."""
        return "available" if self.online_workers().exists() else "unavailable"


class Worker(models.Model):
    """A Celery worker consuming an instance's queue. Rows are written by the worker's heartbeat."""

    instance = models.ForeignKey(ReplicationInstance, on_delete=models.CASCADE, related_name="workers")
    hostname = models.CharField(max_length=255)  # the Celery node name, e.g. demo-instance@host-1234
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["hostname"]
        constraints = [models.UniqueConstraint(fields=["instance", "hostname"], name="worker_unique_per_instance")]

    def __str__(self) -> str:
        return f"{self.hostname} (pid {self.pid})"

    @property
    def online(self) -> bool:
        return self.stopped_at is None and self.last_seen >= timezone.now() - online_window()
