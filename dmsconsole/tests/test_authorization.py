"""The authorization matrix: every role x every action, by HTTP, including forged POSTs.

Pages hide what a role cannot do, but the server is what refuses: each forbidden
request below is sent as a forged request and must get 403 and change nothing.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.urls import reverse

from dmsconsole.models import AuditEntry
from dmsconsole.tests import personas
from dmsconsole.tests.fixtures import make_endpoint, make_instance
from endpoints.models import Connection, Endpoint
from tasks.models import ReplicationInstance

pytestmark = pytest.mark.django_db

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "administrator"
RANK = {"anonymous": -1, None: 0, VIEWER: 1, OPERATOR: 2, ADMIN: 3}
PERSONAS = ["anonymous", None, VIEWER, OPERATOR, ADMIN]


def _endpoint_form(identifier: str) -> dict:
    return {"endpoint_type": "source", "identifier": identifier, "engine": "postgres", "server_name": "db.example",
            "port": "5432", "database_name": "app", "username": "dms", "password": "s3cret", "ssl_mode": "none",
            "ca_certificate": "", "extra_connection_attributes": ""}


def _instance_form(identifier: str) -> dict:
    return {"identifier": identifier, "description": "", "instance_class": "dms.t3.medium",
            "allocated_storage_gb": "50"}


# (name, minimum role, method, url builder, data builder, check that nothing changed)
ACTIONS = [
    ("view dashboard", VIEWER, "get", lambda w: reverse("dashboard"), None),
    ("list instances", VIEWER, "get", lambda w: reverse("instance-list"), None),
    ("view instance", VIEWER, "get", lambda w: reverse("instance-detail", args=[w["instance"].identifier]), None),
    ("list endpoints", VIEWER, "get", lambda w: reverse("endpoint-list"), None),
    ("view endpoint", VIEWER, "get", lambda w: reverse("endpoint-detail", args=[w["endpoint"].identifier]), None),
    ("poll connections", VIEWER, "get",
     lambda w: reverse("endpoint-connections", args=[w["endpoint"].identifier]), None),
    ("list tasks", VIEWER, "get", lambda w: reverse("task-list"), None),
    ("test connection", OPERATOR, "post", lambda w: reverse("endpoint-test", args=[w["endpoint"].identifier]),
     lambda w: {"instance": w["instance"].identifier}),
    ("view audit log", ADMIN, "get", lambda w: reverse("audit-log"), None),
    ("open create-instance form", ADMIN, "get", lambda w: reverse("instance-create"), None),
    ("create instance", ADMIN, "post", lambda w: reverse("instance-create"), lambda w: _instance_form("ri-new")),
    ("modify instance", ADMIN, "post", lambda w: reverse("instance-edit", args=[w["instance"].identifier]),
     lambda w: {**_instance_form(w["instance"].identifier), "allocated_storage_gb": "99"}),
    ("delete instance", ADMIN, "post", lambda w: reverse("instance-delete", args=[w["spare_instance"].identifier]),
     lambda w: {}),
    ("open create-endpoint form", ADMIN, "get", lambda w: reverse("endpoint-create"), None),
    ("create endpoint", ADMIN, "post", lambda w: reverse("endpoint-create"), lambda w: _endpoint_form("ep-new")),
    ("modify endpoint", ADMIN, "post", lambda w: reverse("endpoint-edit", args=[w["endpoint"].identifier]),
     lambda w: {**_endpoint_form(w["endpoint"].identifier), "server_name": "changed.example", "password": ""}),
    ("delete endpoint", ADMIN, "post", lambda w: reverse("endpoint-delete", args=[w["spare_endpoint"].identifier]),
     lambda w: {}),
]


def _world() -> dict:
    return {"instance": make_instance("ri-main"), "spare_instance": make_instance("ri-spare"),
            "endpoint": make_endpoint("ep-main"), "spare_endpoint": make_endpoint("ep-spare")}


def _state() -> tuple:
    """Everything an action could change, to show a refused action changed nothing."""
    return (
        sorted(ReplicationInstance.objects.values_list("identifier", "allocated_storage_gb")),
        sorted(Endpoint.objects.values_list("identifier", "server_name", "password_encrypted")),
        Connection.objects.count(),
    )


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p or "no-role")
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a[0])
def test_it_enforces_each_role_for_each_action(persona, action):
    name, minimum, method, url_for, data_for = action
    world = _world()
    client = personas.client_for(persona, enforce_csrf_checks=False)
    before = _state()
    url = url_for(world)
    response = getattr(client, method)(url, data_for(world) if data_for else None)

    if persona == "anonymous":
        assert response.status_code == 302
        assert urlparse(response["Location"]).path == reverse("login")
        assert _state() == before
    elif RANK[persona] < RANK[minimum]:
        assert response.status_code == 403, f"{persona} may not {name}"
        assert _state() == before, f"a refused {name} by {persona} changed something"
    else:
        assert response.status_code in (200, 302), f"{persona} may {name}: got {response.status_code}"
        if method == "post":
            assert _state() != before, f"{name} by {persona} changed nothing"


def test_it_refuses_a_forged_csrf_less_post_from_an_administrator():
    client = personas.client_for(ADMIN, enforce_csrf_checks=True)
    response = client.post(reverse("endpoint-create"), _endpoint_form("ep-forged"))
    assert response.status_code == 403
    assert not Endpoint.objects.filter(identifier="ep-forged").exists()


def test_it_hides_what_each_role_cannot_do():
    world = _world()
    pages = {role: personas.client_for(role).get(reverse("endpoint-list")).content.decode() for role in
             (VIEWER, OPERATOR, ADMIN)}
    assert "Create endpoint" not in pages[VIEWER] and "Test connection</button>" not in pages[VIEWER]
    assert "Create endpoint" not in pages[OPERATOR] and "Test connection</button>" in pages[OPERATOR]
    assert "Create endpoint" in pages[ADMIN] and "Test connection</button>" in pages[ADMIN]
    detail = reverse("endpoint-detail", args=[world["endpoint"].identifier])
    assert "Modify</a>" not in personas.client_for(OPERATOR).get(detail).content.decode()
    assert "Modify</a>" in personas.client_for(ADMIN).get(detail).content.decode()
    assert "Audit log</a>" not in pages[OPERATOR] and "Audit log</a>" in pages[ADMIN]


def test_it_writes_an_audit_row_with_who_what_and_where_for_each_change():
    client = personas.client_for(ADMIN, REMOTE_ADDR="203.0.113.7")
    client.post(reverse("endpoint-create"), _endpoint_form("ep-audited"))
    entry = AuditEntry.objects.filter(action="endpoint.create").get()
    assert entry.target == "endpoint ep-audited"
    assert entry.username.startswith("administrator-")
    assert entry.ip == "203.0.113.7"
    assert entry.at is not None
    assert "s3cret" not in entry.detail


def test_it_records_sign_in_with_the_client_address():
    user = personas.make_user(VIEWER)
    client = personas.Client(REMOTE_ADDR="198.51.100.4")
    response = client.post(reverse("login"), {"username": user.username, "password": personas.PASSWORD})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="user.sign-in")
    assert (entry.username, entry.ip) == (user.username, "198.51.100.4")
