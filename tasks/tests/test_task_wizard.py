"""The create-task wizard over HTTP: each step checked as the user goes, modes kept in sync, the preview,
the DMS JSON review, creating (and starting) the task, Modify, and who may use it."""

from __future__ import annotations

import json
import re

import pytest

from dmsconsole.tests import personas
from dmsconsole.tests.fixtures import make_endpoint, make_instance
from tasks.models import ReplicationTask

from .task_helpers import make_task
from .wizard_helpers import CONFIG, fake_catalog, guided_post, post_step, settings_defaults, start, step

pytestmark = pytest.mark.django_db

SELECT_SHOP = {"rule-type": "selection", "rule-id": "1", "rule-name": "1", "rule-action": "include",
               "object-locator": {"schema-name": "shop", "table-name": "%"}}
EXCLUDE_AUDIT = {"rule-type": "selection", "rule-id": "2", "rule-name": "2", "rule-action": "exclude",
                 "object-locator": {"schema-name": "shop", "table-name": "audit%"}}
RENAME_CUSTOMERS = {"rule-type": "transformation", "rule-id": "3", "rule-name": "3", "rule-target": "table",
                    "rule-action": "rename", "value": "clients",
                    "object-locator": {"schema-name": "shop", "table-name": "customers"}}
DROP_NOTES = {"rule-type": "transformation", "rule-id": "4", "rule-name": "4", "rule-target": "column",
              "rule-action": "remove-column",
              "object-locator": {"schema-name": "shop", "table-name": "customers", "column-name": "notes"}}


@pytest.fixture
def world():
    return {
        "instance": make_instance("ri-wizard"),
        "source": make_endpoint("shop-mysql", endpoint_type="source", engine="mysql", port=3306,
                                database_name="shop", username="root"),
        "target": make_endpoint("shop-pg", endpoint_type="target", engine="postgres"),
        "other_source": make_endpoint("crm-pg", endpoint_type="source", engine="postgres"),
    }


@pytest.fixture
def admin():
    return personas.client_for("administrator")


def configured(client, world, identifier="orders-copy", **extra):
    url = start(client)
    data = {**CONFIG, "identifier": identifier, "instance": "ri-wizard", "source": "shop-mysql", "target": "shop-pg",
            **extra}
    response = post_step(client, url, data)
    assert response.status_code == 200 and response.get("HX-Redirect", "").endswith("/settings/"), \
        response.content.decode()[:2000]
    return url


def test_it_offers_only_endpoints_of_the_right_type(admin, world):
    page = admin.get(start(admin), follow=True).content.decode()
    source_select = page.split('name="source"')[1].split("</select>")[0]
    target_select = page.split('name="target"')[1].split("</select>")[0]
    assert "shop-mysql" in source_select and "crm-pg" in source_select and "shop-pg" not in source_select
    assert "shop-pg" in target_select and "shop-mysql" not in target_select


def test_it_refuses_a_target_endpoint_offered_as_the_source_at_its_field(admin, world):
    url = start(admin)
    data = {**CONFIG, "identifier": "t1", "instance": "ri-wizard", "source": "shop-pg", "target": "shop-pg"}
    field = admin.post(url + "validate/", data, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="source").content.decode()
    assert 'id="field-source"' in field and "has-error" in field
    assert "Endpoint shop-pg is a target endpoint: choose a source endpoint as the source." in field
    assert "<html" not in field  # the field alone, swapped in place
    response = post_step(admin, url, data)  # Next: the step is not left
    assert "HX-Redirect" not in response and response.status_code == 200
    assert "is a target endpoint" in response.content.decode()


def test_it_checks_the_identifier_as_the_user_types(admin, world):
    make_task(identifier="taken-name")
    url = start(admin)
    base = {**CONFIG, "instance": "ri-wizard", "source": "shop-mysql", "target": "shop-pg"}
    for value, message in (("9lives", "It must start with a letter."), ("taken-name", "A task named taken-name"),
                           ("create", "names a console page")):
        html = admin.post(url + "validate/", {**base, "identifier": value}, HTTP_HX_REQUEST="true",
                          HTTP_HX_TRIGGER_NAME="identifier").content.decode()
        assert message in html, html
    ok = admin.post(url + "validate/", {**base, "identifier": "Fresh-Name"}, HTTP_HX_REQUEST="true",
                    HTTP_HX_TRIGGER_NAME="identifier").content.decode()
    assert "has-error" not in ok


