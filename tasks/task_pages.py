"""The Database migration tasks list and the task page with its tabs.

The actions themselves are tasks.task_views' POST endpoints (tasks.actions decides);
these pages only show what the user's role and the task's status allow, and say what
each action will do before it is confirmed. Live monitoring (monitoring.live) pushes the
status, progress, table counters, latency and Table statistics cells over websockets; the
list and a busy task's status head also poll with htmx, which brings new tasks and the
action buttons a new status allows, and keeps pages current where websockets do not reach.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from dmsconsole.access import viewer_required
from dmsconsole.roles import role_of
from endpoints.models import Endpoint
from monitoring.live import latency_of
from tasks.engine.settings import parse_task_settings

from . import actions
from .arns import task_arn
from .mapping_text import describe_rules
from .models import MigrationType, ReplicationInstance, ReplicationTask, Status
from .models.task import ACTIVE_STATUSES
from .task_views import log_context
from .wizard_settings import PREP_MODE_HELP, PREP_MODES

POLL_ACTIVE = 3  # seconds between refreshes while a listed task is at work
POLL_IDLE = 15  # seconds between refreshes otherwise (another user may start a task)
TABS = (("overview", "Overview"), ("table-statistics", "Table statistics"), ("monitoring", "Monitoring"),
        ("mapping-rules", "Mapping rules"), ("logs", "Logs"))
BUSY_STATUSES = (*ACTIVE_STATUSES, Status.CREATING, Status.DELETING, Status.MODIFYING, Status.TESTING)
# The list's Type column, as short as DMS's console has it; the full label is the cell's title.
SHORT_TYPES = {MigrationType.FULL_LOAD: "Full load", MigrationType.FULL_LOAD_AND_CDC: "Full load, ongoing replication",
               MigrationType.CDC: "Replication only"}
LIST_COLUMNS_DEFERRED = ("table_mappings", "task_settings", "reload_requested", "last_failure_message",
                         "recovery_checkpoint")


# ---- the list ------------------------------------------------------------------------------------------

def list_queryset(search: str = "", status: str = "") -> QuerySet[ReplicationTask]:
    """Every column the list shows in one query: the task with its instance and endpoints, documents left out."""
    tasks = ReplicationTask.objects.select_related("instance", "source", "target").defer(*LIST_COLUMNS_DEFERRED)
    if search:
        tasks = tasks.filter(Q(identifier__icontains=search) | Q(source__identifier__icontains=search)
                             | Q(target__identifier__icontains=search) | Q(instance__identifier__icontains=search))
    if status:
        tasks = tasks.filter(status=status)
    return tasks.order_by("identifier")


def list_context(request: HttpRequest) -> dict[str, Any]:
    search = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    if status not in Status.values:
        status = ""
    rows = [{"task": t, "latency": latency_of(t), "type": SHORT_TYPES.get(t.migration_type, t.migration_type)}
            for t in list_queryset(search, status)]
    context: dict[str, Any] = {
        "rows": rows, "search": search, "status": status, "statuses": Status.choices,
        "poll_seconds": POLL_ACTIVE if any(r["task"].status in BUSY_STATUSES for r in rows) else POLL_IDLE,
    }
    if not rows and not search and not status:
        context["getting_started"] = getting_started()
    return context


def getting_started() -> dict[str, Any]:
    """What a first task needs, for the empty list."""
    instances = list(ReplicationInstance.objects.prefetch_related("workers"))
    return {
        "has_tasks": ReplicationTask.objects.exists(),
        "instances": len(instances),
        "online": sum(1 for i in instances if i.online_workers().exists()),
        "sources": Endpoint.objects.filter(endpoint_type=Endpoint.SOURCE).count(),
        "targets": Endpoint.objects.filter(endpoint_type=Endpoint.TARGET).count(),
    }


@require_GET
@viewer_required
def task_list(request: HttpRequest) -> HttpResponse:
    template = "tasks/list.html#task-table" if request.htmx else "tasks/list.html"
    return render(request, template, list_context(request))


# ---- the task page ---------------------------------------------------------------------------------------

def _get_task(identifier: str) -> ReplicationTask:
    return get_object_or_404(ReplicationTask.objects.select_related("instance", "source", "target"),
                             identifier=identifier.lower())


def allowed_actions(task: ReplicationTask, user: Any) -> dict[str, bool]:
    """Which action buttons to show: the user's role and the task's status both allow it (tasks.actions'
    own rules; the server checks them again when the button is used)."""
    role = role_of(user)
    return {name: role >= rule.role and actions.refusal(name, task) is None for name, rule in actions.RULES.items()}


def _prep_mode(task_settings: dict[str, Any]) -> tuple[str, str]:
    mode = task_settings["FullLoadSettings"].get("TargetTablePrepMode", "DROP_AND_CREATE")
    return dict(PREP_MODES).get(mode, mode), PREP_MODE_HELP.get(mode, "")


def explanations(task: ReplicationTask, document: dict[str, Any]) -> dict[str, str]:
    """What each action will do to this task, said before it is confirmed."""
    prep_label, prep_effect = _prep_mode(document)
    cdc = task.migration_type != MigrationType.FULL_LOAD
    loads = task.migration_type != MigrationType.CDC
    start = []
    if loads:
        start.append(f"Loads every selected table. Target table preparation mode is {prep_label}: {prep_effect}")
    if cdc:
        start.append("Then replicates ongoing changes until the task is stopped." if loads else
                     "Replicates changes from the CDC start point until the task is stopped.")
    return {
        "start": " ".join(start),
        "resume": ("Continues from the checkpoint: no change is applied twice or lost." if cdc else
                   "Loads again the tables whose load did not finish; finished tables are left as they are."),
        "restart": (f"Reloads every table; target rows will be dropped/truncated per the preparation mode "
                    f"({prep_label}: {prep_effect}) and capture starts again from now." if loads else
                    "Starts capturing again from the CDC start point; the checkpoint is discarded."),
        "stop": ("Stops at a transaction boundary and keeps the checkpoint, so Resume continues from it." if cdc else
                 "Stops the full load; Resume loads the unfinished tables again from their start."),
        "reload": (f"Reloads the selected tables while the others keep going; their target rows are dropped/"
                   f"truncated per the preparation mode ({prep_label})."),
        "delete": ("Deletes the task, its statistics and its log, and removes the replication slot and publication "
                   "it created on the source. Target tables and their rows stay."),
    }


def settings_summary(document: dict[str, Any]) -> list[tuple[str, str]]:
    metadata, full_load = document["TargetMetadata"], document["FullLoadSettings"]
    if metadata.get("SupportLobs") is False:
        lobs = "Don't include LOB columns"
    elif metadata.get("FullLobMode"):
        lobs = f"Full LOB mode, chunks of {metadata.get('LobChunkSize')} KB"
    else:
        lobs = f"Limited LOB mode, at most {metadata.get('LobMaxSize')} KB"
    stop = "Stop before applying cached changes" if full_load.get("StopTaskCachedChangesNotApplied") else \
        "Stop after applying cached changes" if full_load.get("StopTaskCachedChangesApplied") else "Don't stop"
    return [
        ("Target table preparation mode", _prep_mode(document)[0]),
        ("Stop task after full load completes", stop),
        ("Include LOB columns in replication", lobs),
        ("Data validation", "On" if document["ValidationSettings"].get("EnableValidation") else "Off"),
        ("CloudWatch logs", "On" if document["Logging"].get("EnableLogging") else "Off"),
        ("Batch-optimized apply", "On" if metadata.get("BatchApplyEnabled") else "Off"),
        ("Maximum number of tables to load in parallel", str(full_load.get("MaxFullLoadSubTasks"))),
        ("Commit rate during full load", str(full_load.get("CommitRate"))),
    ]


def task_context(request: HttpRequest, task: ReplicationTask, tab: str) -> dict[str, Any]:
    document = parse_task_settings(task.task_settings or None).document
    allowed = allowed_actions(task, request.user)
    context: dict[str, Any] = {
        "task": task, "tab": tab, "tabs": TABS, "allowed": allowed, "explain": explanations(task, document),
        "actions_signature": ",".join(sorted(name for name, ok in allowed.items() if ok)),
        "latency": latency_of(task), "arn": task_arn(task),
        "busy": task.status in BUSY_STATUSES, "poll_seconds": POLL_ACTIVE,
        "poll_tab": task.status in BUSY_STATUSES and tab == "overview",
    }
    if tab == "overview":
        context.update(settings_rows=settings_summary(document),
                       settings_text=json.dumps(document, indent=2, ensure_ascii=False))
    elif tab == "table-statistics":
        context["has_tables"] = task.table_statistics.exists()
        context["can_reload"] = allowed["reload"]
    elif tab == "mapping-rules":
        context.update(rules=describe_rules(task.table_mappings), mappings_text=_pretty(task.table_mappings))
    elif tab == "logs":
        context.update(log_context(request, task))
    return context


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


@require_GET
@viewer_required
def task_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    """The task page. htmx asks for parts: the tab (?tab=...), or the status head while the task is busy
    (the action buttons come along, out of band, only when what is allowed changed)."""
    task = _get_task(identifier)
    tab = request.GET.get("tab", "")
    if not tab and any(key in request.GET for key in ("component", "severity", "before")):
        tab = "logs"  # the Logs tab's own links (tasks.task_views.task_log) land here without JS
    if not tab and "window" in request.GET:
        tab = "monitoring"  # so do the Monitoring tab's (monitoring.views.task_monitoring)
    if tab not in dict(TABS):
        tab = "overview"
    context = task_context(request, task, tab)
    if request.htmx and request.GET.get("part") == "head":
        context["actions_changed"] = request.GET.get("actions", "") != context["actions_signature"]
        return render(request, "tasks/task.html#head-poll", context)
    if request.htmx and request.htmx.target == f"task-{task.pk}-tab":
        return render(request, "tasks/task.html#tab-panel", context)
    return render(request, "tasks/task.html", context)
