"""Console pages that belong to no app: dashboard, audit log, health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .access import administrator_required, viewer_required
from .models import AuditEntry

AUDIT_PAGE_SIZE = 50


@require_GET
@viewer_required
def dashboard(request: HttpRequest) -> HttpResponse:
    from endpoints.models import Connection, Endpoint
    from tasks.models import ReplicationInstance, ReplicationTask

    instances = list(ReplicationInstance.objects.all())
    context = {
        "instances": instances,
        "instances_available": sum(1 for i in instances if i.status == "available"),
        "source_count": Endpoint.objects.filter(endpoint_type=Endpoint.SOURCE).count(),
        "target_count": Endpoint.objects.filter(endpoint_type=Endpoint.TARGET).count(),
        "tested_count": Connection.objects.filter(status=Connection.SUCCESSFUL)
                                          .values("endpoint").distinct().count(),
        "task_count": ReplicationTask.objects.count(),
        "tasks_running": ReplicationTask.objects.filter(status="running").count(),
    }
    return render(request, "dashboard.html", context)


@require_GET
@administrator_required
def audit_log(request: HttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.select_related("user")
    action = request.GET.get("action", "").strip()
    if action:
        entries = entries.filter(action__startswith=action)
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "audit.html", {"page": page, "action": action})


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})
