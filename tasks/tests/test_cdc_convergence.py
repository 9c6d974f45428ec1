"""full-load-and-cdc under a live writer: every target table ends equal to its source, row for row."""

from __future__ import annotations

import time

import pytest

from tasks.engine.runner import StartMode

from .cdc_harness import PAIRS, spec_for, start, target_schema
from .cdc_workload import TABLES, Workload, differences, wait_until_equal

pytestmark = [pytest.mark.live, pytest.mark.slow]


def databases(kind: str, pg_database, mysql_database) -> str:
    return pg_database() if kind == "postgres" else mysql_database()


def _converges_under_a_live_writer(source: str, target: str, tmp_path, *, seed: int, settle: float,
                                   settings: dict | None = None) -> None:
    """full-load-and-cdc while the random writer runs: every target table must end equal to its source."""
    workload = Workload(source, seed=seed)
    workload.create(orders=3000)
    workload.start(rate=150)
    task = start(spec_for(source, target, tmp_path, settings=settings))
    try:
        task.wait_for_replication(len(TABLES))
        time.sleep(settle)
    finally:
        workload.stop()
    assert workload.committed > 100 and workload.rolled_back > 5
    assert wait_until_equal(source, target, target_schema=target_schema(source, target)) == {}
    result = task.finish()
    assert result.stop_reason == "Stop Reason NORMAL" and result.error is None


@pytest.mark.parametrize(("source_kind", "target_kind"), PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
def test_it_converges_with_writes_during_the_load_and_after(source_kind, target_kind, pg_database, mysql_database,
                                                             tmp_path):
    _converges_under_a_live_writer(databases(source_kind, pg_database, mysql_database),
                                   databases(target_kind, pg_database, mysql_database), tmp_path, seed=7, settle=3)


@pytest.mark.parametrize(("source_kind", "target_kind"), PAIRS[:3:2], ids=["postgres-postgres", "postgres-mysql"])
def test_batch_apply_converges_with_writes_during_the_load_and_after(source_kind, target_kind, pg_database,
                                                                     mysql_database, tmp_path):
    """BatchApplyEnabled nets each window per key and writes it while the window is still open: under a
    live writer with key moves, deletes and re-inserts, every target table still ends equal."""
    settings = {"TargetMetadata": {"BatchApplyEnabled": True}, "ChangeProcessingTuning": {"BatchApplyTimeoutMin": 1}}
    _converges_under_a_live_writer(databases(source_kind, pg_database, mysql_database),
                                   databases(target_kind, pg_database, mysql_database), tmp_path, seed=13, settle=4,
                                   settings=settings)


@pytest.mark.parametrize(("source_kind", "target_kind"), PAIRS[:1], ids=["postgres-postgres"])
def test_it_resumes_after_a_stop_without_losing_or_repeating_changes(source_kind, target_kind, pg_database,
                                                                     mysql_database, tmp_path):
    source = databases(source_kind, pg_database, mysql_database)
    target = databases(target_kind, pg_database, mysql_database)
    workload = Workload(source, seed=11)
    workload.create()
    spec = spec_for(source, target, tmp_path)
    task = start(spec)
    task.wait_for_replication(len(TABLES))
    workload.run_for(200)
    assert wait_until_equal(source, target) == {}
    assert task.finish().stop_reason == "Stop Reason NORMAL"
    workload.run_for(300)  # while stopped: must be applied on resume, exactly once
    task = start(spec, StartMode.RESUME)
    task.wait_for_replication(len(TABLES))
    assert wait_until_equal(source, target) == {}
    task.finish()
    assert differences(source, target) == {}
