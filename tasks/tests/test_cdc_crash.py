"""Crash safety: the runner killed with SIGKILL at random moments, ten times, then resumed.

Kills land during the full load, while cached changes apply and during ongoing
replication; a writer keeps changing the source throughout. At the end every target
table equals its source row for row; the insert-only audit_log table has no primary
key, so a change applied twice would show as a duplicate row, and a lost one as a gap.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .cdc_workload import Workload, mappings_for, wait_until_equal

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.live, pytest.mark.slow]


def runner(source: str, target: str, tmp_path: Path, resume: bool) -> subprocess.Popen:
    mappings = tmp_path / "mappings.json"
    mappings.write_text(json.dumps(mappings_for(source)))
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"FullLoadSettings": {"CommitRate": 500, "MaxFullLoadSubTasks": 2}}))
    command = [sys.executable, "-m", "tasks.engine", "run", "--source", source, "--target", target,
               "--table-mappings", str(mappings), "--task-settings", str(settings),
               "--migration-type", "full-load-and-cdc", "--task-id", "crash", "--spool-dir", str(tmp_path / "spool"),
               "--threads"]
    if resume:
        command.append("--resume")
    log = open(tmp_path / "runner.log", "a")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def test_it_survives_ten_sigkills_without_losing_or_repeating_a_change(pg_database, tmp_path):
    source, target = pg_database(), pg_database()
    workload = Workload(source, seed=5)
    workload.create(orders=20000)
    chance = random.Random(2026)
    workload.start(rate=100)
    try:
        for attempt in range(10):
            process = runner(source, target, tmp_path, resume=attempt > 0)
            time.sleep(chance.uniform(0.5, 6.0))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    finally:
        workload.stop()
    final = runner(source, target, tmp_path, resume=True)
    try:
        difference = wait_until_equal(source, target, timeout=180)
    finally:
        final.send_signal(signal.SIGTERM)
        code = final.wait(timeout=60)
    log = (tmp_path / "runner.log").read_text()
    assert difference == {}, log[-3000:]
    assert code == 0, log[-3000:]
    assert "Stop Reason NORMAL" in log
