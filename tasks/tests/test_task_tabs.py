"""The task page: its tabs, the action buttons each role and status allow, what each confirmation says, and
the parts htmx refreshes while the task is busy."""

from __future__ import annotations

import json
import re

import pytest

from dmsconsole.tests import personas
from monitoring.models import TableStatistics, TaskLog

from .task_helpers import make_task

pytestmark = pytest.mark.django_db

RULES = json.dumps({"rules": [
    {"rule-type": "selection", "rule-id": "1", "rule-name": "all-shop", "rule-action": "include",
     "object-locator": {"schema-name": "shop", "table-name": "%"}},
    {"rule-type": "transformation", "rule-id": "2", "rule-name": "clients", "rule-target": "table",
     "rule-action": "rename", "value": "clients", "object-locator": {"schema-name": "shop", "table-name": "customers"}},
]})


def buttons(html: str) -> set[str]:
    head = html.split('class="actions task-actions"')[1].split("</div>\n")[0]
    return set(re.findall(r'id="action-([a-z]+)"', head))


@pytest.mark.parametrize(("status", "has_run", "role", "expected"), [
    ("ready", False, "administrator", {"start", "modify", "delete"}),
    ("ready", False, "operator", {"start"}),
    ("running", True, "operator", {"stop", "reload"}),
    ("running", True, "administrator", {"stop", "reload"}),
    ("stopped", True, "operator", {"resume", "restart"}),
    ("stopped", True, "administrator", {"resume", "restart", "modify", "delete"}),
    ("failed", True, "administrator", {"resume", "restart", "modify", "delete"}),
    ("stopping", True, "administrator", set()),
    ("running", True, "viewer", set()),
    ("stopped", True, "viewer", set()),
])
def test_it_shows_only_the_actions_the_role_and_status_allow(status, has_run, role, expected):
    make_task(identifier="shop-task", status=status, has_run=has_run, lease_owner="w|1|a" if status == "running"
              else None)
    html = personas.client_for(role).get("/tasks/shop-task/").content.decode()
    assert buttons(html) == expected
    if role == "viewer":
        assert "<form" not in html.split('class="actions task-actions"')[1].split("</div>\n")[0]


def test_it_says_what_each_action_will_do_before_it_is_confirmed():
    make_task(identifier="shop-task", status="stopped", has_run=True,
              task_settings=json.dumps({"FullLoadSettings": {"TargetTablePrepMode": "TRUNCATE_BEFORE_LOAD"}}))
    html = personas.client_for("administrator").get("/tasks/shop-task/").content.decode()
    restart = html.split('id="action-restart"')[1].split("</details>")[0]
    assert "Restart task shop-task?" in restart
    assert "Reloads every table; target rows will be dropped/truncated per the preparation mode (Truncate: Each " \
           "target table is emptied (its definition is kept).)" in restart
    assert 'name="start_type" value="reload-target"' in restart
    resume = html.split('id="action-resume"')[1].split("</details>")[0]
    assert "Continues from the checkpoint" in resume
    delete = html.split('id="action-delete"')[1].split("</details>")[0]
    assert "removes the replication slot and publication it created on the source" in delete


