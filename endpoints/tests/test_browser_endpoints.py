"""In Debian's Chromium: sign in, create a PostgreSQL source endpoint, Test connection, see it succeed.

A live server serves the console; a real worker serves the replication instance. The
endpoints page is saved as docs/screenshots/endpoints.png, which the README shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dmsconsole.tests import personas
from dmsconsole.tests.browser import chromium
from dmsconsole.tests.fixtures import make_instance, unique
from dmsconsole.tests.screenshots import screenshot_path
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.models import Connection, Endpoint
from tasks.tests.workers import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def browser_page():
    with chromium() as browser:
        yield browser.new_page(viewport={"width": 1440, "height": 860})


def test_it_signs_in_creates_a_postgresql_source_and_tests_its_connection(live_server, browser_page, pg_database,
                                                                          tmp_path):
    source = ConnectionInfo.from_url(pg_database())
    admin = personas.make_user("administrator", username="ada")
    instance = make_instance(unique("browser"))
    identifier = "orders-source"
    page = browser_page

    with running_worker(instance.identifier, tmp_path / "worker.log"):
        page.goto(f"{live_server.url}/endpoints/")
        assert "/login/" in page.url  # signed out: sent to sign in first
        page.fill("#id_username", admin.username)
        page.fill("#id_password", personas.PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/endpoints/")

        page.click("text=Create endpoint")
        page.check("input[name=endpoint_type][value=source]")
        page.fill("#id_identifier", identifier)
        page.select_option("#id_engine", "postgres")
        page.wait_for_selector("#engine-hints >> text=Default port for PostgreSQL")
        page.fill("#id_server_name", source.host)
        page.fill("#id_username", source.username)
        page.fill("#id_database_name", source.database)
        page.fill("#id_extra_connection_attributes", "heartbeatEnable=Y")
        page.click("button:has-text('Create endpoint')")
        page.wait_for_selector("text=Endpoint orders-source created.")

        endpoint = Endpoint.objects.get(identifier=identifier)
        assert endpoint.port == 5432
        page.select_option(f"#test-instance-{endpoint.pk}", instance.identifier)
        page.click(f"#test-endpoint-{endpoint.pk}")
        cell = f"#endpoint-{endpoint.pk}-connections"
        page.wait_for_selector(f"{cell} .status.ok", timeout=60_000)
        assert "successful" in page.inner_text(cell)
        assert Connection.objects.get(endpoint=endpoint).status == "successful"
        assert "/endpoints/" in page.url  # updated in place, no reload

        shot = screenshot_path("endpoints.png")
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000
