"""Replication instances: identifier rules, lower-case storage, queue naming, status from heartbeats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dmsconsole.tests import personas
from dmsconsole.tests.fixtures import make_instance
from tasks import heartbeat
from tasks.forms import ReplicationInstanceForm
from tasks.models import ReplicationInstance, Worker
from tasks.queues import instance_from_queue, queue_name

pytestmark = pytest.mark.django_db


def _form(**overrides) -> ReplicationInstanceForm:
    data = {"identifier": "Demo-Instance", "instance_class": "dms.t3.medium", "allocated_storage_gb": "50",
            "description": ""}
    data.update(overrides)
    return ReplicationInstanceForm(data=data)


def test_it_stores_the_identifier_lower_case():
    form = _form()
    assert form.is_valid(), form.errors
    assert form.save().identifier == "demo-instance"


@pytest.mark.parametrize(("identifier", "reason"), [
    ("a" * 64, "at most 63"), ("9lives", "start with a letter"), ("x-", "end with a hyphen"),
    ("x--y", "two hyphens"), ("x.y", "only letters, digits and hyphens"),
])
def test_it_refuses_identifiers_that_break_the_dms_rules(identifier, reason):
    form = _form(identifier=identifier)
    assert not form.is_valid()
    assert reason in " ".join(form.errors["identifier"])


def test_it_refuses_a_duplicate_whatever_its_case():
    make_instance("demo-instance")
    form = _form(identifier="DEMO-instance")
    assert not form.is_valid()
    assert "already exists" in " ".join(form.errors["identifier"])


def test_it_names_one_queue_per_instance():
    assert queue_name("Demo-Instance") == "dms.instance.demo-instance"
    assert instance_from_queue("dms.instance.demo-instance") == "demo-instance"
    assert instance_from_queue("dms.control") is None
    assert make_instance("ri-q").queue == "dms.instance.ri-q"


def test_it_is_available_only_while_a_worker_beats(settings):
    settings.DMS_HEARTBEAT_SECONDS = 5
    instance = make_instance("ri-beat")
    assert instance.status == "unavailable"
    assert heartbeat.beat("ri-beat@host-1", 4242, ["ri-beat", "ri-missing"], started=True) == ["ri-missing"]
    assert instance.status == "available"
    assert [w.hostname for w in instance.online_workers()] == ["ri-beat@host-1"]
    Worker.objects.update(last_seen=timezone.now() - timedelta(seconds=16))
    assert instance.status == "unavailable"
    heartbeat.beat("ri-beat@host-1", 4242, ["ri-beat"])
    heartbeat.stopped("ri-beat@host-1", ["ri-beat"])
    assert instance.status == "unavailable"


def test_it_lists_online_workers_and_availability_on_the_page():
    make_instance("ri-page")
    heartbeat.beat("ri-page@box", 99, ["ri-page"], started=True)
    make_instance("ri-idle")
    page = personas.client_for("viewer").get(reverse("instance-list")).content.decode()
    assert "ri-page@box" in page
    assert page.count("available</span>") == 2  # "available" and "unavailable"
    assert "python manage.py dms worker --instance ri-idle" in page


def test_it_creates_an_instance_from_the_page_and_audits_it():
    client = personas.client_for("administrator")
    response = client.post(reverse("instance-create"), {"identifier": "New-RI", "instance_class": "dms.c5.large",
                                                        "allocated_storage_gb": "100", "multi_az": "on"})
    assert response.status_code == 302
    instance = ReplicationInstance.objects.get()
    assert (instance.identifier, instance.allocated_storage_gb, instance.multi_az) == ("new-ri", 100, True)
    assert instance.spool_limit_bytes == 100 * 1024**3
    from dmsconsole.models import AuditEntry
    assert AuditEntry.objects.filter(action="instance.create", target="replication instance new-ri").exists()


def test_it_shows_an_empty_state_that_says_what_to_do():
    page = personas.client_for("administrator").get(reverse("instance-list")).content.decode()
    assert "No replication instances yet." in page and "Create one" in page
