"""Cached changes of a table that is still loading, across the pieces of a large transaction."""

from __future__ import annotations

import threading
import time

import pytest

from endpoints.engines.conninfo import ConnectionInfo
from tasks.engine.apply import ApplyLoop, ApplyOptions, Checkpoint
from tasks.engine.reporting import RecordingReporter, TableKey
from tasks.engine.routing import RouteStatus
from tasks.engine.spool import Spool

from .test_apply_loop_pg import TASK, contents, lsn, lsn_key, tables, txn  # noqa: F401 - fixture

pytestmark = pytest.mark.live


def drain_while_loading(t, tmp_path, records: list, snapshot: str, before_loaded=None) -> ApplyLoop:
    """Apply `records` while app.accounts loads, then report it loaded at `snapshot` (exact) and wait
    until its cached changes drained. `before_loaded` runs just before (to fill the table as its load did)."""
    routes = t.routes()
    accounts = routes[TableKey("app", "accounts")]
    accounts.status = RouteStatus.LOADING
    spool = Spool(tmp_path / "spool", 10**9)
    for record in records:
        spool.append(record)
    stop = threading.Event()
    loop = ApplyLoop(target=ConnectionInfo.from_url(t.url), control_schema="", task_id=TASK, routes=routes,
                     checkpoint=Checkpoint("full-load", start=lsn(0)), options=ApplyOptions(),
                     reporter=RecordingReporter(), position_key=lsn_key, spool=spool, cache_dir=tmp_path / "cache",
                     cache_limit=10**9, acknowledge=lambda position: None, capture_error=lambda: None, stop=stop)
    thread = threading.Thread(target=lambda: _quietly(loop.run), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while spool.backlog and time.monotonic() < deadline:
        time.sleep(0.05)
    if before_loaded is not None:
        before_loaded()
    loop.table_loaded(accounts.key, snapshot, exact=True)
    while not loop.all_replicating.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(30)
    assert loop.all_replicating.is_set(), "the cache drain never finished"
    return loop


def test_it_drains_a_cache_whose_transaction_ended_in_a_piece_without_that_table(tables, tmp_path):  # noqa: F811
    t = tables
    # One source transaction in two pieces: only the first touches the table being loaded, which was
    # loaded from a snapshot taken before the transaction.
    drain_while_loading(t, tmp_path, [txn(5, t.ins("accounts", 1, "ann", 10), complete=False, xid="77"),
                                      txn(5, t.ins("audit", 1, "opened"), xid="77")], lsn(2))
    assert contents(t.url, "accounts") == [(1, "ann", 10)]
    assert contents(t.url, "audit") == [(1, "opened")]


def _quietly(body) -> None:
    try:
        body()
    except Exception:  # StopRequested once the test stops it
        pass
