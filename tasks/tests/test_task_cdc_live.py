"""The end-to-end test of issue 5: a full-load-and-cdc task driven only through the `dms` verbs, with a
real worker process, Redis, MariaDB (source) and PostgreSQL (target): load, replicate, stop, resume."""

from __future__ import annotations

import pytest

from .cdc_workload import differences, mappings_for, schema_of, table_rows, wait_until_equal
from .task_cluster import Cluster, dms, wait_for, write_json
from .task_sources import CDC_SOURCES, cdc_source

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(tmp_path, pg_database, mysql_database):  # set up after the databases: stopped before they drop
    cluster = Cluster(tmp_path)
    dms("create-replication-instance", "--replication-instance-identifier", cluster.instance)
    yield cluster
    cluster.close()


def all_completed(cluster: Cluster, arn: str, count: int) -> bool:
    tables = cluster.tables(arn)
    return len(tables) == count and all(t["TableState"] == "Table completed" for t in tables.values())


@pytest.mark.parametrize("source_engine", CDC_SOURCES)
def test_it_loads_replicates_stops_and_resumes_through_the_dms_verbs(source_engine, cluster, pg_database,
                                                                     mysql_database, tmp_path):
    source, workload = cdc_source(source_engine, pg_database, mysql_database, seed=3)
    target = pg_database()
    cluster.start_worker("a")
    src, tgt = cluster.create_endpoints(source, target)
    for endpoint in (src, tgt):
        tested = dms("test-connection", "--replication-instance-arn", f"arn:aws:dms:local:000000000000:rep:"
                     f"{cluster.instance}", "--endpoint-arn", endpoint)["Connection"]
        assert tested["Status"] == "successful", tested

    endpoints = {e["EndpointIdentifier"]: e["EndpointArn"] for e in dms("describe-endpoints")["Endpoints"]}
    settings = {"FullLoadSettings": {"CommitRate": 500}, "ChangeProcessingTuning": {"CommitTimeout": 1}}
    created = dms("create-replication-task", "--replication-task-identifier", "shop-cdc",
                  "--source-endpoint-arn", endpoints[src], "--target-endpoint-arn", endpoints[tgt],
                  "--replication-instance-arn", cluster.instance, "--migration-type", "full-load-and-cdc",
                  "--table-mappings", write_json(tmp_path / "mappings.json", mappings_for(source)),
                  "--replication-task-settings", write_json(tmp_path / "settings.json", settings))["ReplicationTask"]
    arn = created["ReplicationTaskArn"]
    assert created["Status"] == "ready"
    dms("start-replication-task", "--replication-task-arn", arn, "--start-replication-task-type", "start-replication")

    # "Load complete, replication ongoing": running, every table completed.
    wait_for("every table completed", lambda: all_completed(cluster, arn, 4), timeout=120)
    running = cluster.wait_status("shop-cdc", "running")
    assert running["ReplicationTaskStats"]["TablesLoaded"] == 4
    assert running["ReplicationTaskStats"]["FullLoadProgressPercent"] == 100
    assert differences(source, target) == {}

    workload.run_for(60)
    assert wait_until_equal(source, target, timeout=90) == {}, cluster.diagnostics(arn)
    schema = schema_of(source)
    audit_rows = len(table_rows(source, schema, "audit_log"))  # every audit row came through CDC
    assert audit_rows > 0
    tables = wait_for("the counts reported", lambda: (t := cluster.tables(arn)) and
                      t["audit_log"]["Inserts"] == audit_rows and t, timeout=30)
    assert tables["audit_log"]["FullLoadRows"] == 0
    assert tables["orders"]["Inserts"] > 0 and tables["orders"]["Updates"] + tables["orders"]["Deletes"] > 0
    assert tables["accounts"]["Updates"] > 0

    stopping = dms("stop-replication-task", "--replication-task-arn", arn)["ReplicationTask"]
    assert stopping["Status"] in ("stopping", "stopped")
    stopped = cluster.wait_status("shop-cdc", "stopped")
    assert stopped["StopReason"] == "Stop Reason NORMAL"
    assert stopped.get("RecoveryCheckpoint")

    workload.run_for(60)  # while the task is stopped
    assert differences(source, target) != {}
    resumed = dms("start-replication-task", "--replication-task-arn", arn,
                  "--start-replication-task-type", "resume-processing")["ReplicationTask"]
    assert resumed["Status"] == "starting"
    cluster.wait_status("shop-cdc", "running")
    assert wait_until_equal(source, target, timeout=90) == {}, cluster.diagnostics(arn)
    audit_rows = len(table_rows(source, schema, "audit_log"))
    wait_for("the counts after resume", lambda: cluster.tables(arn)["audit_log"]["Inserts"] == audit_rows,
             timeout=30)
    assert {t["TableState"] for t in cluster.tables(arn).values()} == {"Table completed"}

    dms("stop-replication-task", "--replication-task-arn", arn)
    cluster.wait_status("shop-cdc", "stopped")
    deleting = dms("delete-replication-task", "--replication-task-arn", arn)["ReplicationTask"]
    assert deleting["Status"] == "deleting"
    wait_for("the task deleted", lambda: dms("describe-replication-tasks")["ReplicationTasks"] == [], timeout=60)
    if source_engine == "postgres":  # the slot and publications the task created went with it
        import psycopg

        with psycopg.connect(source) as conn:
            assert conn.execute("SELECT slot_name FROM pg_replication_slots WHERE database = current_database()"
                                ).fetchall() == []
            assert conn.execute("SELECT pubname FROM pg_publication").fetchall() == []
