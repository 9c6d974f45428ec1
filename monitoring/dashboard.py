"""The dashboard's live widgets: tasks by status, total CDC latency by task, instances and their workers."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.template.loader import render_to_string

from . import live, samples


def dashboard_context() -> dict[str, Any]:
    from tasks.models import ReplicationInstance, ReplicationTask
    from tasks.models.instances import online_window
    from tasks.models.task import Status

    counts = dict(ReplicationTask.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    by_status = [(value, label, counts[value]) for value, label in Status.choices if counts.get(value)]

    latencies = []
    for task in ReplicationTask.objects.filter(status=Status.RUNNING).exclude(migration_type="full-load") \
                                       .only(*live.TASK_FIELDS):
        metrics = task.latest_metrics or {}
        total = live.latency_of(task)
        latencies.append({"task": task, "total": total, "source": metrics.get("CDCLatencySource")})
    latencies.sort(key=lambda row: -(row["total"] or 0.0))
    worst = max((row["total"] or 0.0 for row in latencies), default=0.0) or 1.0
    for row in latencies:
        row["width"] = round(100 * (row["total"] or 0.0) / worst)

    instances = []
    window = online_window()
    for instance in ReplicationInstance.objects.prefetch_related("workers"):
        workers = list(instance.online_workers())
        values = samples.latest_instance_values(instance.pk, window)
        instances.append({
            "instance": instance, "available": bool(workers),
            "running": instance.tasks.filter(status=Status.RUNNING).count(),
            "workers": [{"worker": w, "metrics": {name: values.get(w.hostname, {}).get(name)
                                                  for name in samples.INSTANCE_METRIC_NAMES}} for w in workers],
        })
    return {"tasks_total": sum(counts.values()), "tasks_by_status": by_status, "latencies": latencies,
            "instances": instances}


def render_widgets(**extra: Any) -> str:
    return render_to_string("monitoring/_dashboard.html#dashboard-widgets", {**dashboard_context(), **extra})
