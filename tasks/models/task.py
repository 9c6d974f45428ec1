"""ReplicationTask: DMS's task, with its documents, status, statistics, checkpoint and lease.

Who writes what (so no one clobbers another's fields): the console's actions
(tasks.actions) change the documents and ask for runs, stops and reloads with
conditional UPDATEs on `status`; the runner holding the lease (tasks.running)
writes the run's progress and result; the scheduler (tasks.sweep) takes over
expired leases. Nobody calls save() on a task that may be running.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from dmsconsole.identifiers import validate_identifier

from .instances import ReplicationInstance

IDENTIFIER_MAX = 255
_RESOURCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def new_resource_id() -> str:
    """DMS-style external resource id (26 upper-case base32 characters): names the task's ARN,
    its rows in the target's control tables and its replication slot. Never changes."""
    return "".join(secrets.choice(_RESOURCE_ALPHABET) for _ in range(26))


def _validate_task_identifier(value: str) -> None:
    validate_identifier(value, IDENTIFIER_MAX)


class Status(models.TextChoices):
    """DMS's task status values (ReplicationTask.Status)."""

    CREATING = "creating"
    READY = "ready"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    DELETING = "deleting"
    MODIFYING = "modifying"
    TESTING = "testing"


class MigrationType(models.TextChoices):
    FULL_LOAD = "full-load", "Migrate existing data"
    FULL_LOAD_AND_CDC = "full-load-and-cdc", "Migrate existing data and replicate ongoing changes"
    CDC = "cdc", "Replicate data changes only"


class StartType(models.TextChoices):
    START = "start-replication", "Start"
    RESUME = "resume-processing", "Resume"
    RELOAD = "reload-target", "Restart"


# Statuses in which a runner is (or is about to be) at work.
ACTIVE_STATUSES = (Status.STARTING, Status.RUNNING, Status.STOPPING)


