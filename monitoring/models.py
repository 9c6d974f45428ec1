"""What a running task tells the console: per-table statistics and the task log.

Rows are written by the runner's reporter (tasks.reporter) on the worker; counters
are only ever incremented with F() expressions, so coalesced deltas from several
flushes add up whatever their order.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class TableState(models.TextChoices):
    """DMS's table states (DescribeTableStatistics TableState)."""

    NOT_EXIST = "Table does not exist"
    BEFORE_LOAD = "Before load"
    FULL_LOAD = "Full load"
    COMPLETED = "Table completed"
    CANCELLED = "Table cancelled"
    ERROR = "Table error"
    RELOADING = "Table is being reloaded"


class TableStatistics(models.Model):
    task = models.ForeignKey("tasks.ReplicationTask", on_delete=models.CASCADE, related_name="table_statistics")
    schema_name = models.CharField(max_length=255)
    table_name = models.CharField(max_length=255)
    table_state = models.CharField(max_length=40, choices=TableState.choices, default=TableState.BEFORE_LOAD)
    state_message = models.TextField(blank=True)  # why a table is in error
    inserts = models.BigIntegerField(default=0)
    updates = models.BigIntegerField(default=0)
    deletes = models.BigIntegerField(default=0)
    ddls = models.BigIntegerField(default=0)
    full_load_rows = models.BigIntegerField(default=0)
    estimated_rows = models.BigIntegerField(default=0)  # the source's estimate, for the progress percent
    full_load_start_time = models.DateTimeField(null=True, blank=True)
    full_load_end_time = models.DateTimeField(null=True, blank=True)
    full_load_reloaded = models.BooleanField(default=False)
    last_update_time = models.DateTimeField(default=timezone.now)
    validation_state = models.CharField(max_length=40, default="Not enabled")

    class Meta:
        ordering = ["schema_name", "table_name"]
        constraints = [models.UniqueConstraint(fields=["task", "schema_name", "table_name"],
                                               name="table_statistics_per_table")]
        verbose_name_plural = "table statistics"

    def __str__(self) -> str:
        return f"{self.schema_name}.{self.table_name}: {self.table_state}"


class TaskLog(models.Model):
    """One log line of a task, with DMS's component and severity. Bounded per task (tasks.sweep)."""

    task = models.ForeignKey("tasks.ReplicationTask", on_delete=models.CASCADE, related_name="log_lines")
    time = models.DateTimeField(default=timezone.now)
    component = models.CharField(max_length=20, db_index=True)
    severity = models.CharField(max_length=32, db_index=True)
    message = models.TextField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["task", "-id"], name="tasklog_task_newest")]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%dT%H:%M:%S} [{self.component}]{self.letter}: {self.message}"

    @property
    def letter(self) -> str:
        """DMS's one-letter severity in log lines: E, W, I, D, T."""
        return {"LOGGER_SEVERITY_ERROR": "E", "LOGGER_SEVERITY_WARNING": "W", "LOGGER_SEVERITY_INFO": "I",
                "LOGGER_SEVERITY_DEBUG": "D", "LOGGER_SEVERITY_DETAILED_DEBUG": "T"}.get(self.severity, "I")


class MetricSample(models.Model):
    """One sample of metrics named as DMS's CloudWatch metrics, {name: value}: a task's (task set) or a
    replication instance worker's (instance and worker set). Raw samples (resolution 0) arrive every few
    seconds; monitoring.samples.compact averages older ones into 1-minute, then 1-hour samples, and drops
    those past the retention."""

    task = models.ForeignKey("tasks.ReplicationTask", on_delete=models.CASCADE, null=True, blank=True,
                             related_name="metric_samples")
    instance = models.ForeignKey("tasks.ReplicationInstance", on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="metric_samples")
    worker = models.CharField(max_length=255, blank=True)  # the worker's node name, for instance samples
    time = models.DateTimeField(default=timezone.now)
    resolution = models.PositiveIntegerField(default=0)  # seconds one sample stands for; 0 = raw
    values = models.JSONField(default=dict)

    class Meta:
        ordering = ["time", "id"]
        indexes = [models.Index(fields=["task", "resolution", "time"], name="metricsample_task"),
                   models.Index(fields=["instance", "resolution", "time"], name="metricsample_instance")]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%dT%H:%M:%S} ({self.resolution}s): {len(self.values)} metrics"
