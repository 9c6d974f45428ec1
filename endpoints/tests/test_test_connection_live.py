"""Test connection through a real Celery worker on the real Redis, against real PostgreSQL and MariaDB.

Each test creates a replication instance with a unique name (so a unique queue) and
starts `python manage.py dms worker --instance NAME` as a subprocess.
"""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from dmsconsole.tests import personas
from dmsconsole.tests.fixtures import make_endpoint, make_instance, unique
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.models import Connection
from tasks.tests.workers import running_worker

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def _endpoint_from_url(url: str, *, identifier: str, endpoint_type: str = "source", **overrides):
    info = ConnectionInfo.from_url(url)
    fields = {"endpoint_type": endpoint_type, "engine": info.engine, "server_name": info.host, "port": info.port,
              "database_name": info.database, "username": info.username}
    fields.update(overrides)
    password = fields.pop("password", info.password)
    return make_endpoint(identifier, password=password, **fields)


def _test_and_wait(client, endpoint, instance, timeout: float = 60.0) -> Connection:
    response = client.post(reverse("endpoint-test", args=[endpoint.identifier]), {"instance": instance.identifier},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="endpoint-{endpoint.pk}-connections"' in response.content.decode()
    deadline = time.monotonic() + timeout
    while True:
        # The page polls this partial while the test runs; do the same.
        connection = Connection.objects.get(endpoint=endpoint, instance=instance)
        page = client.get(reverse("endpoint-connections", args=[endpoint.identifier]), HTTP_HX_REQUEST="true")
        if connection.status != Connection.TESTING:
            assert connection.status in page.content.decode()
            return connection
        if "testing</span>" in page.content.decode():
            assert "hx-trigger" in page.content.decode()  # the page keeps polling while it shows "testing"
        assert time.monotonic() < deadline, "the test connection never finished"
        time.sleep(0.3)


@pytest.fixture
def instance_with_worker(tmp_path):
    instance = make_instance(unique("it"))
    with running_worker(instance.identifier, tmp_path / "worker.log"):
        yield instance


def test_it_tests_postgresql_and_mariadb_through_a_real_worker(instance_with_worker, pg_database, mysql_database):
    client = personas.client_for("operator")
    instance = instance_with_worker

    pg_good = _endpoint_from_url(pg_database(), identifier="pg-good")
    pg_bad_password = _endpoint_from_url(pg_database(), identifier="pg-bad-password", username="dms_pwcheck",
                                         password="wrong-password")
    pg_no_db = _endpoint_from_url(pg_database(), identifier="pg-no-db", database_name="dmst_does_not_exist")
    my_good = _endpoint_from_url(mysql_database(), identifier="my-good", endpoint_type="target")
    my_bad_password = _endpoint_from_url(mysql_database(), identifier="my-bad-password", endpoint_type="target",
                                         username="dms_no_such_user", password="wrong")
    closed_port = _endpoint_from_url(pg_database(), identifier="pg-closed-port", port=1)

    ok = _test_and_wait(client, pg_good, instance)
    assert ok.status == "successful", ok.message
    assert "PostgreSQL" in ok.server_version or ok.server_version[:2].isdigit()
    assert ok.picked_up_by.startswith(instance.identifier)
    assert ok.finished_at is not None

    bad = _test_and_wait(client, pg_bad_password, instance)
    assert bad.status == "failed"
    assert "password" in bad.message.lower()

    no_db = _test_and_wait(client, pg_no_db, instance)
    assert no_db.status == "failed"
    assert "dmst_does_not_exist" in no_db.message

    unreachable = _test_and_wait(client, closed_port, instance)
    assert unreachable.status == "failed"
    assert unreachable.message

    my_ok = _test_and_wait(client, my_good, instance)
    assert my_ok.status == "successful", my_ok.message
    assert my_ok.server_version

    my_bad = _test_and_wait(client, my_bad_password, instance)
    assert my_bad.status == "failed"
    assert "dms_no_such_user" in my_bad.message or "password" in my_bad.message.lower()

    page = client.get(reverse("endpoint-list")).content.decode()
    assert page.count("successful</span>") == 2 and page.count("failed</span>") == 4


def test_it_says_plainly_when_no_worker_of_the_instance_answers(settings, pg_database):
    settings.DMS_TEST_CONNECTION_TIMEOUT = 2
    instance = make_instance(unique("it-idle"))
    endpoint = _endpoint_from_url(pg_database(), identifier="pg-unanswered")
    client = personas.client_for("administrator")
    connection = _test_and_wait(client, endpoint, instance, timeout=20)
    assert connection.status == "failed"
    assert connection.message == (
        f"No worker of instance {instance.identifier} answered within 2 s: start one with "
        f"python manage.py dms worker --instance {instance.identifier}")


def test_it_reports_an_unreachable_sql_server_cleanly_through_the_odbc_driver(instance_with_worker):
    from endpoints.engines.registry import get_engine

    try:
        get_engine("sqlserver")
    except Exception as exc:  # the SQL Server engine (another issue) has not landed in this tree yet
        pytest.skip(f"SQL Server engine not available: {exc}")
    instance = instance_with_worker
    # 127.0.0.1:1 refuses at once: the driver path runs up to the network and reports it.
    endpoint = make_endpoint("mssql-unreachable", engine="sqlserver", server_name="127.0.0.1", port=1,
                             database_name="master", username="sa", password="Not-Used-1")
    connection = _test_and_wait(personas.client_for("operator"), endpoint, instance)
    assert connection.status == "failed"
    assert "127.0.0.1" in connection.message and "SQL Server" in connection.message
    assert "Unexpected error" not in connection.message
