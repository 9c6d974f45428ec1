"""Endpoint pages: list, create, detail, modify, delete, and Test connection (htmx partials)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dmsconsole.access import administrator_required, operator_required, viewer_required
from dmsconsole.usage import InUseError, in_use_by

from . import services
from .engines.registry import ENGINES
from .forms import EndpointForm, TestConnectionForm
from .models import Endpoint, accepted_attributes


def _get_endpoint(identifier: str) -> Endpoint:
    return get_object_or_404(Endpoint, identifier__iexact=identifier)


def _connections_context(endpoint: Endpoint) -> dict:
    connections = [services.refresh_connection(c) for c in endpoint.connections.select_related("instance")]
    return {"endpoint": endpoint, "connections": connections, "test_form": TestConnectionForm()}


@require_GET
@viewer_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = list(Endpoint.objects.all())
    rows = [_connections_context(e) for e in endpoints]
    from tasks.models import ReplicationInstance

    return render(request, "endpoints/list.html", {
        "rows": rows, "has_instances": ReplicationInstance.objects.exists(), "test_form": TestConnectionForm(),
    })


@require_http_methods(["GET", "POST"])
@administrator_required
def endpoint_create(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None, initial={"endpoint_type": Endpoint.SOURCE, "ssl_mode": "none"})
    if request.method == "POST" and form.is_valid():
        endpoint = services.save_endpoint(form, request)
        messages.success(request, f"Endpoint {endpoint.identifier} created. Test its connection from a "
                                  "replication instance before using it in a task.")
        return redirect("endpoint-list")
    return render(request, "endpoints/form.html", {"form": form, "creating": True, **_hints(form)})


@require_GET
@viewer_required
def endpoint_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    endpoint = _get_endpoint(identifier)
    return render(request, "endpoints/detail.html", {**_connections_context(endpoint),
                                                     "used_by": in_use_by(endpoint)})


@require_http_methods(["GET", "POST"])
@administrator_required
def endpoint_edit(request: HttpRequest, identifier: str) -> HttpResponse:
    endpoint = _get_endpoint(identifier)
    form = EndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        services.save_endpoint(form, request)
        messages.success(request, f"Endpoint {endpoint.identifier} modified.")
        return redirect("endpoint-detail", identifier=endpoint.identifier)
    return render(request, "endpoints/form.html", {"form": form, "creating": False, "endpoint": endpoint,
                                                   **_hints(form)})


@require_POST
@administrator_required
def endpoint_delete(request: HttpRequest, identifier: str) -> HttpResponse:
    endpoint = _get_endpoint(identifier)
    try:
        services.delete_endpoint(endpoint, request)
    except InUseError as exc:
        messages.error(request, str(exc))
        return redirect("endpoint-detail", identifier=endpoint.identifier)
    messages.success(request, f"Endpoint {identifier} deleted.")
    return redirect("endpoint-list")


@require_POST
@operator_required
def endpoint_test(request: HttpRequest, identifier: str) -> HttpResponse:
    endpoint = _get_endpoint(identifier)
    form = TestConnectionForm(request.POST)
    if form.is_valid():
        services.start_connection_test(endpoint, form.cleaned_data["instance"], request)
    elif not request.htmx:
        messages.error(request, "Choose a replication instance to test from.")
    if request.htmx:
        return render(request, "endpoints/list.html#connections", _connections_context(endpoint))
    return redirect("endpoint-detail", identifier=endpoint.identifier)


@require_GET
@viewer_required
def endpoint_connections(request: HttpRequest, identifier: str) -> HttpResponse:
    """The connection results of one endpoint; polled by the page while a test is running."""
    endpoint = _get_endpoint(identifier)
    return render(request, "endpoints/list.html#connections", _connections_context(endpoint))


@require_GET
@administrator_required
def engine_hints(request: HttpRequest) -> HttpResponse:
    return render(request, "endpoints/form.html#engine-hints", _hints_for(request.GET.get("engine", "")))


def _hints(form: EndpointForm) -> dict:
    engine = form["engine"].value() or ""
    return _hints_for(str(engine))


def _hints_for(engine: str) -> dict:
    spec = ENGINES.get(engine)
    if spec is None:
        return {"engine_spec": None, "engine_attributes": None}
    attributes = accepted_attributes(engine) if spec.path else None
    return {"engine_spec": spec, "engine_attributes": sorted(attributes.items()) if attributes else attributes}