def test_it_shows_each_tab_and_answers_htmx_with_the_tab_alone():
    task = make_task(identifier="shop-task", status="stopped", has_run=True, table_mappings=RULES,
                     recovery_checkpoint="checkpoint:V1#1#mysql-bin.000003:4#0#0#*#0#0",
                     stop_reason="Stop Reason NORMAL", latest_metrics={"CDCLatencySource": 0.4})
    stats_row = TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders",
                                               table_state="Table completed", full_load_rows=1200, inserts=7)
    TaskLog.objects.create(task=task, component="TARGET_LOAD", severity="LOGGER_SEVERITY_ERROR", message="disk full")
    client = personas.client_for("viewer")
    overview = client.get("/tasks/shop-task/").content.decode()
    assert 'aria-selected="true" class="active">Overview' in overview
    assert "checkpoint:V1#1#mysql-bin.000003:4" in overview and "Stop Reason NORMAL" in overview
    assert "Drop tables on target" in overview  # the settings summary (DMS's default preparation mode)
    tab_target = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": f"task-{task.pk}-tab"}
    stats = client.get("/tasks/shop-task/", {"tab": "table-statistics"}, **tab_target).content.decode()
    assert "<html" not in stats and stats.lstrip().startswith(f'<div id="task-{task.pk}-tab"')
    row = stats.split(f'id="tablestat-{stats_row.pk}"')[1].split("</tr>")[0]
    assert f'id="tablestat-{stats_row.pk}-state">Table completed<' in row
    assert f'id="tablestat-{stats_row.pk}-full-load-rows" class="num">1200<' in row
    assert 'name="table"' not in row  # stopped: no Reload
    rules = client.get("/tasks/shop-task/", {"tab": "mapping-rules"}, **tab_target).content.decode()
    assert "<code>table shop.customers</code>" in rules and "Rename to" in rules and "clients" in rules
    assert "&quot;rule-name&quot;: &quot;all-shop&quot;" in rules  # and as JSON
    monitoring = client.get("/tasks/shop-task/", {"tab": "monitoring"}, **tab_target).content.decode()
    assert f'id="task-{task.pk}-monitoring"' in monitoring  # live monitoring's tab (issue 7)
    via_window = client.get("/tasks/shop-task/", {"window": "1h"}).content.decode()
    assert 'aria-selected="true" class="active">Monitoring' in via_window
    logs = client.get("/tasks/shop-task/", {"tab": "logs"}, **tab_target).content.decode()
    assert f'id="task-{task.pk}-log"' in logs and "disk full" in logs


def test_it_offers_reload_on_the_table_statistics_tab_of_a_running_task():
    task = make_task(identifier="shop-task", status="running", has_run=True, lease_owner="w|1|a")
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", table_state="Table completed")
    operator = personas.client_for("operator").get("/tasks/shop-task/", {"tab": "table-statistics"}).content.decode()
    assert """name="table" value='["shop", "orders"]'""" in operator and 'id="confirm-reload"' in operator
    assert "Reloads the selected tables while the others keep going" in operator
    viewer = personas.client_for("viewer").get("/tasks/shop-task/", {"tab": "table-statistics"}).content.decode()
    assert 'name="table"' not in viewer and 'id="confirm-reload"' not in viewer


def test_it_refreshes_a_busy_task_and_sends_the_buttons_only_when_they_change():
    task = make_task(identifier="shop-task", status="running", has_run=True, lease_owner="w|1|a")
    client = personas.client_for("operator")
    page = client.get("/tasks/shop-task/").content.decode()
    live = " [!(window.dmsLive &amp;&amp; dmsLive.connected)]"  # the poll runs only while no websocket is connected
    assert "part=head" in page and f'hx-trigger="dms:task-status from:body, every 3s{live}"' in page
    same = client.get("/tasks/shop-task/", {"part": "head", "actions": "reload,stop"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert f'id="task-{task.pk}-head"' in same and "hx-swap-oob" not in same
    type(task).objects.filter(pk=task.pk).update(status="stopped", lease_owner=None)
    changed = client.get("/tasks/shop-task/", {"part": "head", "actions": "reload,stop"},
                         HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-swap-oob="true"' in changed and 'id="action-resume"' in changed
    assert "part=head" not in changed  # stopped: the refreshing stops too


def test_it_forbids_actions_forged_by_a_viewer():
    make_task(identifier="shop-task", status="running", has_run=True, lease_owner="w|1|a")
    client = personas.client_for("viewer")
    for url in ("/tasks/shop-task/stop/", "/tasks/shop-task/delete/", "/tasks/shop-task/modify/",
                "/tasks/create/"):
        method = client.get if url.endswith(("modify/", "create/")) else client.post
        assert method(url).status_code == 403, url