class ReplicationTask(models.Model):
    identifier = models.CharField(
        "task identifier", max_length=IDENTIFIER_MAX, unique=True, validators=[_validate_task_identifier],
        help_text="1-255 letters, digits and hyphens; starts with a letter; stored lower-case.")
    resource_id = models.CharField(max_length=32, unique=True, default=new_resource_id, editable=False)
    instance = models.ForeignKey(ReplicationInstance, on_delete=models.PROTECT, related_name="tasks",
                                 verbose_name="replication instance")
    source = models.ForeignKey("endpoints.Endpoint", on_delete=models.PROTECT, related_name="source_tasks",
                               verbose_name="source endpoint")
    target = models.ForeignKey("endpoints.Endpoint", on_delete=models.PROTECT, related_name="target_tasks",
                               verbose_name="target endpoint")
    migration_type = models.CharField(max_length=20, choices=MigrationType.choices)
    table_mappings = models.TextField(help_text="DMS table-mapping JSON.")
    task_settings = models.TextField(blank=True, help_text="DMS task-settings JSON, stored enriched with defaults.")
    cdc_start_position = models.CharField(max_length=255, blank=True)
    cdc_start_time = models.DateTimeField(null=True, blank=True)
    cdc_stop_position = models.CharField(max_length=255, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CREATING, db_index=True)
    stop_reason = models.CharField(max_length=80, blank=True)
    last_failure_message = models.TextField(blank=True)
    last_start_type = models.CharField(max_length=20, choices=StartType.choices, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    fresh_start_date = models.DateTimeField(null=True, blank=True)  # last start-replication / reload-target
    start_date = models.DateTimeField(null=True, blank=True)  # last start of any kind
    stop_date = models.DateTimeField(null=True, blank=True)
    full_load_start_date = models.DateTimeField(null=True, blank=True)
    full_load_finish_date = models.DateTimeField(null=True, blank=True)
    full_load_progress_percent = models.PositiveSmallIntegerField(default=0)
    tables_loaded = models.PositiveIntegerField(default=0)
    tables_loading = models.PositiveIntegerField(default=0)
    tables_queued = models.PositiveIntegerField(default=0)
    tables_errored = models.PositiveIntegerField(default=0)
    recovery_checkpoint = models.TextField(blank=True)
    latest_metrics = models.JSONField(default=dict, blank=True)  # the last sample of each CloudWatch-named metric

    # -- running: one runner per task, held by a lease (tasks.lease) ----------------------------
    dispatch_id = models.CharField(max_length=32, blank=True)  # the run message that may hold the lease
    # "<worker node>|<pid>|<nonce>"; NULL is "nobody": claims test `lease_owner IS NULL OR lease_expires < now`.
    lease_owner = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    lease_expires = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_heartbeat = models.DateTimeField(null=True, blank=True)
    handoff_requested = models.BooleanField(default=False)  # the lease holder's worker is shutting down
    reload_requested = models.TextField(blank=True)  # JSON [[schema, table], ...] waiting for the runner
    recoverable_attempts = models.PositiveIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)  # when the current run message was sent (or is due)
    # False from a Start or Restart until its runner has begun (reset the target's state): a runner lost before
    # that must repeat the start, not resume from the previous run's checkpoint.
    fresh_started = models.BooleanField(default=True)

    class Meta:
        ordering = ["identifier"]

    def __str__(self) -> str:
        return self.identifier

    # -- validation -------------------------------------------------------------------------------
    def clean(self) -> None:
        """Endpoint roles and the documents, checked by the engine; every problem is reported."""
        from ..documents import check_task

        self.identifier = (self.identifier or "").lower()
        problems = check_task(self)
        if problems:
            raise ValidationError(problems)

    # -- derived ----------------------------------------------------------------------------------
    @property
    def engine_task_id(self) -> str:
        """The name the engine knows the task by (slot, control-table rows): stable across renames."""
        return self.resource_id.lower()

    @property
    def has_run(self) -> bool:
        return self.fresh_start_date is not None

    @property
    def elapsed_millis(self) -> int:
        if self.start_date is None:
            return 0
        end: datetime = timezone.now()
        if self.status not in ACTIVE_STATUSES and self.stop_date is not None and self.stop_date >= self.start_date:
            end = self.stop_date
        return int((end - self.start_date).total_seconds() * 1000)

    @property
    def takeover_mode(self) -> str:
        """How a runner taking this task over starts: resume-processing, unless the Start or Restart it
        continues had not begun yet."""
        if self.fresh_started or not self.last_start_type:
            return StartType.RESUME.value
        return self.last_start_type

    def pending_reloads(self) -> list[tuple[str, str]]:
        if not self.reload_requested:
            return []
        return [(schema, table) for schema, table in json.loads(self.reload_requested)]

    @property
    def status_label(self) -> str:
        """The console's words: DMS shows a running full-load-and-cdc task past its load this way."""
        if self.status == Status.RUNNING and self.migration_type != MigrationType.FULL_LOAD and \
                self.full_load_finish_date is not None and self.tables_loading == 0 and self.tables_queued == 0:
            return "Load complete, replication ongoing"
        if self.status == Status.RUNNING and self.tables_errored:
            return "Running with errors"
        if self.status == Status.STOPPED and self.stop_reason == "Stop Reason FULL_LOAD_ONLY_FINISHED":
            return "Load complete"
        return self.get_status_display()


# ---- what a task uses cannot be deleted (dmsconsole.usage) ----------------------------------------
from dmsconsole.usage import uses  # noqa: E402


@uses("endpoints.Endpoint")
def _tasks_using_endpoint(endpoint):
    for task in ReplicationTask.objects.filter(models.Q(source=endpoint) | models.Q(target=endpoint)):
        yield f"task {task.identifier}"


@uses("tasks.ReplicationInstance")
def _tasks_on_instance(instance):
    for task in ReplicationTask.objects.filter(instance=instance):
        yield f"task {task.identifier}"
