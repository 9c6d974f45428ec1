"""The Prometheus text exposition format (version 0.0.4), written out for /metrics.

Families (labels in braces):
  dms_task_<metric>{task,instance}            each DMS CloudWatch task metric of a running task, e.g.
                                              dms_task_cdc_latency_target_seconds (alert on this one)
  dms_task_status{task,instance,status}       1 for the task's status
  dms_task_full_load_progress_percent, dms_task_tables{...,state}
  dms_table_<count>_total{task,schema,table}  inserts, deletes, updates, ddls, full_load_rows
  dms_table_state{task,schema,table,state}    1 for the table's state
  dms_instance_workers_online{instance}, dms_instance_tasks_running{instance}
  dms_worker_<metric>{instance,worker}        each online worker's CPU, memory, free spool storage, tasks
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from .samples import INSTANCE_METRICS, TASK_METRICS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_UNIT_SUFFIX = {"seconds": "_seconds", "rows/s": "_per_second", "KB/s": "_kilobytes_per_second",
                "bytes": "_bytes", "percent": "_percent"}
TABLE_COUNTS = [("inserts", "Inserts captured (DMS Inserts)."), ("deletes", "Deletes captured (DMS Deletes)."),
                ("updates", "Updates captured (DMS Updates)."), ("ddls", "DDL changes captured (DMS Ddls)."),
                ("full_load_rows", "Rows loaded by the full load (DMS FullLoadRows).")]
Labels = dict[str, str]


def snake(name: str) -> str:
    """CDCLatencyTarget -> cdc_latency_target, FullLoadThroughputRowsSource -> full_load_throughput_rows_source."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def family_name(prefix: str, metric: str, unit: str) -> str:
    return f"{prefix}_{snake(metric)}{_UNIT_SUFFIX.get(unit, '')}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[Labels, float]]) -> None:
        """One family: HELP, TYPE, then its samples (a family without samples is still declared)."""
        self.lines.append(f"# HELP {name} {_escape_help(help_text)}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            rendered = ",".join(f'{key}="{_escape_label(str(val))}"' for key, val in labels.items())
            self.lines.append(f"{name}{{{rendered}}} {_value(value)}" if rendered else f"{name} {_value(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def exposition() -> str:
    from django.db.models import Count

    from tasks.models import ReplicationInstance, ReplicationTask
    from tasks.models.task import ACTIVE_STATUSES, Status

    from .models import TableStatistics
    from .samples import latest_instance_values

    out = Exposition()
    tasks = list(ReplicationTask.objects.select_related("instance").order_by("identifier"))
    ids = {task.pk: task.identifier for task in tasks}

    def task_labels(task: ReplicationTask) -> Labels:
        return {"task": task.identifier, "instance": task.instance.identifier}

    active = [task for task in tasks if task.status in ACTIVE_STATUSES]
    for metric in TASK_METRICS:
        out.family(family_name("dms_task", metric.name, metric.unit), "gauge",
                   f"DMS {metric.name} ({metric.unit}): {metric.help}",
                   [(task_labels(t), float(t.latest_metrics[metric.name])) for t in active
                    if isinstance((t.latest_metrics or {}).get(metric.name), int | float)])
    out.family("dms_task_status", "gauge", "1 for the task's status (DMS ReplicationTask.Status).",
               [({**task_labels(t), "status": t.status}, 1) for t in tasks])
    out.family("dms_task_full_load_progress_percent", "gauge", "DMS FullLoadProgressPercent.",
               [(task_labels(t), t.full_load_progress_percent) for t in tasks])
    out.family("dms_task_tables", "gauge", "Tables loaded, loading, queued and errored (DMS ReplicationTaskStats).",
               [({**task_labels(t), "state": state}, getattr(t, f"tables_{state}")) for t in tasks
                for state in ("loaded", "loading", "queued", "errored")])

    rows = list(TableStatistics.objects.order_by("task_id", "schema_name", "table_name").values_list(
        "task_id", "schema_name", "table_name", "table_state", *[name for name, _ in TABLE_COUNTS]))

    def table_labels(row: tuple) -> Labels:
        return {"task": ids.get(row[0], str(row[0])), "schema": row[1], "table": row[2]}

    for index, (name, help_text) in enumerate(TABLE_COUNTS):
        out.family(f"dms_table_{name}_total", "counter", help_text,
                   [(table_labels(row), row[4 + index]) for row in rows])
    out.family("dms_table_state", "gauge", "1 for the table's state (DMS TableState).",
               [({**table_labels(row), "state": row[3]}, 1) for row in rows])

    instances = list(ReplicationInstance.objects.order_by("identifier"))
    running = dict(ReplicationTask.objects.filter(status=Status.RUNNING).values_list("instance_id")
                   .annotate(n=Count("id")).values_list("instance_id", "n"))
    online = {i.pk: list(i.online_workers()) for i in instances}
    out.family("dms_instance_workers_online", "gauge", "Workers of the replication instance answering heartbeats.",
               [({"instance": i.identifier}, len(online[i.pk])) for i in instances])
    out.family("dms_instance_tasks_running", "gauge", "Replication tasks running on the instance.",
               [({"instance": i.identifier}, running.get(i.pk, 0)) for i in instances])
    from tasks.models.instances import online_window

    latest = {i.pk: latest_instance_values(i.pk, online_window()) for i in instances}
    for metric in INSTANCE_METRICS:
        out.family(family_name("dms_worker", metric.name, metric.unit), "gauge", f"{metric.name}: {metric.help}",
                   [({"instance": i.identifier, "worker": w.hostname}, float(latest[i.pk][w.hostname][metric.name]))
                    for i in instances for w in online[i.pk]
                    if metric.name in latest[i.pk].get(w.hostname, {})])
    return out.text()
