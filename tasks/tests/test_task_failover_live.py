"""Multi-AZ failover and worker shutdown, with real worker processes.

Two workers serve the instance and a scheduler sweeps expired leases every second
(leases last 4 s). The worker running the task is killed with SIGKILL during the
full load and again during change processing; the other worker takes the task
over within 30 s each time, the task log says so, and the target ends equal to the
source. Redis redelivers unacknowledged runner messages after 15 s here, so stale
copies of the killed runners' messages arrive too and must do nothing.
A worker receiving SIGTERM stops its runner at a transaction boundary and hands the
task to the other worker, without losing or repeating a change.
"""

from __future__ import annotations

import signal
import time

import pytest

from .cdc_workload import mappings_for, wait_until_equal
from .task_cluster import Cluster, dms, wait_for, write_json
from .task_sources import BIG, CDC_SOURCES, cdc_source, count_and_sum, schema_of

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TAKEOVER_LIMIT = 30.0  # seconds, from the kill to the other worker holding the lease


@pytest.fixture
def cluster(tmp_path, pg_database, mysql_database):  # set up after the databases: stopped before they drop
    cluster = Cluster(tmp_path, env={"DMS_VISIBILITY_TIMEOUT": "15"})
    dms("create-replication-instance", "--replication-instance-identifier", cluster.instance, "--multi-az")
    yield cluster
    cluster.close()


def create_task(cluster: Cluster, source: str, target: str, tmp_path, identifier: str, settings: dict) -> str:
    src, tgt = cluster.create_endpoints(source, target)
    created = dms("create-replication-task", "--replication-task-identifier", identifier,
                  "--source-endpoint-arn", src, "--target-endpoint-arn", tgt,
                  "--replication-instance-arn", cluster.instance, "--migration-type", "full-load-and-cdc",
                  "--table-mappings", write_json(tmp_path / "mappings.json", mappings_for(source)),
                  "--replication-task-settings", write_json(tmp_path / "settings.json", settings))
    arn = created["ReplicationTask"]["ReplicationTaskArn"]
    dms("start-replication-task", "--replication-task-arn", arn, "--start-replication-task-type", "start-replication")
    return arn


def kill_and_wait_for_takeover(cluster: Cluster, identifier: str) -> tuple[str, str, float]:
    holder = wait_for("a lease holder", lambda: cluster.lease_holder(identifier), timeout=60)
    killed_at = time.monotonic()
    cluster.kill(holder, signal.SIGKILL)
    cluster.wait_exit(holder, timeout=10)
    survivor = wait_for("another worker holding the lease",
                        lambda: (h := cluster.lease_holder(identifier)) not in (None, holder) and h,
                        timeout=TAKEOVER_LIMIT + 30)
    return holder, survivor, time.monotonic() - killed_at


def replicating(cluster: Cluster, arn: str, tables: int) -> bool:
    stats = cluster.tables(arn)
    return len(stats) == tables and all(t["TableState"] == "Table completed" for t in stats.values())


# Enough rows that the big table is still loading over several of the reporter's flushes (0.5 s) on a fast
# machine: with 400,000 rows, the wait for "Full load" with rows > 0 timed out in 3 of 8 runs one evening
# (the table loads at some 300,000 rows/s here).
BIG_ROWS = 1_200_000