def test_it_shows_the_cdc_start_point_only_for_cdc_and_refuses_a_time_for_postgresql(admin, world):
    url = start(admin)
    base = {"identifier": "t1", "instance": "ri-wizard", "source": "crm-pg", "target": "shop-pg"}
    full = admin.post(url + "validate/", {**base, "migration_type": "full-load"}, HTTP_HX_REQUEST="true",
                      HTTP_HX_TRIGGER_NAME="migration_type").content.decode()
    assert 'id="section-migration"' in full and 'type="radio" name="cdc_start_mode"' not in full
    cdc = admin.post(url + "validate/", {**base, "migration_type": "cdc", "cdc_start_mode": "time"},
                     HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="cdc_start_mode").content.decode()
    assert 'type="datetime-local" name="cdc_start_time"' in cdc
    response = post_step(admin, url, {**base, "migration_type": "cdc", "cdc_start_mode": "time",
                                      "cdc_start_time": "2030-01-01T00:00"})
    assert "HX-Redirect" not in response
    assert "A CDC start time is not supported for PostgreSQL sources" in response.content.decode()


def test_it_keeps_settings_when_switching_between_wizard_and_json_editor(admin, world):
    url = step(configured(admin, world), "settings")
    switch = url + "switch/"
    wizard_values = {**settings_defaults(), "target_table_prep_mode": "TRUNCATE_BEFORE_LOAD", "commit_rate": "5000",
                     "editing_mode": "json"}
    as_json = admin.post(switch, wizard_values, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="task_settings_json"' in as_json
    textarea = as_json.split('name="task_settings_json"')[1].split("</textarea>")[0]
    assert "TRUNCATE_BEFORE_LOAD" in textarea and "5000" in textarea
    document = json.loads(admin.session["task-wizard"][url.split("/")[3]]["settings"])
    document["FullLoadSettings"]["MaxFullLoadSubTasks"] = 3
    back = admin.post(switch, {"task_settings_json": json.dumps(document), "editing_mode": "wizard"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert 'name="max_full_load_subtasks" value="3"' in back
    assert re.search(r'value="TRUNCATE_BEFORE_LOAD"[^>]*checked', back)  # still chosen
    assert not ReplicationTask.objects.exists()  # nothing is created before Review


def test_it_shows_a_malformed_settings_document_at_its_field_and_stays(admin, world):
    url = step(configured(admin, world), "settings")
    admin.post(url + "switch/", {**settings_defaults(), "editing_mode": "json"}, HTTP_HX_REQUEST="true")
    broken = '{"FullLoadSettings": {"MaxFullLoadSubTasks": 100}'
    field = admin.post(url + "validate/", {"task_settings_json": broken}, HTTP_HX_REQUEST="true",
                       HTTP_HX_TRIGGER_NAME="task_settings_json").content.decode()
    assert 'id="field-task_settings_json"' in field and "not valid JSON" in field
    refused = admin.post(url + "switch/", {"task_settings_json": broken, "editing_mode": "wizard"},
                         HTTP_HX_REQUEST="true").content.decode()
    assert 'name="task_settings_json"' in refused and "not valid JSON" in refused  # stays in the JSON editor
    out_of_range = admin.post(url, {"task_settings_json": '{"FullLoadSettings": {"MaxFullLoadSubTasks": 100}}'},
                              HTTP_HX_REQUEST="true")
    assert "HX-Redirect" not in out_of_range
    assert "FullLoadSettings.MaxFullLoadSubTasks: got 100; allowed: an integer from 1 to 49" in \
        out_of_range.content.decode()


def test_it_previews_the_selected_tables_with_their_targets_and_columns(admin, world, monkeypatch):
    fake_catalog(monkeypatch)
    url = step(configured(admin, world), "mappings")
    admin.post(step(url, "settings"), {**settings_defaults()}, HTTP_HX_REQUEST="true")
    page = admin.get(url).content.decode()
    assert 'name="rules[0].object-locator.schema-name" value="shop"' in page  # the source's database by default
    sync = admin.post(url + "sync/", guided_post([SELECT_SHOP, EXCLUDE_AUDIT, RENAME_CUSTOMERS, DROP_NOTES]),
                      HTTP_HX_REQUEST="true", HTTP_HX_TARGET="mapping-editor").content.decode()
    preview = sync.split('id="mapping-preview"')[1]
    assert "4 tables selected" in preview and "1 other table of the source not selected" in preview
    for source, target in (("shop.customers", "shop.clients"), ("shop.orders", "shop.orders"),
                           ("shop.order_lines", "shop.order_lines"), ("shop.geo", "shop.geo")):
        assert f'data-source="{source}" data-target="{target}"' in preview
    assert "shop.audit_log" not in preview
    clients = preview.split('data-source="shop.customers"')[1].split("</details>")[0]
    assert 'data-column="id"' in clients and 'data-column="name"' in clients and 'data-column="notes"' not in clients
    assert "Left out by the rules: <code>notes</code>" in clients
    orders = preview.split('data-source="shop.orders"')[1].split("</details>")[0]
    assert "decimal(10,2)" in orders and "NUMERIC(10,2)" in orders and "numeric(10,2)" in orders
    geo = preview.split('data-source="shop.geo"')[1].split("</details>")[0]
    assert "Not migrated, unsupported type: <code>shape</code>" in geo
    response = post_step(admin, url, guided_post([SELECT_SHOP, EXCLUDE_AUDIT, RENAME_CUSTOMERS, DROP_NOTES]))
    assert response["HX-Redirect"].endswith("/startup/")


def test_it_puts_a_rule_problem_at_its_field_in_both_editors(admin, world, monkeypatch):
    fake_catalog(monkeypatch)
    url = step(configured(admin, world), "mappings")
    admin.post(step(url, "settings"), {**settings_defaults()}, HTTP_HX_REQUEST="true")
    bad = {**RENAME_CUSTOMERS, "value": ""}
    oob = admin.post(url + "sync/", guided_post([SELECT_SHOP, bad]), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="m-rules-1-value-errors" hx-swap-oob="true"><p class="error">got &quot;&quot;' in oob
    admin.post(url + "switch/", {**guided_post([SELECT_SHOP, bad]), "editing_mode": "json"}, HTTP_HX_REQUEST="true")
    unknown = {**RENAME_CUSTOMERS, "rule-action": "renamex"}
    text = json.dumps({"rules": [SELECT_SHOP, unknown]})
    errors = admin.post(url + "sync/", {"mappings_json": text}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="mappings-json-errors" hx-swap-oob="true"' in errors
    assert 'rules[1].rule-action (rule-id &quot;3&quot;, rule-name &quot;3&quot;): got &quot;renamex&quot;' in errors
    response = post_step(admin, url, {"mappings_json": text})
    assert "HX-Redirect" not in response and "renamex" in response.content.decode()
    malformed = admin.post(url + "switch/", {"mappings_json": '{"rules": [', "editing_mode": "guided"},
                           HTTP_HX_REQUEST="true").content.decode()
    assert "Not valid JSON" in malformed and 'name="mappings_json"' in malformed
    back = admin.post(url + "switch/", {"mappings_json": text, "editing_mode": "guided"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert 'name="rules[1].rule-action"' in back and "renamex (not valid)" in back  # shown, with its error
    assert 'id="m-rules-1-rule-action-errors"><p class="error">got &quot;renamex&quot;' in back


def test_it_adds_and_removes_rules_and_filters_with_the_guided_buttons(admin, world, monkeypatch):
    fake_catalog(monkeypatch)
    url = step(configured(admin, world), "mappings")
    admin.post(step(url, "settings"), {**settings_defaults()}, HTTP_HX_REQUEST="true")
    admin.get(url)  # the step starts with an include rule for the source's schema
    sync = url + "sync/"
    for op in ("add-transformation", "add-filter:0"):
        admin.post(sync, {**guided_post(json.loads(_saved(admin, url))["rules"]), "op": op}, HTTP_HX_REQUEST="true",
                   HTTP_HX_TARGET="mapping-editor")
    rules = json.loads(_saved(admin, url))["rules"]
    assert [r["rule-type"] for r in rules] == ["selection", "transformation"]
    assert rules[1]["rule-id"] == "2" and rules[1]["rule-action"] == "rename"
    assert rules[0]["filters"] == [{"filter-type": "source", "column-name": "",
                                    "filter-conditions": [{"filter-operator": "eq", "value": ""}]}]
    admin.post(sync, {**guided_post(rules), "op": "remove-rule:1"}, HTTP_HX_REQUEST="true",
               HTTP_HX_TARGET="mapping-editor")
    assert [r["rule-id"] for r in json.loads(_saved(admin, url))["rules"]] == ["1"]


def _saved(client, url: str) -> str:
    return client.session["task-wizard"][url.split("/")[3]]["mappings"]


def walk_to_review(admin, world, monkeypatch, *, start_on_create: str):
    fake_catalog(monkeypatch)
    url = configured(admin, world)
    assert post_step(admin, step(url, "settings"), settings_defaults())["HX-Redirect"].endswith("/mappings/")
    rules = [SELECT_SHOP, EXCLUDE_AUDIT, RENAME_CUSTOMERS, DROP_NOTES]
    assert post_step(admin, step(url, "mappings"), guided_post(rules))["HX-Redirect"].endswith("/startup/")
    response = post_step(admin, step(url, "startup"), {"start_migration_task": start_on_create})
    assert response["HX-Redirect"].endswith("/review/")
    return step(url, "review")


def test_it_reviews_the_task_as_dms_json_and_creates_it(admin, world, monkeypatch):
    review = walk_to_review(admin, world, monkeypatch, start_on_create="manual")
    page = admin.get(review).content.decode()
    shown = json.loads(page.split('id="review-json">')[1].split("</pre>")[0].replace("&quot;", '"')
                       .replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    assert shown["ReplicationTaskIdentifier"] == "orders-copy"
    assert shown["SourceEndpointArn"] == "arn:aws:dms:local:000000000000:endpoint:shop-mysql"
    assert shown["TargetEndpointArn"] == "arn:aws:dms:local:000000000000:endpoint:shop-pg"
    assert shown["ReplicationInstanceArn"] == "arn:aws:dms:local:000000000000:rep:ri-wizard"
    assert shown["MigrationType"] == "full-load"
    assert json.loads(shown["TableMappings"])["rules"][2]["value"] == "clients"
    assert json.loads(shown["ReplicationTaskSettings"])["FullLoadSettings"]["MaxFullLoadSubTasks"] == 8
    response = post_step(admin, review, {})
    assert response["HX-Redirect"] == "/tasks/orders-copy/"
    task = ReplicationTask.objects.get(identifier="orders-copy")
    assert task.status == "ready" and task.source.identifier == "shop-mysql"
    assert json.loads(task.table_mappings)["rules"][3]["rule-action"] == "remove-column"
    landing = admin.get("/tasks/orders-copy/").content.decode()
    assert "Task orders-copy created. Start it when you are ready." in landing


def test_it_starts_the_task_on_create_when_asked(admin, world, monkeypatch, django_capture_on_commit_callbacks):
    from tasks import jobs

    sent = []
    monkeypatch.setattr(jobs.run_replication_task, "apply_async", lambda **kw: sent.append(kw))
    review = walk_to_review(admin, world, monkeypatch, start_on_create="automatic")
    with django_capture_on_commit_callbacks(execute=True):
        post_step(admin, review, {})
    task = ReplicationTask.objects.get(identifier="orders-copy")
    assert task.status == "starting" and sent[0]["args"][2] == "start-replication"


def test_it_does_not_open_a_step_before_the_previous_ones_are_done(admin, world):
    url = start(admin)
    response = admin.get(step(url, "review"))
    assert response.status_code == 302 and response["Location"].endswith("/configuration/")


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_it_lets_only_administrators_create(role, world):
    client = personas.client_for(role)
    assert client.get("/tasks/create/").status_code == 403
    admin = personas.client_for("administrator")
    url = start(admin)
    assert client.post(url, {**CONFIG, "identifier": "x"}).status_code == 403


def test_it_modifies_a_stopped_task_keeping_what_has_run_fixed(admin, world, monkeypatch):
    fake_catalog(monkeypatch)
    task = make_task(identifier="old-task", status="stopped", has_run=True, source=world["source"],
                     target=world["target"], instance=world["instance"], migration_type="full-load")
    response = admin.get("/tasks/old-task/modify/")
    url = response["Location"]
    page = admin.get(url).content.decode()
    assert "Fixed: the task has run." in page
    assert re.search(r'<select name="source"[^>]*disabled', page) and re.search(r'name="identifier"(?![^>]*disabled)',
                                                                                  page)
    data = {"identifier": "new-name", "instance": "ri-wizard"}
    assert post_step(admin, url, data)["HX-Redirect"].endswith("/settings/")
    values = {**settings_defaults(), "target_table_prep_mode": "TRUNCATE_BEFORE_LOAD"}
    assert post_step(admin, step(url, "settings"), values)["HX-Redirect"].endswith("/mappings/")
    review = step(url, "review")
    assert admin.get(review).status_code == 200
    assert post_step(admin, review, {})["HX-Redirect"] == "/tasks/new-name/"
    task.refresh_from_db()
    assert task.identifier == "new-name"
    assert json.loads(task.task_settings)["FullLoadSettings"]["TargetTablePrepMode"] == "TRUNCATE_BEFORE_LOAD"


def test_it_refuses_to_modify_a_running_task(admin, world):
    make_task(identifier="busy-task", status="running", has_run=True)
    response = admin.get("/tasks/busy-task/modify/", follow=True)
    assert "Cannot modify task busy-task: its status is running" in response.content.decode()


def test_it_keeps_a_hidden_fields_value_when_its_choice_comes_back(admin, world):
    url = step(configured(admin, world), "settings")
    values = {**settings_defaults(), "lob_mode": "full", "lob_max_size": "64"}
    full = admin.post(url + "validate/", values, HTTP_HX_REQUEST="true",
                      HTTP_HX_TRIGGER_NAME="lob_mode").content.decode()
    assert 'id="section-lob"' in full and 'name="lob_chunk_size"' in full
    assert '<input type="hidden" name="lob_max_size" value="64"' in full  # hidden, not lost
    values.update(lob_mode="limited", lob_chunk_size="64")
    back = admin.post(url + "validate/", values, HTTP_HX_REQUEST="true",
                      HTTP_HX_TRIGGER_NAME="lob_mode").content.decode()
    assert re.search(r'<input type="number" name="lob_max_size" value="64"', back)


def test_it_refuses_a_startup_choice_it_does_not_offer(admin, world, monkeypatch):
    review = walk_to_review(admin, world, monkeypatch, start_on_create="manual")
    startup = step(review, "startup")
    field = admin.post(startup + "validate/", {"start_migration_task": "sometimes"}, HTTP_HX_REQUEST="true",
                       HTTP_HX_TRIGGER_NAME="start_migration_task").content.decode()
    assert 'id="field-start_migration_task"' in field
    assert "Select a valid choice. sometimes is not one of the available choices." in field
    response = post_step(admin, startup, {"start_migration_task": "sometimes"})
    assert "HX-Redirect" not in response and "Select a valid choice" in response.content.decode()


def test_it_closes_review_again_when_the_mappings_are_broken_after_leaving_them(admin, world, monkeypatch):
    review = walk_to_review(admin, world, monkeypatch, start_on_create="manual")
    mappings = step(review, "mappings")
    admin.post(mappings + "switch/", {**guided_post([SELECT_SHOP]), "editing_mode": "json"}, HTTP_HX_REQUEST="true")
    admin.post(mappings + "sync/", {"mappings_json": '{"rules": ['}, HTTP_HX_REQUEST="true")
    response = admin.get(review)
    assert response.status_code == 302 and response["Location"].endswith("/mappings/")


def test_it_reviews_a_modification_as_dms_modify_json(admin, world, monkeypatch):
    fake_catalog(monkeypatch)
    task = make_task(identifier="old-task", status="stopped", has_run=True, source=world["source"],
                     target=world["target"], instance=world["instance"], migration_type="full-load")
    url = admin.get("/tasks/old-task/modify/")["Location"]
    page = admin.get(step(url, "review")).content.decode()
    shown = page.split('id="review-json">')[1].split("</pre>")[0]
    arn = f"arn:aws:dms:local:000000000000:task:{task.resource_id}"
    assert f"&quot;ReplicationTaskArn&quot;: &quot;{arn}&quot;" in shown
    assert "SourceEndpointArn" not in shown and "ReplicationInstanceArn" not in shown
    assert "ModifyReplicationTask" in page and ">Save changes</button>" in page
