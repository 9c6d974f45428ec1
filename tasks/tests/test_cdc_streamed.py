"""Large source transactions that PostgreSQL streams while they are still in progress (protocol v2):
written to the target ahead of their commit when they arrive alone, kept on the worker and applied at
their commit otherwise; either way each is applied exactly once, atomically, in commit order."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from .cdc_harness import spec_for, start, target_schema
from .cdc_workload import TABLES, Workload, differences, wait_until_equal

pytestmark = [pytest.mark.live, pytest.mark.slow]

SMALL_DECODING_MEMORY = "?logicalDecodingWorkMem=64"  # kB: a few hundred rows make a transaction stream
BATCH = {"TargetMetadata": {"BatchApplyEnabled": True}, "ChangeProcessingTuning": {"BatchApplyTimeoutMin": 1}}


def plain(url: str) -> str:
    return url.split("?")[0]


def target_locks(target: str, table: str) -> int:
    """Locks another session holds on the target table: the applier's open transaction."""
    with psycopg.connect(plain(target), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                            "WHERE c.relname = %s AND l.pid <> pg_backend_pid()", (table,)).fetchone()[0]


def wait_for(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def target_count(target: str, table: str) -> int:
    with psycopg.connect(plain(target), autocommit=True) as conn:
        return conn.execute(f"SELECT count(*) FROM app.{table}").fetchone()[0]


@pytest.mark.parametrize("settings", [None, BATCH], ids=["transactional", "batch"])
def test_a_lone_large_transaction_is_written_before_the_source_commits_it(pg_database, tmp_path, settings):
    source, target = pg_database() + SMALL_DECODING_MEMORY, pg_database()
    Workload(source).create(orders=200)
    task = start(spec_for(source, target, tmp_path, settings=settings))
    try:
        task.wait_for_replication(len(TABLES))
        before = target_count(target, "audit_log")
        for outcome in ("commit", "rollback"):
            with psycopg.connect(plain(source)) as big:
                big.execute("INSERT INTO app.audit_log SELECT g, %s, now() FROM generate_series(1, 3000) g",
                            (outcome,))
                assert wait_for(lambda: target_locks(target, "audit_log") > 0), \
                    f"nothing was written to the target before the source's {outcome}"
                assert target_count(target, "audit_log") == before  # written, not committed
                getattr(big, outcome)()
            if outcome == "rollback":
                assert wait_for(lambda: target_locks(target, "audit_log") == 0), "the rollback left it open"
            assert wait_until_equal(source, target, timeout=60) == {}
            before = target_count(target, "audit_log")
        assert before == 3000
    finally:
        result = task.finish()
    assert result.error is None and result.stop_reason == "Stop Reason NORMAL"


def _large_transactions(source: str, errors: list) -> None:
    """Three large transactions at once: one with a savepoint rolled back and one released, one rolled
    back as a whole, one updating and deleting rows the writer also touches."""
    try:
        with (psycopg.connect(plain(source)) as first, psycopg.connect(plain(source)) as second,
              psycopg.connect(plain(source)) as third):
            first.execute("INSERT INTO app.audit_log SELECT g, 'first', now() FROM generate_series(1, 1500) g")
            second.execute("INSERT INTO app.audit_log SELECT g, 'second', now() FROM generate_series(1, 1500) g")
            first.execute("SAVEPOINT a")
            first.execute("INSERT INTO app.audit_log SELECT g, 'released', now() FROM generate_series(1, 800) g")
            first.execute("RELEASE SAVEPOINT a")
            third.execute("UPDATE app.order_lines SET qty = qty + 1000 WHERE order_id % 3 = 0")
            time.sleep(0.5)
            first.execute("SAVEPOINT b")
            first.execute("INSERT INTO app.audit_log SELECT g, 'void', now() FROM generate_series(1, 1500) g")
            first.execute("ROLLBACK TO SAVEPOINT b")
            second.rollback()
            first.execute("INSERT INTO app.audit_log SELECT g, 'after', now() FROM generate_series(1, 700) g")
            third.execute("DELETE FROM app.order_lines WHERE order_id % 3 = 0 AND line = 1")
            first.commit()
            time.sleep(0.5)
            third.commit()
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


@pytest.mark.parametrize("target_kind", ["postgres", "mysql"])
def test_large_transactions_interleaved_with_others_converge(pg_database, mysql_database, tmp_path, target_kind):
    source = pg_database() + SMALL_DECODING_MEMORY
    target = pg_database() if target_kind == "postgres" else mysql_database()
    workload = Workload(source, seed=5)
    workload.create(orders=1500)
    task = start(spec_for(source, target, tmp_path))
    try:
        task.wait_for_replication(len(TABLES))
        workload.start(rate=100)
        errors: list = []
        big = threading.Thread(target=_large_transactions, args=(source, errors))
        big.start()
        big.join(60)
        time.sleep(1)
    finally:
        workload.stop()
    assert not errors, errors
    assert workload.committed > 20
    assert wait_until_equal(source, target, target_schema=target_schema(source, target)) == {}
    kept = [m for _c, _s, m in task.reporter.logs if "applied when the source commits it" in m]
    result = task.finish()
    assert result.error is None, result.error
    assert kept, "no large transaction was kept aside: the test did not interleave them"
    assert differences(source, target, target_schema(source, target)) == {}
