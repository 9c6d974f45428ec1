"""Template tags that drop the live monitoring pieces into any page:

    {% load monitoring %}
    {% task_live task %}                       the task's websocket (place once on the task page)
    {% table_statistics task selectable %}     the Table statistics tab (sortable, live)
    {% task_monitoring task %}                 the Monitoring tab (charts over 15 min / 1 h / 1 day)
    {% task_cell task "status" %}              a live cell's content, inside an element id="task-<pk>-status"
                                               (also "progress", "tables", "latency")
    {% tasks_live %}                           the tasks list's websocket (place once on the list)
    {% dashboard_widgets %}                    the dashboard's live widgets, with their websocket
"""

from __future__ import annotations

import time
from typing import Any

from django import template
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from monitoring import live

register = template.Library()

_STATUS_CLASS = {"running": "ok", "failed": "bad", "starting": "busy", "stopping": "busy", "creating": "busy",
                 "deleting": "busy", "modifying": "busy", "testing": "busy"}


@register.filter
def status_class(status: str) -> str:
    return _STATUS_CLASS.get(status, "")


@register.simple_tag
def task_cell(task: Any, name: str) -> SafeString:
    return mark_safe(live.task_cell_texts(task)[f"task-{task.pk}-{name}"])  # noqa: S308 - rendered template


@register.simple_tag
def task_live(task: Any) -> SafeString:
    last_row = task.table_statistics.aggregate(last=Max("pk"))["last"] or 0
    return render_to_string("monitoring/_live.html", {"ws_url": f"/ws/tasks/{task.pk}/?rows={last_row}"
                                                                f"&since={time.time():.3f}", "task": task})


@register.simple_tag
def tasks_live() -> SafeString:
    return render_to_string("monitoring/_live.html", {"ws_url": "/ws/tasks/"})


@register.simple_tag
def table_statistics(task: Any, selectable: bool = False) -> SafeString:
    return render_to_string("monitoring/_table_statistics.html", {
        "task": task, "rows": live.stat_rows(task.pk), "columns": live.STAT_COLUMNS, "selectable": selectable})


@register.simple_tag
def task_monitoring(task: Any, window: str | None = None) -> SafeString:
    from monitoring.views import monitoring_context

    return render_to_string("monitoring/_task_monitoring.html", monitoring_context(task, window))


@register.simple_tag
def dashboard_widgets() -> SafeString:
    from monitoring.dashboard import render_widgets

    return mark_safe(render_widgets() + render_to_string("monitoring/_live.html",  # noqa: S308
                                                         {"ws_url": "/ws/dashboard/"}))


@register.filter
def get_item(mapping: dict | None, key: str) -> Any:
    return (mapping or {}).get(key)
