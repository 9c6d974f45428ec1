"""In Debian's Chromium, against a live server, a real worker, a real MariaDB source and a PostgreSQL target:
an Administrator creates the endpoints and walks the create-task wizard (with a wrong input on each step,
shown at its field without a reload), sees the live preview, creates and starts a full-load-and-cdc task,
and sees every table complete and the rows arrive; an Operator stops and resumes it (a change made after
the resume arrives too); a Viewer sees no action, and a POST forged from the Viewer's session gets 403.
Each wizard step and the task page are saved with screenshot_path (docs/screenshots/ under
`make screenshots`), which the README shows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import psycopg
import pytest

from dmsconsole.tests import personas
from dmsconsole.tests.browser import chromium
from dmsconsole.tests.fixtures import make_instance, unique
from dmsconsole.tests.screenshots import screenshot_path
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.tests import mysql_helpers
from tasks.models import ReplicationTask

from .workers import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SOURCE_TABLES = (
    "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(80) NOT NULL, notes TEXT)",
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2))",
    "CREATE TABLE order_items (id BIGINT PRIMARY KEY, order_id BIGINT NOT NULL, sku VARCHAR(20))",
    "CREATE TABLE order_archive (id BIGINT PRIMARY KEY, note VARCHAR(40))",
    "CREATE TABLE audit_log (id BIGINT PRIMARY KEY, message VARCHAR(200))",
    "INSERT INTO customers VALUES (1, 'Ada', 'likes tea'), (2, 'Grace', NULL), (3, 'Linus', 'vip')",
    "INSERT INTO orders VALUES (10, 1, 12.50), (11, 2, 99.99), (12, 3, 5.00), (13, 1, 42.00)",
    "INSERT INTO order_items VALUES (100, 10, 'TEA-1'), (101, 10, 'CUP-2'), (102, 11, 'PEN-9')",
    "INSERT INTO order_archive VALUES (1, 'old')",
    "INSERT INTO audit_log VALUES (1, 'created')",
)


@pytest.fixture
def browser() -> Iterator:
    with chromium() as launched:
        yield launched


def signed_in(browser, live_server, user):
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", personas.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def settle(page) -> None:
    """Wait until htmx has no request in flight (queued ones included)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    page.wait_for_timeout(150)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def type_in(page, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.press(selector, "Tab")  # leaving the field is a change: htmx checks it
    settle(page)


def mark_page(page) -> None:
    page.evaluate("window.__stillThisPage = true")


def not_reloaded(page) -> bool:
    return page.evaluate("window.__stillThisPage === true")


def shot(page, name: str, *, full_page: bool = True) -> None:
    path = screenshot_path(name)
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000


def create_endpoint(page, base: str, *, kind: str, identifier: str, engine: str, info: ConnectionInfo) -> None:
    page.goto(f"{base}/endpoints/create/")
    page.check(f"input[name=endpoint_type][value={kind}]")
    page.fill("#id_identifier", identifier)
    page.select_option("#id_engine", engine)
    settle(page)
    page.fill("#id_server_name", info.host)
    page.fill("#id_port", str(info.port))
    page.fill("#id_username", info.username)
    page.fill("#id_database_name", info.database)
    page.click("button:has-text('Create endpoint')")
    page.wait_for_selector(f"text=Endpoint {identifier} created.")


def pg_rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except psycopg.Error:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def walk_the_wizard(page, base: str, *, source_id: str, target_id: str, instance: str, schema: str,
                    identifier: str) -> None:
    page.goto(f"{base}/tasks/")
    page.wait_for_selector("#tasks-empty")
    page.click("#create-task")

    # -- Step 1: Task configuration ---------------------------------------------------------------------
    page.wait_for_url("**/configuration/")
    mark_page(page)
    type_in(page, "#id_identifier", "9-orders")
    assert "It must start with a letter." in page.inner_text("#field-identifier")
    type_in(page, "#id_identifier", identifier)
    assert page.locator("#field-identifier .error").count() == 0
    page.select_option("#id_instance", instance)
    source_options = page.eval_on_selector_all("#id_source option", "os => os.map(o => o.value)")
    assert source_id in source_options and target_id not in source_options  # only source endpoints offered
    # A target endpoint forced into the source list (a stale or forged form) is refused at the field.
    page.evaluate("""([select, value]) => { const s = document.querySelector(select); s.add(new Option(value, value));
        s.value = value; s.dispatchEvent(new Event('change', {bubbles: true})); }""", ["#id_source", target_id])
    settle(page)
    assert f"Endpoint {target_id} is a target endpoint: choose a source endpoint as the source." in \
        page.inner_text("#field-source")
    page.select_option("#id_source", source_id)
    settle(page)
    assert page.locator("#field-source .error").count() == 0
    page.select_option("#id_target", target_id)
    settle(page)
    page.check("input[name=migration_type][value=full-load-and-cdc]")
    settle(page)
    assert not_reloaded(page)
    shot(page, "wizard-1-configuration.png")
    page.click("#wizard-next")

    # -- Step 2: Task settings: Wizard and JSON editor keep the same values ------------------------------------
    page.wait_for_url("**/settings/")
    mark_page(page)
    page.check("input[name=lob_mode][value=full]")
    settle(page)
    assert page.is_visible("#id_lob_chunk_size")  # full LOB mode asks for its chunk size
    page.check("input[name=lob_mode][value=limited]")
    settle(page)
    type_in(page, "#id_max_full_load_subtasks", "60")
    assert "Ensure this value is less than or equal to 49." in page.inner_text("#field-max_full_load_subtasks")
    type_in(page, "#id_max_full_load_subtasks", "4")
    shot(page, "wizard-2-settings.png")
    page.check("#settings-mode-json")
    settle(page)
    document = json.loads(page.input_value("#id_task_settings_json"))
    assert document["FullLoadSettings"]["MaxFullLoadSubTasks"] == 4  # the wizard's value came along
    type_in(page, "#id_task_settings_json", '{"FullLoadSettings": {"MaxFullLoadSubTasks": 4,')
    assert "not valid JSON" in page.inner_text("#field-task_settings_json")
    page.click("#wizard-next")
    settle(page)
    assert page.url.endswith("/settings/") and "not valid JSON" in page.inner_text("#field-task_settings_json")
    document["FullLoadSettings"]["CommitRate"] = 5000
    type_in(page, "#id_task_settings_json", json.dumps(document, indent=2))
    assert page.locator("#field-task_settings_json .error").count() == 0
    page.check("#settings-mode-wizard")
    settle(page)
    assert page.input_value("#id_max_full_load_subtasks") == "4" and page.input_value("#id_commit_rate") == "5000"
    assert not_reloaded(page)
    page.click("#wizard-next")

    # -- Step 3: Table mappings: guided rules, the live preview, the JSON editor -------------------------
    page.wait_for_url("**/mappings/")
    mark_page(page)
    page.wait_for_selector("#preview-summary")
    assert page.input_value("#m-rules-0-object-locator-schema-name") == schema  # the source database
    type_in(page, "#m-rules-0-object-locator-table-name", "customers")
    page.click("#add-selection-rule")
    settle(page)
    type_in(page, "#m-rules-1-object-locator-table-name", "order%")  # an include rule with a wildcard
    page.click("#add-selection-rule")
    settle(page)
    type_in(page, "#m-rules-2-object-locator-table-name", "order_archive")
    page.select_option("#m-rules-2-rule-action", "exclude")
    settle(page)
    page.click("#add-transformation-rule")
    settle(page)
    type_in(page, "#m-rules-3-object-locator-table-name", "customers")
    type_in(page, "#m-rules-3-value", "clients")  # rename-table
    page.click("#add-transformation-rule")
    settle(page)
    page.select_option("#m-rules-4-rule-target", "column")
    settle(page)
    type_in(page, "#m-rules-4-object-locator-table-name", "customers")
    type_in(page, "#m-rules-4-object-locator-column-name", "notes")
    page.select_option("#m-rules-4-rule-action", "remove-column")
    settle(page)
    summary = page.inner_text("#preview-summary")
    assert summary == "3 tables selected; 2 other tables of the source not selected.", summary
    shown = page.eval_on_selector_all("#mapping-preview details.preview-table",
                                      "ds => ds.map(d => [d.dataset.source, d.dataset.target])")
    assert shown == [[f"{schema}.customers", f"{schema}.clients"], [f"{schema}.order_items", f"{schema}.order_items"],
                     [f"{schema}.orders", f"{schema}.orders"]]
    columns = page.eval_on_selector_all(f"details[data-source='{schema}.customers'] tr[data-column]",
                                        "rows => rows.map(r => r.dataset.column)")
    assert columns == ["id", "name"]  # notes removed
    shot(page, "wizard-3-mappings.png")
    # The JSON editor holds the same rules; a rule with an unknown rule-action is shown at the editor.
    page.check("#mappings-mode-json")
    settle(page)
    text = page.input_value("#id_mappings_json")
    assert '"rule-action": "remove-column"' in text and '"value": "clients"' in text
    page.fill("#id_mappings_json", text.replace('"remove-column"', '"remove-columnz"'))
    page.wait_for_selector("#mappings-json-errors .error")
    settle(page)
    assert 'rules[4].rule-action (rule-id "5", rule-name "5"): got "remove-columnz"' in \
        page.inner_text("#mappings-json-errors")
    page.click("#wizard-next")
    settle(page)
    assert page.url.endswith("/mappings/") and "remove-columnz" in page.inner_text("#mappings-json-errors")
    page.fill("#id_mappings_json", text)
    page.press("#id_mappings_json", "Tab")
    settle(page)
    assert page.locator("#mappings-json-errors .error").count() == 0
    page.check("#mappings-mode-guided")
    settle(page)
    assert page.input_value("#m-rules-3-value") == "clients"
    assert not_reloaded(page)
    page.click("#wizard-next")

    # -- Step 4: startup; Step 5: review as DMS JSON, then Create task ---------------------------------------
    page.wait_for_url("**/startup/")
    page.check("input[name=start_migration_task][value=automatic]")
    settle(page)
    shot(page, "wizard-4-startup.png")
    page.click("#wizard-next")
    page.wait_for_url("**/review/")
    review = json.loads(page.inner_text("#review-json"))
    assert review["ReplicationTaskIdentifier"] == identifier and review["MigrationType"] == "full-load-and-cdc"
    assert json.loads(review["ReplicationTaskSettings"])["FullLoadSettings"]["CommitRate"] == 5000
    assert len(json.loads(review["TableMappings"])["rules"]) == 5
    shot(page, "wizard-5-review.png")
    page.click("#wizard-next")
    page.wait_for_url(f"**/tasks/{identifier}/")


def test_it_creates_runs_stops_and_resumes_a_task_through_the_console(live_server, browser, mysql_database,
                                                                        pg_database, tmp_path):
    source_url, target_url = mysql_database(), pg_database()
    mysql_helpers.run(source_url, *SOURCE_TABLES)
    source_info, target_info = ConnectionInfo.from_url(source_url), ConnectionInfo.from_url(target_url)
    schema = source_info.database
    admin = personas.make_user("administrator", username=unique("ada"))
    operator = personas.make_user("operator", username=unique("otto"))
    viewer = personas.make_user("viewer", username=unique("vera"))
    instance = make_instance(unique("browser-tasks"))
    identifier = unique("orders-to-pg")
    source_id, target_id = unique("shop-mysql"), unique("shop-pg")
    base = live_server.url

    with running_worker(instance.identifier, tmp_path / "worker.log"):
        page = signed_in(browser, live_server, admin)
        create_endpoint(page, base, kind="source", identifier=source_id, engine="mysql", info=source_info)
        create_endpoint(page, base, kind="target", identifier=target_id, engine="postgres", info=target_info)
        walk_the_wizard(page, base, source_id=source_id, target_id=target_id, instance=instance.identifier,
                        schema=schema, identifier=identifier)
        assert f"Task {identifier} created and starting." in page.inner_text("#messages")
        task = ReplicationTask.objects.get(identifier=identifier)

        # Every table reaches Table completed on the Table statistics tab. Its cells are pushed over a websocket,
        # which this WSGI live server does not serve: the test looks again, as a user would press refresh.
        page.click("#tab-table-statistics")
        page.wait_for_url(lambda url: url.endswith("?tab=table-statistics"))

        def table_states() -> dict[str, str]:
            page.reload()
            return dict(page.eval_on_selector_all(
                f"#task-{task.pk}-tablestats-rows tr[id^=tablestat-]",
                "rows => rows.map(r => [r.querySelector('[id$=-table]').innerText,"
                " r.querySelector('[id$=-state]').innerText])"))

        states = wait_until(lambda: (s := table_states()) and set(s.values()) == {"Table completed"} and s, 120,
                            "every table to reach Table completed")
        assert sorted(states) == ["customers", "order_items", "orders"]
        page.wait_for_selector(f"#task-{task.pk}-status:has-text('Load complete, replication ongoing')",
                               timeout=60_000)
        shot(page, "task-page.png", full_page=False)
        assert pg_rows(target_url, f'SELECT id, name FROM "{schema}".clients ORDER BY id') == \
            [(1, "Ada"), (2, "Grace"), (3, "Linus")]
        assert pg_rows(target_url, f'SELECT count(*) FROM "{schema}".orders')[0][0] == 4
        assert pg_rows(target_url, f'SELECT count(*) FROM "{schema}".order_items')[0][0] == 3
        names = {r[0] for r in pg_rows(target_url, "SELECT table_name FROM information_schema.tables WHERE "
                                                   f"table_schema = '{schema}'")}
        assert {"clients", "orders", "order_items"} <= names and not names & {"customers", "order_archive",
                                                                               "audit_log"}
        clients_columns = [r[0] for r in pg_rows(target_url, "SELECT column_name FROM information_schema.columns "
                                                 f"WHERE table_schema = '{schema}' AND table_name = 'clients' "
                                                 "ORDER BY ordinal_position")]
        assert clients_columns == ["id", "name"]

        # An Operator stops the task, then resumes it; a change made meanwhile arrives.
        ops = signed_in(browser, live_server, operator)
        ops.goto(f"{base}/tasks/{identifier}/")
        ops.click("#action-stop summary")
        assert "keeps the checkpoint" in ops.inner_text("#action-stop .popup")
        ops.click("#confirm-stop")
        ops.wait_for_selector(f"#task-{task.pk}-status:has-text('Stopped')", timeout=90_000)
        mysql_helpers.run(source_url, "INSERT INTO orders VALUES (14, 2, 7.25)")
        ops.wait_for_selector("#action-resume summary")
        ops.click("#action-resume summary")
        ops.click("#confirm-resume")
        ops.wait_for_selector(f"#task-{task.pk}-status:has-text('Load complete, replication ongoing')",
                              timeout=90_000)
        wait_until(lambda: pg_rows(target_url, f'SELECT amount FROM "{schema}".orders WHERE id = 14'), 90,
                   "the change made while stopped to reach the target")
        assert ops.locator("#action-stop").count() == 1 and ops.locator("#action-reload").count() == 1
        assert ops.locator("#action-modify, #action-delete").count() == 0  # an Operator neither modifies nor deletes

        # A Viewer sees no action; a POST forged from the Viewer's session is refused.
        vera = signed_in(browser, live_server, viewer)
        vera.goto(f"{base}/tasks/{identifier}/")
        assert vera.locator(f"#task-{task.pk}-actions details, #task-{task.pk}-actions a, "
                            f"#task-{task.pk}-actions button").count() == 0
        token = vera.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
        forged = vera.request.post(f"{base}/tasks/{identifier}/stop/", headers={"X-CSRFToken": token})
        assert forged.status == 403 and "This needs the Operator role." in forged.text()
        assert ReplicationTask.objects.get(pk=task.pk).status == "running"
        page.goto(f"{base}/tasks/")
        page.wait_for_selector(f"#task-{task.pk}-status:has-text('Load complete, replication ongoing')")
        shot(page, "tasks-list.png", full_page=False)

        ops.click("#action-stop summary")  # leave nothing running behind the test
        ops.click("#confirm-stop")
        ops.wait_for_selector(f"#task-{task.pk}-status:has-text('Stopped')", timeout=90_000)
