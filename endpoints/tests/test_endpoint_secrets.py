"""Endpoint passwords: encrypted at rest, never sent back to the browser, blank means unchanged."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.urls import reverse

from dmsconsole.models import AuditEntry
from dmsconsole.tests import personas
from endpoints import crypto
from endpoints.models import Endpoint

pytestmark = pytest.mark.django_db

SECRET = "Plain-Text-Secret-4711"


def _create(client, **overrides):
    data = {"endpoint_type": "target", "identifier": "secret-target", "engine": "mysql", "server_name": "db.example",
            "port": "3306", "database_name": "app", "username": "dms", "password": SECRET, "ssl_mode": "none",
            "ca_certificate": "", "extra_connection_attributes": ""}
    data.update(overrides)
    return client.post(reverse("endpoint-create"), data)


def _raw_row(identifier: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM endpoints_endpoint WHERE identifier = %s", [identifier])
        row = cursor.fetchone()
    assert row is not None
    return " ".join(str(value) for value in row)


def test_it_stores_no_plaintext_password_in_the_database_row(caplog):
    caplog.set_level(logging.DEBUG)
    client = personas.client_for("administrator")
    assert _create(client).status_code == 302
    raw = _raw_row("secret-target")
    assert SECRET not in raw
    assert SECRET.encode().hex() not in raw
    endpoint = Endpoint.objects.get(identifier="secret-target")
    assert endpoint.password_encrypted.startswith("gAAAAA")  # a Fernet token
    assert endpoint.decrypted_password() == SECRET
    assert SECRET not in caplog.text  # never logged
    assert not any(SECRET in (e.detail + e.target) for e in AuditEntry.objects.all())


def test_it_never_sends_the_password_back_to_the_browser():
    client = personas.client_for("administrator")
    _create(client)
    for url in (reverse("endpoint-list"), reverse("endpoint-detail", args=["secret-target"]),
                reverse("endpoint-edit", args=["secret-target"])):
        page = client.get(url).content.decode()
        assert SECRET not in page, url
        assert Endpoint.objects.get().password_encrypted not in page, url


def test_it_keeps_the_password_when_the_edit_form_leaves_it_blank():
    client = personas.client_for("administrator")
    _create(client)
    token = Endpoint.objects.get().password_encrypted
    response = client.post(reverse("endpoint-edit", args=["secret-target"]), {
        "endpoint_type": "target", "identifier": "secret-target", "engine": "mysql", "server_name": "other.example",
        "port": "3306", "database_name": "app", "username": "dms", "password": "", "ssl_mode": "none",
        "ca_certificate": "", "extra_connection_attributes": ""})
    assert response.status_code == 302
    endpoint = Endpoint.objects.get()
    assert endpoint.server_name == "other.example"
    assert endpoint.password_encrypted == token
    assert endpoint.decrypted_password() == SECRET


def test_it_replaces_or_removes_the_password_when_asked():
    client = personas.client_for("administrator")
    _create(client)
    base = {"endpoint_type": "target", "identifier": "secret-target", "engine": "mysql", "server_name": "db.example",
            "port": "3306", "database_name": "app", "username": "dms", "ssl_mode": "none",
            "ca_certificate": "", "extra_connection_attributes": ""}
    client.post(reverse("endpoint-edit", args=["secret-target"]), {**base, "password": "new-one"})
    assert Endpoint.objects.get().decrypted_password() == "new-one"
    client.post(reverse("endpoint-edit", args=["secret-target"]), {**base, "password": "", "clear_password": "on"})
    assert not Endpoint.objects.get().has_password
    entry = AuditEntry.objects.filter(action="endpoint.modify").first()
    assert "password" in entry.detail and "new-one" not in entry.detail


def test_it_says_plainly_when_the_encryption_key_changed(settings):
    client = personas.client_for("administrator")
    _create(client)
    settings.DMS_ENCRYPTION_KEY = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE="
    with pytest.raises(crypto.SecretUnreadable, match="enter the password again"):
        Endpoint.objects.get().decrypted_password()
