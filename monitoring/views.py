"""Monitoring pages: the Monitoring tab's charts over a window, and Prometheus's /metrics."""

from __future__ import annotations

import hmac
import json
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dmsconsole.access import viewer_required

from . import prometheus, samples

# The Monitoring tab's charts: (key, title, unit, DMS metric names).
CHARTS = [
    ("throughput", "Throughput", "rows/s", ["CDCThroughputRowsSource", "CDCThroughputRowsTarget",
                                            "FullLoadThroughputRowsSource", "FullLoadThroughputRowsTarget"]),
    ("latency", "Latency", "seconds", ["CDCLatencySource", "CDCLatencyTarget"]),
    ("incoming", "Incoming changes", "changes", ["CDCIncomingChanges", "CDCChangesMemorySource",
                                                 "CDCChangesDiskSource"]),
]
WINDOW_LABELS = [("15m", "15 min"), ("1h", "1 hour"), ("1d", "1 day")]


def monitoring_context(task: Any, window: str | None) -> dict[str, Any]:
    window = samples.window_of(window)
    names = [name for *_, chart_names in CHARTS for name in chart_names]
    return {
        "task": task, "window": window, "windows": WINDOW_LABELS,
        "window_seconds": int(samples.WINDOWS[window].total_seconds()),
        "charts": [{"key": key, "title": title, "unit": unit, "names": chart_names,
                    "names_json": json.dumps(chart_names)} for key, title, unit, chart_names in CHARTS],
        "series": samples.task_series(task.pk, window, names), "series_id": f"task-{task.pk}-series",
        "latest": task.latest_metrics or {}, "interval": getattr(settings, "DMS_METRICS_INTERVAL", 5),
    }


@require_GET
@viewer_required
def task_monitoring(request: HttpRequest, identifier: str) -> HttpResponse:
    """The Monitoring tab for another window (htmx); a plain request goes to the task page's tab."""
    from tasks.models import ReplicationTask

    task = get_object_or_404(ReplicationTask, identifier=identifier.lower())
    window = samples.window_of(request.GET.get("window"))
    if not request.htmx:
        return redirect(f"{reverse('task-detail', args=[task.identifier])}?window={window}#monitoring")
    return render(request, "monitoring/_task_monitoring.html", monitoring_context(task, window))


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition of the task, table and instance metrics, for `Authorization: Bearer
    <DMS_METRICS_TOKEN>` only (401 otherwise, and always while the token is unset)."""
    token = getattr(settings, "DMS_METRICS_TOKEN", "")
    given = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("401 Unauthorized: send Authorization: Bearer <DMS_METRICS_TOKEN>\n", status=401,
                                content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="dms-metrics"'
        return response
    return HttpResponse(prometheus.exposition(), content_type=prometheus.CONTENT_TYPE)
