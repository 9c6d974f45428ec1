"""Server render time of the Database migration tasks list with 200 tasks (target: under 300 ms).

    .venv/bin/python bench/tasks_list.py [--tasks 200] [--runs 30] [--database-url URL]

Builds a console database (a fresh SQLite file by default, the production default for one
machine; or the PostgreSQL database named by --database-url, which must be empty), with N
tasks spread over 3 replication instances and 8 endpoints, in every status, with table
counters and CDC latency, then asks for /tasks/ as a signed-in Viewer through Django's
whole request path (middleware, session, view, template) R times. Prints the median and
95th percentile render time and the number of queries, for 10 tasks and for N, and
writes bench/results/tasks_list.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_MS = 300


def setup_django(database_url: str) -> None:
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("DMS_ENCRYPTION_KEY", "b0Kk0hm0Hn9cJ6gqP0m3xj6p3Yb3q6m8Qm5gQ4r2N1A=")
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "dmsconsole.settings"
    os.environ.setdefault("DMS_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)


def fill(count: int) -> None:
    from endpoints.models import Endpoint
    from tasks.models import ReplicationInstance, ReplicationTask

    ReplicationTask.objects.all().delete()
    instances = [ReplicationInstance.objects.get_or_create(identifier=f"bench-ri-{n}")[0] for n in range(3)]
    endpoints = []
    for n in range(8):
        endpoint, _ = Endpoint.objects.get_or_create(
            identifier=f"bench-ep-{n}", defaults={"endpoint_type": "source" if n < 4 else "target",
                                                  "engine": "postgres", "server_name": "127.0.0.1", "port": 5432,
                                                  "username": "postgres"})
        endpoints.append(endpoint)
    mappings = json.dumps({"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "1",
                                      "rule-action": "include",
                                      "object-locator": {"schema-name": "shop", "table-name": "%"}}]})
    statuses = ("running", "stopped", "ready", "failed", "starting", "stopping")
    ReplicationTask.objects.bulk_create(
        ReplicationTask(identifier=f"bench-task-{n:04d}", instance=instances[n % 3], source=endpoints[n % 4],
                        target=endpoints[4 + n % 4], migration_type=("full-load", "full-load-and-cdc", "cdc")[n % 3],
                        table_mappings=mappings, status=statuses[n % len(statuses)],
                        full_load_progress_percent=n % 101, tables_loaded=n % 9, tables_loading=n % 3,
                        tables_queued=n % 4, tables_errored=n % 2, latest_metrics={"CDCLatencyTarget": n / 10})
        for n in range(count))


def measure(count: int, runs: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dmsconsole.tests.personas import make_user

    fill(count)
    client = Client()
    client.force_login(make_user("viewer"))
    client.get("/tasks/")  # warm: templates compiled, the session row read once
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/tasks/")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get("/tasks/")
    queries = len(captured)  # now: the next request clears the connection's query log
    body = client.get("/tasks/").content.decode()
    assert body.count('class="status ') == count, "every task is listed"
    timings.sort()
    return {"tasks": count, "median_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1), "queries": queries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dms-bench-list-") as workdir:
        setup_django(args.database_url or f"sqlite:///{Path(workdir) / 'console.sqlite3'}")
        from django.db import connection

        small, large = measure(10, args.runs), measure(args.tasks, args.runs)
        backend = connection.vendor
    for row in (small, large):
        print(f"{row['tasks']:>5} tasks: median {row['median_ms']:>6.1f} ms, p95 {row['p95_ms']:>6.1f} ms, "
              f"{row['queries']} queries")
    verdict = "OK" if large["p95_ms"] < TARGET_MS else "TOO SLOW"
    print(f"target: {args.tasks} tasks under {TARGET_MS} ms -> {verdict}; queries {small['queries']} for 10 tasks, "
          f"{large['queries']} for {args.tasks} ({backend})")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "tasks_list.json").write_text(json.dumps({"database": backend, "cpus": os.cpu_count(),
                                                     "target_ms": TARGET_MS, "small": small, "large": large},
                                                    indent=2) + "\n")


if __name__ == "__main__":
    main()
