"""Full-load tasks through the `dms` verbs, on real workers, Redis, MariaDB and PostgreSQL."""

from __future__ import annotations

import pytest

from .cdc_workload import Workload, differences, mappings_for, schema_of, table_rows
from .task_cluster import Cluster, dms, write_json

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(tmp_path, pg_database, mysql_database):  # set up after the databases: stopped before they drop
    cluster = Cluster(tmp_path)
    dms("create-replication-instance", "--replication-instance-identifier", cluster.instance)
    yield cluster
    cluster.close()


def test_it_runs_a_full_load_task_from_mysql_to_postgresql(cluster, mysql_database, pg_database, tmp_path):
    source, target = mysql_database(), pg_database()
    Workload(source).create(accounts=200, orders=500)
    cluster.start_worker("a")
    src, tgt = cluster.create_endpoints(source, target)
    created = dms("create-replication-task", "--replication-task-identifier", "Orders-Full",
                  "--source-endpoint-arn", src, "--target-endpoint-arn", tgt,
                  "--replication-instance-arn", cluster.instance, "--migration-type", "full-load",
                  "--table-mappings", write_json(tmp_path / "m.json", mappings_for(source)))["ReplicationTask"]
    assert created["ReplicationTaskIdentifier"] == "orders-full"
    assert created["Status"] == "ready"
    arn = created["ReplicationTaskArn"]
    assert arn.startswith("arn:aws:dms:local:000000000000:task:")

    started = dms("start-replication-task", "--replication-task-arn", arn,
                  "--start-replication-task-type", "start-replication")["ReplicationTask"]
    assert started["Status"] == "starting"
    done = cluster.wait_status("orders-full", "stopped")
    assert done["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    stats = done["ReplicationTaskStats"]
    assert (stats["FullLoadProgressPercent"], stats["TablesLoaded"], stats["TablesLoading"], stats["TablesQueued"],
            stats["TablesErrored"]) == (100, 4, 0, 0, 0)
    assert stats["FullLoadStartDate"] <= stats["FullLoadFinishDate"] <= stats["StopDate"]

    tables = cluster.tables(arn)
    assert sorted(tables) == ["accounts", "audit_log", "order_lines", "orders"]
    assert {t["TableState"] for t in tables.values()} == {"Table completed"}
    assert tables["accounts"]["FullLoadRows"] == 200
    assert tables["orders"]["FullLoadRows"] == 500
    assert tables["order_lines"]["FullLoadRows"] == len(table_rows(source, schema_of(source), "order_lines"))
    assert differences(source, target) == {}

    log = "\n".join(cluster.log_lines(arn))
    assert f"[TASK_MANAGER]I: Task running on worker {cluster.instance}-a@testhost (start-replication)" in log
    assert "Task stopped: Stop Reason FULL_LOAD_ONLY_FINISHED" in log
