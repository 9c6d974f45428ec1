"""The `dms` task verbs: AWS CLI names, options, ARNs and output shapes; errors on stderr with exit 1."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management import CommandError

from dmsconsole.tests.fixtures import make_endpoint, make_instance
from monitoring.models import TableStatistics
from tasks.models import ReplicationTask

from .task_cluster import dms
from .task_helpers import MAPPINGS, make_task
from .workers import ROOT, worker_env

pytestmark = pytest.mark.django_db


@pytest.fixture
def parts():
    instance = make_instance("ri-verbs")
    source = make_endpoint("mysql-src", endpoint_type="source", engine="mysql", port=3306, database_name="shop")
    target = make_endpoint("pg-tgt", endpoint_type="target")
    return instance, source, target


def create(*extra: str, mappings: str = MAPPINGS) -> dict:
    return dms("create-replication-task", "--replication-task-identifier", "orders-task",
               "--source-endpoint-arn", "arn:aws:dms:local:000000000000:endpoint:mysql-src",
               "--target-endpoint-arn", "pg-tgt", "--replication-instance-arn", "ri-verbs",
               "--migration-type", "full-load-and-cdc", "--table-mappings", mappings, *extra)


def test_it_creates_a_task_and_prints_it_as_the_aws_cli_does(parts, tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"FullLoadSettings": {"CommitRate": 500}}))
    task = create("--replication-task-settings", f"file://{settings}",
                  "--cdc-stop-position", "server_time:2030-01-01T00:00:00")["ReplicationTask"]
    resource = ReplicationTask.objects.get().resource_id
    assert task == {
        "ReplicationTaskIdentifier": "orders-task",
        "SourceEndpointArn": "arn:aws:dms:local:000000000000:endpoint:mysql-src",
        "TargetEndpointArn": "arn:aws:dms:local:000000000000:endpoint:pg-tgt",
        "ReplicationInstanceArn": "arn:aws:dms:local:000000000000:rep:ri-verbs",
        "MigrationType": "full-load-and-cdc",
        "TableMappings": MAPPINGS,
        "ReplicationTaskSettings": task["ReplicationTaskSettings"],
        "Status": "ready",
        "ReplicationTaskCreationDate": task["ReplicationTaskCreationDate"],
        "CdcStopPosition": "server_time:2030-01-01T00:00:00",
        "ReplicationTaskArn": f"arn:aws:dms:local:000000000000:task:{resource}",
        "ReplicationTaskStats": {"FullLoadProgressPercent": 0, "ElapsedTimeMillis": 0, "TablesLoaded": 0,
                                 "TablesLoading": 0, "TablesQueued": 0, "TablesErrored": 0},
    }
    enriched = json.loads(task["ReplicationTaskSettings"])  # stored with DMS's defaults filled in
    assert enriched["FullLoadSettings"]["CommitRate"] == 500
    assert enriched["FullLoadSettings"]["MaxFullLoadSubTasks"] == 8
    assert enriched["ErrorBehavior"]["RecoverableErrorCount"] == -1


def test_it_names_every_problem_of_the_documents_per_rule(parts):
    bad = json.dumps({"rules": [
        {"rule-type": "selection", "rule-id": "1", "rule-name": "one", "rule-action": "include",
         "object-locator": {"schema-name": "shop", "table-name": "%"}},
        {"rule-type": "transformation", "rule-id": "2", "rule-name": "two", "rule-action": "shout",
         "rule-target": "table", "object-locator": {"schema-name": "shop", "table-name": "%"}}]})
    with pytest.raises(CommandError) as error:
        create("--replication-task-settings", '{"FullLoadSettings": {"CommitRate": "many"}}', mappings=bad)
    message = str(error.value)
    assert 'table_mappings: rules[1].rule-action (rule-id "2", rule-name "two"): got "shout"' in message
    assert "task_settings: FullLoadSettings.CommitRate" in message
    assert not ReplicationTask.objects.exists()


def test_it_refuses_endpoints_in_the_wrong_role(parts):
    make_endpoint("pg-src", endpoint_type="source")
    with pytest.raises(CommandError, match="Endpoint pg-tgt is a target endpoint: choose a source endpoint"):
        dms("create-replication-task", "--replication-task-identifier", "x", "--source-endpoint-arn", "pg-tgt",
            "--target-endpoint-arn", "pg-src", "--replication-instance-arn", "ri-verbs",
            "--migration-type", "full-load", "--table-mappings", MAPPINGS)


def test_it_refuses_an_arn_of_the_wrong_kind_or_account(parts):
    with pytest.raises(CommandError, match="is the ARN of a replication instance, not of an endpoint"):
        dms("create-replication-task", "--replication-task-identifier", "x",
            "--source-endpoint-arn", "arn:aws:dms:local:000000000000:rep:ri-verbs", "--target-endpoint-arn",
            "pg-tgt", "--replication-instance-arn", "ri-verbs", "--migration-type", "full-load",
            "--table-mappings", MAPPINGS)
    with pytest.raises(CommandError, match="names region 'us-east-1' and account '123456789012'"):
        dms("describe-table-statistics", "--replication-task-arn", "arn:aws:dms:us-east-1:123456789012:task:ABC")


def test_it_filters_tasks_and_leaves_settings_out_on_request(parts):
    instance, source, target = parts
    full = make_task(identifier="a-full", migration_type="full-load", instance=instance, source=source,
                     target=target)
    make_task(identifier="b-cdc", migration_type="cdc")
    listed = dms("describe-replication-tasks", "--filters", "Name=migration-type,Values=full-load,cdc",
                 "--without-settings")["ReplicationTasks"]
    assert [t["ReplicationTaskIdentifier"] for t in listed] == ["a-full", "b-cdc"]
    assert all("TableMappings" not in t and "ReplicationTaskSettings" not in t for t in listed)
    by_arn = dms("describe-replication-tasks", "--filters",
                 f"Name=replication-task-arn,Values=arn:aws:dms:local:000000000000:task:{full.resource_id}")
    assert [t["ReplicationTaskIdentifier"] for t in by_arn["ReplicationTasks"]] == ["a-full"]
    by_endpoint = dms("describe-replication-tasks", "--filters",
                      '[{"Name": "endpoint-arn", "Values": ["arn:aws:dms:local:000000000000:endpoint:pg-tgt"]}]')
    assert [t["ReplicationTaskIdentifier"] for t in by_endpoint["ReplicationTasks"]] == ["a-full"]
    with pytest.raises(CommandError, match="Unknown filter 'status'"):
        dms("describe-replication-tasks", "--filters", "Name=status,Values=running")


def test_it_prints_table_statistics_filtered_by_state(parts):
    task = make_task(status="running", has_run=True)
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", table_state="Table completed",
                                   inserts=3, updates=2, deletes=1, ddls=0, full_load_rows=500)
    TableStatistics.objects.create(task=task, schema_name="shop", table_name="lines", table_state="Table error")
    out = dms("describe-table-statistics", "--replication-task-arn", task.identifier,
              "--filters", "Name=table-state,Values=Table completed")
    (row,) = out["TableStatistics"]
    assert out["ReplicationTaskArn"] == f"arn:aws:dms:local:000000000000:task:{task.resource_id}"
    assert {k: row[k] for k in ("SchemaName", "TableName", "Inserts", "Updates", "Deletes", "Ddls", "FullLoadRows",
                                "TableState", "FullLoadReloaded", "ValidationState")} == {
        "SchemaName": "shop", "TableName": "orders", "Inserts": 3, "Updates": 2, "Deletes": 1, "Ddls": 0,
        "FullLoadRows": 500, "TableState": "Table completed", "FullLoadReloaded": False,
        "ValidationState": "Not enabled"}
    assert "LastUpdateTime" in row


def test_it_parses_tables_to_reload_as_the_aws_cli_shorthand(parts):
    task = make_task(status="running", has_run=True)
    for name in ("orders", "order,lines"):
        TableStatistics.objects.create(task=task, schema_name="shop", table_name=name, table_state="Table completed")
    out = dms("reload-tables", "--replication-task-arn", task.identifier, "--tables-to-reload",
              "SchemaName=shop,TableName=orders", "SchemaName=shop,TableName=order,lines")
    assert out == {"ReplicationTaskArn": f"arn:aws:dms:local:000000000000:task:{task.resource_id}"}
    assert json.loads(ReplicationTask.objects.get(pk=task.pk).reload_requested) == [
        ["shop", "orders"], ["shop", "order,lines"]]


def test_it_reads_cdc_times_as_epoch_seconds_or_iso(parts):
    task = create("--cdc-start-time", "1767225600")["ReplicationTask"]
    assert task["CdcStartTime"] == "2026-01-01T00:00:00+00:00"
    modified = dms("modify-replication-task", "--replication-task-arn", task["ReplicationTaskArn"],
                   "--cdc-start-time", "2026-02-01T12:00:00")["ReplicationTask"]
    assert modified["CdcStartTime"] == "2026-02-01T12:00:00+00:00"


@pytest.mark.django_db(transaction=True)
def test_it_exits_1_with_the_reason_on_stderr(parts):
    make_task(identifier="done-task", status="stopped", has_run=True)
    result = subprocess.run([sys.executable, "manage.py", "dms", "start-replication-task", "--replication-task-arn",
                             "done-task", "--start-replication-task-type", "start-replication"],
                            cwd=ROOT, env=worker_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    assert ("Cannot start task done-task with start-replication: it has run before. Use resume-processing "
            "(Resume) or reload-target (Restart).") in result.stderr
