"""Crash safety with a MySQL/MariaDB source: the runner killed with SIGKILL at random moments, ten times,
then resumed into PostgreSQL (test_cdc_crash.py is the PostgreSQL-source original).

The binary log keeps no state for a replica, so every run restarts from the checkpoint on the
target; each full-load reader takes its own snapshot and reports its position. A killed run's
binlog dump stays on the server until the next run, with the same replica id, replaces it.
At the end every target table equals its source row for row; audit_log has no key, so a
change applied twice shows as a duplicate row and a lost one as a gap.
"""

from __future__ import annotations

import random
import signal
import time

import pytest

from .cdc_workload import Workload, schema_of, wait_until_equal
from .test_cdc_crash import runner

pytestmark = [pytest.mark.live, pytest.mark.slow]


def test_it_survives_ten_sigkills_without_losing_or_repeating_a_change(mysql_database, pg_database, tmp_path):
    source, target = mysql_database(), pg_database()
    workload = Workload(source, seed=5)
    workload.create(orders=20000)
    chance = random.Random(2027)
    workload.start(rate=100)
    try:
        for attempt in range(10):
            process = runner(source, target, tmp_path, resume=attempt > 0)
            time.sleep(chance.uniform(0.5, 6.0))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    finally:
        workload.stop()
    assert workload.committed > 300 and workload.rolled_back > 10
    final = runner(source, target, tmp_path, resume=True)
    try:
        difference = wait_until_equal(source, target, timeout=180, target_schema=schema_of(source))
    finally:
        final.send_signal(signal.SIGTERM)
        code = final.wait(timeout=60)
    log = (tmp_path / "runner.log").read_text()
    assert difference == {}, log[-3000:]
    assert code == 0, log[-3000:]
    assert "Stop Reason NORMAL" in log
