"""Endpoint validation: DMS identifier rules, engines, ports, SSL, extra connection attributes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dmsconsole.tests import personas
from dmsconsole.tests.fixtures import make_endpoint
from endpoints.forms import EndpointForm
from endpoints.models import Endpoint

pytestmark = pytest.mark.django_db

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"


def _data(**overrides) -> dict:
    data = {"endpoint_type": "source", "identifier": "pg-source", "engine": "postgres", "server_name": "db.example",
            "port": "", "database_name": "app", "username": "dms", "password": "pw", "ssl_mode": "none",
            "ca_certificate": "", "extra_connection_attributes": ""}
    data.update(overrides)
    return data


def _errors(**overrides) -> dict:
    form = EndpointForm(data=_data(**overrides))
    assert not form.is_valid()
    return form.errors


@pytest.mark.parametrize(("identifier", "reason"), [
    ("", "This field is required."),
    ("1abc", "must start with a letter"),
    ("-abc", "must start with a letter"),
    ("abc-", "must not end with a hyphen"),
    ("ab--c", "two hyphens in a row"),
    ("ab_c", "only letters, digits and hyphens"),
    ("ab c", "only letters, digits and hyphens"),
    ("é-source", "only letters, digits and hyphens"),
    ("a" * 256, "at most 255 characters"),
])
def test_it_refuses_identifiers_that_break_the_dms_rules(identifier, reason):
    errors = _errors(identifier=identifier)
    assert reason in " ".join(errors["identifier"])


@pytest.mark.parametrize("identifier", ["a", "A1", "pg-source-2", "a" * 255, "Mixed-Case-9"])
def test_it_accepts_identifiers_within_the_dms_rules(identifier):
    form = EndpointForm(data=_data(identifier=identifier))
    assert form.is_valid(), form.errors


def test_it_refuses_a_duplicate_identifier_whatever_its_case():
    make_endpoint("pg-source")
    assert "already exists" in " ".join(_errors(identifier="PG-Source")["identifier"])


def test_it_lists_oracle_but_refuses_it_as_not_yet_supported():
    client = personas.client_for("administrator")
    page = client.get(reverse("endpoint-create")).content.decode()
    assert 'value="oracle" disabled' in page
    assert 'value="sqlserver"' in page
    assert "not supported yet" in " ".join(_errors(engine="oracle")["engine"])


@pytest.mark.parametrize(("engine", "port"), [("postgres", 5432), ("mysql", 3306), ("mariadb", 3306)])
def test_it_uses_the_engines_default_port_when_port_is_blank(engine, port):
    form = EndpointForm(data=_data(engine=engine))
    assert form.is_valid(), form.errors
    assert form.save().port == port


def test_it_refuses_a_port_out_of_range():
    assert "65535" in " ".join(_errors(port="70000")["port"])


@pytest.mark.parametrize("mode", ["verify-ca", "verify-full"])
def test_it_needs_a_ca_certificate_for_verifying_ssl_modes(mode):
    assert "CA certificate" in " ".join(_errors(ssl_mode=mode)["ca_certificate"])
    assert EndpointForm(data=_data(ssl_mode=mode, ca_certificate=PEM)).is_valid()


def test_it_refuses_a_ca_certificate_that_is_not_pem():
    assert "not a PEM certificate" in " ".join(_errors(ssl_mode="verify-ca", ca_certificate="hello")["ca_certificate"])


def test_it_refuses_an_unknown_ssl_mode():
    assert "ssl_mode" in _errors(ssl_mode="prefer")


def test_it_names_unknown_extra_connection_attributes():
    errors = " ".join(_errors(extra_connection_attributes="slotName=s1;bogusKey=1;otherBad=2")
                      ["extra_connection_attributes"])
    assert "unknown attribute 'bogusKey'" in errors
    assert "unknown attribute 'otherBad'" in errors
    assert "slotName" in errors  # the accepted list is shown


def test_it_refuses_an_attribute_that_is_not_key_value():
    errors = " ".join(_errors(extra_connection_attributes="slotName")["extra_connection_attributes"])
    assert "is not key=value" in errors


def test_it_stores_known_attributes_in_their_canonical_spelling():
    form = EndpointForm(data=_data(extra_connection_attributes=" slotname = my_slot ; heartbeatEnable=Y;"))
    assert form.is_valid(), form.errors
    endpoint = form.save()
    assert endpoint.extra_connection_attributes == "slotName=my_slot;heartbeatEnable=Y"
    assert dict(endpoint.connection_info().extra) == {"slotName": "my_slot", "heartbeatEnable": "Y"}


def test_it_shows_validation_errors_on_the_page_and_creates_nothing():
    client = personas.client_for("administrator")
    response = client.post(reverse("endpoint-create"), _data(identifier="bad--name", extra_connection_attributes="x=1"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "two hyphens in a row" in page and "unknown attribute &#x27;x&#x27;" in page
    assert not Endpoint.objects.exists()


def test_it_builds_the_engines_connection_info_with_the_decrypted_password():
    form = EndpointForm(data=_data(password="p@ss;word", ssl_mode="require"))
    assert form.is_valid(), form.errors
    info = Endpoint.objects.get(pk=form.save().pk).connection_info()
    assert (info.engine, info.host, info.port, info.database, info.username, info.password, info.ssl_mode) == \
        ("postgres", "db.example", 5432, "app", "dms", "p@ss;word", "require")
    assert "p@ss" not in repr(info)


def test_it_offers_exactly_source_and_target_as_endpoint_types():
    assert list(EndpointForm().fields["endpoint_type"].choices) == [("source", "Source"), ("target", "Target")]
    assert "endpoint_type" in _errors(endpoint_type="")
