"""A replication task's Logs tab (tasks/_task_log.html, included by the task page in tasks.task_pages) and
the task actions as POST endpoints. Roles are enforced here and again in tasks.actions."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from dmsconsole.access import administrator_required, operator_required, viewer_required
from monitoring.models import TaskLog
from tasks.engine.reporting import Component

from . import actions
from .models import ReplicationTask, StartType

LOG_PAGE = 200
SEVERITIES = [  # most severe first: a filter shows the chosen severity and everything more severe
    ("LOGGER_SEVERITY_ERROR", "Errors"),
    ("LOGGER_SEVERITY_WARNING", "Warnings and errors"),
    ("LOGGER_SEVERITY_INFO", "Information and above"),
    ("LOGGER_SEVERITY_DEBUG", "Debug and above"),
    ("LOGGER_SEVERITY_DETAILED_DEBUG", "Everything"),
]


def _get_task(identifier: str) -> ReplicationTask:
    return get_object_or_404(ReplicationTask.objects.select_related("instance", "source", "target"),
                             identifier=identifier.lower())


def log_context(request: HttpRequest, task: ReplicationTask) -> dict:
    """The Logs tab: lines newest first, filtered by component and minimum severity, LOG_PAGE at a time."""
    component = request.GET.get("component", "")
    severity = request.GET.get("severity", "")
    lines = TaskLog.objects.filter(task=task)
    if component:
        lines = lines.filter(component=component)
    names = [name for name, _ in SEVERITIES]
    if severity in names:
        lines = lines.filter(severity__in=names[:names.index(severity) + 1])
    before = request.GET.get("before", "")
    if before.isdigit():
        lines = lines.filter(id__lt=int(before))
    page = list(lines.order_by("-id")[:LOG_PAGE + 1])
    return {"task": task, "log_lines": page[:LOG_PAGE], "log_more": page[LOG_PAGE - 1].id if len(page) > LOG_PAGE
            else None, "log_component": component, "log_severity": severity,
            "log_components": [c.value for c in Component], "log_severities": SEVERITIES}


@require_GET
@viewer_required
def task_log(request: HttpRequest, identifier: str) -> HttpResponse:
    task = _get_task(identifier)
    if request.htmx:
        return render(request, "tasks/_task_log.html", log_context(request, task))
    query = request.GET.copy()
    query["tab"] = "logs"
    return redirect(f"{task_detail_url(task)}?{query.urlencode()}#logs")


def task_detail_url(task: ReplicationTask) -> str:
    from django.urls import reverse

    return reverse("task-detail", args=[task.identifier])


def _act(request: HttpRequest, task: ReplicationTask, action, *args, done: str) -> HttpResponse:
    try:
        action(task, *args, request) if args else action(task, request)
    except actions.ActionRefused as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(actions.validation_messages(exc)))
    else:
        messages.success(request, done)
    return redirect("task-detail", identifier=task.identifier)


@require_POST
@operator_required
def task_start(request: HttpRequest, identifier: str) -> HttpResponse:
    task = _get_task(identifier)
    start_type = request.POST.get("start_type", StartType.START)
    if start_type not in StartType.values:
        messages.error(request, f"Unknown start type {start_type!r}.")
        return redirect("task-detail", identifier=task.identifier)
    label = StartType(start_type).label
    return _act(request, task, actions.start_task, start_type, done=f"{label} requested for {task.identifier}.")


@require_POST
@operator_required
def task_stop(request: HttpRequest, identifier: str) -> HttpResponse:
    task = _get_task(identifier)
    return _act(request, task, actions.stop_task, done=f"Stop requested for {task.identifier}.")


@require_POST
@operator_required
def task_reload_tables(request: HttpRequest, identifier: str) -> HttpResponse:
    task = _get_task(identifier)
    try:
        tables = [tuple(json.loads(value)) for value in request.POST.getlist("table")]
    except (ValueError, TypeError):
        tables = []
    return _act(request, task, actions.reload_tables, tables, done=f"Reload requested for {len(tables)} table(s).")


@require_POST
@administrator_required
def task_delete(request: HttpRequest, identifier: str) -> HttpResponse:
    task = _get_task(identifier)
    try:
        actions.delete_task(task, request)
    except actions.ActionRefused as exc:
        messages.error(request, str(exc))
        return redirect("task-detail", identifier=task.identifier)
    messages.success(request, f"Task {task.identifier} is being deleted.")
    return redirect("task-list")
