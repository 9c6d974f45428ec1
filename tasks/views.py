"""Replication instance pages (the task pages are tasks.task_pages and the wizard's modules)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dmsconsole.access import administrator_required, viewer_required
from dmsconsole.usage import InUseError, in_use_by

from . import services
from .forms import ReplicationInstanceForm
from .models import ReplicationInstance


def _get_instance(identifier: str) -> ReplicationInstance:
    return get_object_or_404(ReplicationInstance, identifier=identifier.lower())


def instance_rows_context() -> dict:
    instances = list(ReplicationInstance.objects.prefetch_related("workers"))
    return {"instances": instances}


@require_GET
@viewer_required
def instance_list(request: HttpRequest) -> HttpResponse:
    template = "instances/list.html#instance-rows" if request.htmx else "instances/list.html"
    return render(request, template, instance_rows_context())


@require_http_methods(["GET", "POST"])
@administrator_required
def instance_create(request: HttpRequest) -> HttpResponse:
    form = ReplicationInstanceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        instance = services.save_instance(form, request)
        messages.success(request, f"Replication instance {instance.identifier} created. Start a worker for it: "
                                  f"python manage.py dms worker --instance {instance.identifier}")
        return redirect("instance-detail", identifier=instance.identifier)
    return render(request, "instances/form.html", {"form": form, "creating": True})


@require_GET
@viewer_required
def instance_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    instance = _get_instance(identifier)
    template = "instances/detail.html#workers" if request.htmx else "instances/detail.html"
    return render(request, template, {"instance": instance, "workers": instance.workers.all(),
                                      "used_by": in_use_by(instance)})


@require_http_methods(["GET", "POST"])
@administrator_required
def instance_edit(request: HttpRequest, identifier: str) -> HttpResponse:
    instance = _get_instance(identifier)
    form = ReplicationInstanceForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        services.save_instance(form, request)
        messages.success(request, f"Replication instance {instance.identifier} modified.")
        return redirect("instance-detail", identifier=instance.identifier)
    return render(request, "instances/form.html", {"form": form, "creating": False, "instance": instance})


@require_POST
@administrator_required
def instance_delete(request: HttpRequest, identifier: str) -> HttpResponse:
    instance = _get_instance(identifier)
    try:
        services.delete_instance(instance, request)
    except InUseError as exc:
        messages.error(request, str(exc))
        return redirect("instance-detail", identifier=instance.identifier)
    messages.success(request, f"Replication instance {identifier} deleted.")
    return redirect("instance-list")