@pytest.mark.parametrize("source_engine", CDC_SOURCES)
def test_it_fails_over_to_the_other_worker_during_the_full_load_and_during_cdc(
        source_engine, cluster, pg_database, mysql_database, tmp_path):
    source, workload = cdc_source(source_engine, pg_database, mysql_database, seed=11, big_rows=BIG_ROWS)
    target = pg_database()
    cluster.start_scheduler()
    first = cluster.start_worker("a")
    second = cluster.start_worker("b")
    settings = {"FullLoadSettings": {"CommitRate": 5000, "MaxFullLoadSubTasks": 2}}
    arn = create_task(cluster, source, target, tmp_path, "failover", settings)

    # 1. SIGKILL during the full load, once rows of the big table are arriving.
    wait_for("the big table loading", lambda: (t := cluster.tables(arn).get(BIG)) and
             t["TableState"] == "Full load" and t["FullLoadRows"] > 0, timeout=120, every=0.1)
    killed, survivor, seconds = kill_and_wait_for_takeover(cluster, "failover")
    print(f"takeover during the full load: {seconds:.1f} s ({killed} -> {survivor})")
    assert seconds < TAKEOVER_LIMIT
    assert {killed, survivor} == {first, second}
    wait_for("every table completed", lambda: replicating(cluster, arn, 5), timeout=180)
    log = "\n".join(cluster.log_lines(arn))
    assert f"Multi-AZ failover: task taken over from worker {killed} by worker {survivor}" in log, log

    # 2. SIGKILL during change processing, with the source busy.
    third = cluster.start_worker("c")
    workload.start(rate=40)
    time.sleep(3)
    killed_again, survivor_again, seconds = kill_and_wait_for_takeover(cluster, "failover")
    print(f"takeover during CDC: {seconds:.1f} s ({killed_again} -> {survivor_again})")
    assert seconds < TAKEOVER_LIMIT
    assert (killed_again, survivor_again) == (survivor, third)
    time.sleep(3)
    workload.stop()
    assert wait_until_equal(source, target, timeout=120) == {}, cluster.diagnostics(arn)
    assert count_and_sum(target, schema_of(source)) == count_and_sum(source, schema_of(source)) == (BIG_ROWS, 0)
    log = "\n".join(cluster.log_lines(arn))
    assert f"Multi-AZ failover: task taken over from worker {killed_again} by worker {survivor_again}" in log, log
    assert cluster.task("failover")["Status"] == "running"

    # Redis hands the killed runners' unacknowledged messages (and the live runner's) out again after the
    # visibility timeout (15 s here): an idle worker takes them, and each does nothing.
    idle = cluster.start_worker("d")
    wait_for("a redelivered runner message refused", lambda: "not run (stale dispatch, or the lease is held)" in
             cluster.log(idle), timeout=90)
    assert cluster.lease_holder("failover") == survivor_again


@pytest.mark.parametrize(("source_engine", "pool"), [*[(s, "solo") for s in CDC_SOURCES], ("postgres", "prefork")])
def test_it_hands_the_task_over_when_its_worker_gets_sigterm(source_engine, pool, cluster, pg_database,
                                                             mysql_database, tmp_path):
    """solo: the runner sees the shutdown in its own process; prefork: through the database."""
    source, workload = cdc_source(source_engine, pg_database, mysql_database, seed=17)
    target = pg_database()
    first = cluster.start_worker("a", pool=pool, concurrency=2 if pool == "prefork" else None)
    arn = create_task(cluster, source, target, tmp_path, "handover", {})
    wait_for("every table completed", lambda: replicating(cluster, arn, 4), timeout=120)
    second = cluster.start_worker("b")
    assert cluster.lease_holder("handover") == first

    workload.start(rate=60)
    time.sleep(3)
    signalled = time.monotonic()
    cluster.kill(first, signal.SIGTERM)
    assert cluster.wait_exit(first, timeout=60) == 0  # warm shutdown finished: the runner returned
    print(f"worker stopped {time.monotonic() - signalled:.1f} s after SIGTERM")
    wait_for("the other worker holding the lease", lambda: cluster.lease_holder("handover") == second, timeout=30)
    time.sleep(3)
    workload.stop()
    assert wait_until_equal(source, target, timeout=120) == {}, cluster.diagnostics(arn)
    log = "\n".join(cluster.log_lines(arn))
    assert (f"Worker {first} is shutting down: the task stopped at a transaction boundary and is handed over to "
            f"another worker of instance {cluster.instance}") in log, log
    assert f"Task handed over from worker {first} (shutting down) to worker {second}" in log, log
    assert cluster.task("handover")["Status"] == "running"
