"""Live task tests: real worker and scheduler processes on the real Redis, the CLI, and waiting.

A Cluster serves one replication instance (unique per test, so a unique queue) with
`python manage.py dms worker` processes (solo pool, unless a test asks otherwise) and
a `python manage.py dms scheduler` process on a control queue of its own, all with
short lease, heartbeat and sweep intervals. Tests talk to it only through the `dms`
verbs (`Cluster.dms`), run in-process with call_command: the same code as
`python manage.py dms ...`, without a second of interpreter start-up per call.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management import call_command

from dmsconsole.tests.fixtures import unique

from .workers import ROOT, worker_env

FAST = {  # seconds
    "DMS_LEASE_SECONDS": "4",
    "DMS_LEASE_RENEW_SECONDS": "1",
    "DMS_SWEEP_SECONDS": "1",
    "DMS_HEARTBEAT_SECONDS": "1",
}


def dms(*args: str) -> Any:
    """Run a verb in-process and return its JSON output (or the text when it is not JSON)."""
    out = io.StringIO()
    call_command("dms", *args, stdout=out)
    text = out.getvalue()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class Cluster:
    def __init__(self, tmp_path: Path, *, env: dict[str, str] | None = None):
        self.tmp_path = tmp_path
        self.instance = unique("ri")
        self.control_queue = f"dms.control.{self.instance}"
        self.env = {**FAST, "DMS_CONTROL_QUEUE": self.control_queue, "DMS_SPOOL_DIR": str(tmp_path / "spool"),
                    **(env or {})}
        self.workers: dict[str, subprocess.Popen] = {}
        self.scheduler: subprocess.Popen | None = None
        self._logs: list[Any] = []

    # -- processes -------------------------------------------------------------------------------
    def _spawn(self, argv: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.tmp_path / log_name, "wb")
        self._logs.append(log)
        return subprocess.Popen([sys.executable, "manage.py", "dms", *argv], cwd=ROOT, env=worker_env(**self.env),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_worker(self, letter: str, *, pool: str = "solo", concurrency: int | None = None) -> str:
        """Start worker `letter`; returns its Celery node name once its heartbeat shows it online."""
        from tasks.models import ReplicationInstance

        node = f"{self.instance}-{letter}@testhost"
        argv = ["worker", "--instance", self.instance, "--pool", pool, "--name", node, "--loglevel", "INFO"]
        if concurrency:
            argv += ["--concurrency", str(concurrency)]
        self.workers[node] = self._spawn(argv, f"worker-{letter}.log")
        instance = ReplicationInstance.objects.get(identifier=self.instance)
        wait_for(f"worker {node} online", lambda: self._check_alive(node) and
                 instance.online_workers().filter(hostname=node).exists(), timeout=90)
        return node

    def start_scheduler(self) -> None:
        self.scheduler = self._spawn(["scheduler", "--schedule", str(self.tmp_path / "beat-schedule"),
                                      "--name", f"scheduler-{self.instance}@testhost"], "scheduler.log")

    def _check_alive(self, node: str) -> bool:
        proc = self.workers[node]
        if proc.poll() is not None:
            raise AssertionError(f"worker {node} exited with {proc.returncode}:\n{self.log(node)}")
        return True

    def log(self, node: str) -> str:
        letter = node.split("@")[0].rsplit("-", 1)[1]
        return (self.tmp_path / f"worker-{letter}.log").read_text(errors="replace")

    def kill(self, node: str, sig: int = signal.SIGKILL) -> None:
        """Signal the worker's main process only (a crash does not kill the process group)."""
        os.kill(self.workers[node].pid, sig)

    def wait_exit(self, node: str, timeout: float = 60.0) -> int:
        return self.workers[node].wait(timeout=timeout)

    def close(self) -> None:
        procs = [p for p in [*self.workers.values(), self.scheduler] if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            try:  # loaders a SIGKILLed worker left behind die with it (PR_SET_PDEATHSIG); be sure anyway
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for log in self._logs:
            log.close()

    # -- the task --------------------------------------------------------------------------------
    def task(self, identifier: str) -> dict:
        (task,) = dms("describe-replication-tasks", "--filters", f"Name=replication-task-id,Values={identifier}",
                      "--without-settings")["ReplicationTasks"]
        return task

    def tables(self, identifier: str) -> dict[str, dict]:
        stats = dms("describe-table-statistics", "--replication-task-arn", identifier)["TableStatistics"]
        return {row["TableName"]: row for row in stats}

    def wait_status(self, identifier: str, *statuses: str, timeout: float = 120.0) -> dict:
        def check():
            task = self.task(identifier)
            if task["Status"] == "failed" and "failed" not in statuses:
                raise AssertionError(f"task failed: {task.get('LastFailureMessage')}")
            return task if task["Status"] in statuses else None

        return wait_for(f"task {identifier} {' or '.join(statuses)}", check, timeout=timeout)

    def log_lines(self, identifier: str) -> list[str]:
        text = dms("describe-replication-task-logs", "--replication-task-arn", identifier)
        return text.splitlines() if isinstance(text, str) else []

    def diagnostics(self, identifier: str | None = None) -> str:
        """The task's log and the tail of every process log, for assertion messages."""
        parts = []
        if identifier:
            parts.append("task log:\n" + "\n".join(self.log_lines(identifier)[-60:]))
        for path in sorted(self.tmp_path.glob("*.log")):
            parts.append(f"{path.name}:\n" + path.read_text(errors="replace")[-4000:])
        return "\n\n".join(parts)

    def lease_holder(self, identifier: str) -> str | None:
        from tasks.models import ReplicationTask

        owner = ReplicationTask.objects.filter(identifier=identifier).values_list("lease_owner", flat=True).first()
        return owner.split("|")[0] if owner else None

    def create_endpoints(self, source_url: str, target_url: str) -> tuple[str, str]:
        from endpoints.engines.conninfo import ConnectionInfo

        names = []
        for url, kind in ((source_url, "source"), (target_url, "target")):
            info = ConnectionInfo.from_url(url)
            name = unique(kind)
            dms("create-endpoint", "--endpoint-identifier", name, "--endpoint-type", kind,
                "--engine-name", info.engine, "--server-name", info.host, "--port", str(info.port),
                "--database-name", info.database, "--username", info.username, "--password", info.password)
            names.append(name)
        return names[0], names[1]


def write_json(path: Path, document: dict) -> str:
    path.write_text(json.dumps(document))
    return f"file://{path}"
