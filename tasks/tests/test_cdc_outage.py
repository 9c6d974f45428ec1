"""Target outage: the target is unreachable for 30 s while the source keeps changing.

The target is reached through a TCP proxy the test cuts (the source stays up). The
applier retries with backoff while the capture keeps filling the spool; when the
target returns the spool drains and the task converges without being restarted.
The source is read once: the stream is never reopened and every change read from it
is applied exactly once.
"""

from __future__ import annotations

import time

import pytest

from endpoints.engines.conninfo import ConnectionInfo
from tasks.engine.reporting import Component

from .cdc_harness import spec_for, start
from .cdc_workload import TABLES, Workload, wait_until_equal
from .tcp_proxy import TcpProxy

pytestmark = [pytest.mark.live, pytest.mark.slow]


def through(proxy: TcpProxy, url: str) -> str:
    info = ConnectionInfo.from_url(url)
    return url.replace(f"{info.host}:{info.port}", f"127.0.0.1:{proxy.port}")


def test_it_buffers_through_a_target_outage_and_drains_without_rereading_the_source(pg_database, tmp_path):
    source, target = pg_database(), pg_database()
    info = ConnectionInfo.from_url(target)
    proxy = TcpProxy(info.host, info.port)
    workload = Workload(source, seed=3)
    workload.create()
    settings = {"ErrorBehavior": {"RecoverableErrorInterval": 1, "RecoverableErrorThrottlingMax": 4}}
    task = start(spec_for(source, through(proxy, target), tmp_path, settings=settings))
    opened = []
    original_open = task.runner.source.open_stream
    task.runner.source.open_stream = lambda *a, **k: opened.append(1) or original_open(*a, **k)
    try:
        task.wait_for_replication(len(TABLES))
        workload.start(rate=100)
        time.sleep(2)
        proxy.cut()
        time.sleep(30)
        backlog_during_outage = task.runner.spool.backlog
        proxy.restore()
        time.sleep(3)
    finally:
        workload.stop()
    assert wait_until_equal(source, target, timeout=120) == {}
    assert backlog_during_outage > 0, "the capture must keep reading into the spool while the target is down"
    retries = [m for c, _, m in task.reporter.logs if c is Component.TARGET_APPLY and "Target unavailable" in m]
    assert len(retries) >= 2
    stream = task.runner.stream
    assert task.thread.is_alive()
    result = task.finish()
    # Counted once the run ended: a group's counts are reported just after its commit is visible.
    applied = sum(c.inserts + c.updates + c.deletes for c in task.reporter.counts.values())
    assert result.error is None
    assert len(opened) == 1, "the source stream was reopened: changes were read twice"
    assert stream.read_changes == applied, (stream.read_changes, applied)
    proxy.close()
