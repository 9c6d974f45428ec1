"""Deleting an endpoint: refused while something uses it, with the user named."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dmsconsole import usage
from dmsconsole.tests import personas
from dmsconsole.tests.fixtures import make_endpoint, make_instance
from endpoints.models import Endpoint
from tasks.models import ReplicationInstance

pytestmark = pytest.mark.django_db


@pytest.fixture
def task_using(request):
    """Registers an "in use by" provider the way the ReplicationTask model will."""
    used: dict[str, str] = {}

    def provider(obj):
        if obj.identifier in used:
            yield f"task {used[obj.identifier]}"

    usage.uses("endpoints.Endpoint")(provider)
    usage.uses("tasks.ReplicationInstance")(provider)
    yield used
    usage.unregister("endpoints.Endpoint", provider)
    usage.unregister("tasks.ReplicationInstance", provider)


def test_it_refuses_to_delete_an_endpoint_in_use_and_names_the_task(task_using):
    endpoint = make_endpoint("pg-used")
    task_using["pg-used"] = "orders-full-load"
    client = personas.client_for("administrator")
    response = client.post(reverse("endpoint-delete", args=["pg-used"]), follow=True)
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()
    assert "used by task orders-full-load" in response.content.decode()


def test_it_deletes_an_endpoint_nothing_uses(task_using):
    make_endpoint("pg-free")
    client = personas.client_for("administrator")
    response = client.post(reverse("endpoint-delete", args=["pg-free"]), follow=True)
    assert not Endpoint.objects.filter(identifier="pg-free").exists()
    assert "Endpoint pg-free deleted." in response.content.decode()


def test_it_refuses_to_delete_an_instance_in_use(task_using):
    make_instance("ri-used")
    task_using["ri-used"] = "nightly-sync"
    client = personas.client_for("administrator")
    response = client.post(reverse("instance-delete", args=["ri-used"]), follow=True)
    assert ReplicationInstance.objects.filter(identifier="ri-used").exists()
    assert "used by task nightly-sync" in response.content.decode()
