"""Spool records of many transactions, as the capture batches the ones ready together.

The apply loop takes such a record in one pass when every transaction in it goes the same way;
these tests hold it to what taking them one by one gives, where they do not.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from endpoints.engines.base import Op, RowChange
from endpoints.tests.postgres_support import run_sql
from tasks.engine.apply import ApplyOptions

from .test_apply_loop_cache import drain_while_loading
from .test_apply_loop_pg import (  # noqa: F401 - tables is a fixture
    EXPECTED_ACCOUNTS,
    EXPECTED_AUDIT,
    EXPECTED_COUNTS,
    T0,
    TASK,
    contents,
    counted,
    history,
    lsn,
    lsn_key,
    run_loop,
    saved_checkpoint,
    tables,
    txn,
)

pytestmark = pytest.mark.live


@pytest.mark.parametrize("batch", [False, True])
def test_a_record_of_transactions_applies_them_all_and_checkpoints_the_last(tables, tmp_path, batch):  # noqa: F811
    options = ApplyOptions(batch_apply=batch, batch_timeout_min=0.0)
    run = run_loop(tables, tmp_path, [history(tables)], until=lsn(5), options=options)
    assert run.error is None
    assert contents(tables.url, "accounts") == EXPECTED_ACCOUNTS
    assert contents(tables.url, "audit") == EXPECTED_AUDIT
    checkpoint, states = saved_checkpoint(tables.url)
    assert checkpoint.position == lsn(5)
    assert states[("app", "accounts")].applied_position == lsn(5)
    assert states[("app", "audit")].applied_position == lsn(5)
    if not batch:  # batch apply nets the window, so it counts fewer changes
        assert counted(run) == EXPECTED_COUNTS


def test_a_replayed_record_applies_only_the_transactions_after_the_checkpoint(tables, tmp_path):  # noqa: F811
    run_loop(tables, tmp_path, [history(tables)[:3]], until=lsn(3))
    checkpoint, _ = saved_checkpoint(tables.url)
    # The stream restarts at the checkpoint: one record holds transactions 2 and 3 again, then 4 and 5.
    again = run_loop(tables, tmp_path, [history(tables)[1:]], until=lsn(5), checkpoint=checkpoint)
    assert again.error is None
    assert contents(tables.url, "accounts") == EXPECTED_ACCOUNTS
    assert contents(tables.url, "audit") == EXPECTED_AUDIT  # the keyless table shows nothing ran twice
    assert counted(again) == {"accounts": (1, 1, 0), "audit": (2, 0, 0)}


def test_a_record_spanning_a_loading_tables_snapshot_applies_only_what_came_after_it(tables, tmp_path):  # noqa: F811
    t = tables
    record = [txn(1, t.ins("accounts", 1, "in the snapshot", 10), t.ins("audit", 1, "one")),
              txn(3, t.ins("accounts", 2, "after it", 20), t.ins("audit", 2, "three"))]
    # The snapshot the table was loaded from (at lsn 2) holds transaction 1's row, not transaction 3's.
    drain_while_loading(t, tmp_path, [record], lsn(2), before_loaded=lambda: run_sql(
        t.url, "INSERT INTO app.accounts VALUES (1, 'in the snapshot', 10)"))
    assert contents(t.url, "accounts") == [(1, "in the snapshot", 10), (2, "after it", 20)]
    assert contents(t.url, "audit") == [(1, "one"), (2, "three")]


@pytest.mark.parametrize("handled", [True, False])
def test_a_truncate_inside_a_record_keeps_its_place(tables, tmp_path, handled):  # noqa: F811
    t = tables
    record = [txn(1, t.ins("accounts", 1, "before", 10)),
              txn(2, RowChange(Op.TRUNCATE, t.rel["accounts"])),
              txn(3, t.ins("accounts", 2, "after", 20))]
    run = run_loop(t, tmp_path, [record], until=lsn(3), options=ApplyOptions(handle_truncate=handled))
    assert run.error is None
    expected = [(2, "after", 20)] if handled else [(1, "before", 10), (2, "after", 20)]
    assert contents(t.url, "accounts") == expected  # HandleSourceTableTruncated false: the TRUNCATE is skipped


def test_a_stop_time_inside_a_record_applies_the_transactions_before_it(tables, tmp_path):  # noqa: F811
    t = tables
    record = [txn(n, t.ins("audit", n, f"at {n} s")) for n in (1, 2, 3)]  # committed at T0 + n seconds
    options = ApplyOptions(stop_after_commit_time=T0 + timedelta(seconds=2.5))
    run = run_loop(t, tmp_path, [record], until=None, options=options)
    assert run.error is None
    assert run.loop.stop_reason_override == "Stop Reason STOPPED_AT_COMMIT_TIME"
    assert contents(t.url, "audit") == [(1, "at 1 s"), (2, "at 2 s")]
    assert saved_checkpoint(t.url)[0].position == lsn(2)
