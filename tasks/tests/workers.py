"""A real Celery worker for live tests: `python manage.py dms worker` in a subprocess.

It serves one replication instance (a unique identifier per test, hence a unique queue
on the shared Redis) and reads the test database, which is a file (SQLite) or a
PostgreSQL database, so the test must use `transactional_db` for the worker to see rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database the tests are using right now (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return "sqlite:///" + str(db["NAME"])
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "dmsconsole.settings",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "DMS_ENCRYPTION_KEY": settings.DMS_ENCRYPTION_KEY,
        "REDIS_URL": settings.REDIS_URL,
        "DMS_HEARTBEAT_SECONDS": "1",
        "DMS_LOG_LEVEL": "INFO",
    })
    env.update(extra)
    return env


@contextmanager
def running_worker(identifier: str, log_path: Path, *, wait_online: float = 60.0) -> Iterator[subprocess.Popen]:
    """Start a worker for `identifier`, wait until its heartbeat shows it online, stop it afterwards."""
    from tasks.models import ReplicationInstance

    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "dms", "worker", "--instance", identifier, "--pool", "solo",
         "--loglevel", "INFO"],
        cwd=ROOT, env=worker_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + wait_online
        instance = ReplicationInstance.objects.get(identifier=identifier)
        while not instance.online_workers().exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker for {identifier} did not come online:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
