"""Where full-load units run: the runner's own process pool against Celery jobs on the instance's queue.

    .venv/bin/python bench/segments.py [--rows 1000000] [--segments 4]

A PostgreSQL source table `orders` of N rows (~130 bytes each) is split into
S key ranges (table-settings parallel-load ranges) and loaded into PostgreSQL by a
full-load task, through the console: real worker processes, Redis, the `dms` verbs.
  local:  one worker (solo pool); DMS_REMOTE_SEGMENTS=never, so the runner loads the S
          ranges in its own pool of MaxFullLoadSubTasks=S processes;
  remote: the runner's worker (solo) plus a second worker (prefork, concurrency S);
          DMS_REMOTE_SEGMENTS=always, so each range is a dms.tasks.load_segment job.
Prints seconds and rows/s for each and their ratio; writes bench/results/segments.json.
On one machine both share its cores, so the ratio is the cost of going through Celery
and Redis; on several machines the remote executor adds their cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


ORDERS = """
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, status varchar(20), amount numeric(12,2), note text,
                     created_at timestamp, flag boolean);
INSERT INTO orders
SELECT g, (g * 7919) % 100000, (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4], ((g * 31) % 100000) / 100.0,
       'order note ' || g || ' ' || repeat(chr(97 + (g % 26)::int), 60), timestamp '2024-01-01' + g * interval '1 s',
       g % 3 = 0
FROM generate_series(1::bigint, {rows}) g;
ANALYZE orders;
"""


def setup_django(workdir: Path) -> None:
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("DMS_ENCRYPTION_KEY", "b0Kk0hm0Hn9cJ6gqP0m3xj6p3Yb3q6m8Qm5gQ4r2N1A=")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'console.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "dmsconsole.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run_once(mode: str, rows: int, segments: int, workdir: Path) -> float:
    from tasks.tests.task_cluster import Cluster, dms, wait_for, write_json

    run_dir = workdir / mode
    run_dir.mkdir()
    cluster = Cluster(run_dir, env={"DMS_REMOTE_SEGMENTS": "never" if mode == "local" else "always",
                                    "DMS_LOG_LEVEL": "WARNING"})
    try:
        dms("create-replication-instance", "--replication-instance-identifier", cluster.instance)
        cluster.start_worker("a")
        if mode == "remote":
            cluster.start_worker("b", pool="prefork", concurrency=segments)
        target = f"bench_segments_{mode}"
        from full_load import fresh_pg

        fresh_pg(target)
        source, target_ep = cluster.create_endpoints("postgresql://postgres@127.0.0.1:5432/bench_segments_src",
                                                     f"postgresql://postgres@127.0.0.1:5432/{target}")
        step = rows // segments
        rules = [{"rule-type": "selection", "rule-id": "1", "rule-name": "orders", "rule-action": "include",
                  "object-locator": {"schema-name": "public", "table-name": "orders"}},
                 {"rule-type": "table-settings", "rule-id": "2", "rule-name": "ranges",
                  "object-locator": {"schema-name": "public", "table-name": "orders"},
                  "parallel-load": {"type": "ranges", "columns": ["id"],
                                    "boundaries": [[str(step * i)] for i in range(1, segments)]}}]
        settings = {"FullLoadSettings": {"MaxFullLoadSubTasks": segments}}
        arn = dms("create-replication-task", "--replication-task-identifier", f"bench-{mode}",
                  "--source-endpoint-arn", source, "--target-endpoint-arn", target_ep,
                  "--replication-instance-arn", cluster.instance, "--migration-type", "full-load",
                  "--table-mappings", write_json(run_dir / "m.json", {"rules": rules}),
                  "--replication-task-settings", write_json(run_dir / "s.json", settings),
                  )["ReplicationTask"]["ReplicationTaskArn"]
        started = time.monotonic()
        dms("start-replication-task", "--replication-task-arn", arn,
            "--start-replication-task-type", "start-replication")
        done = wait_for("the load", lambda: (t := cluster.task(f"bench-{mode}")) and t["Status"] in (
            "stopped", "failed") and t, timeout=1800, every=0.2)
        seconds = time.monotonic() - started
        loaded = cluster.tables(arn)["orders"]["FullLoadRows"]
        if done["Status"] != "stopped" or loaded != rows:
            raise SystemExit(f"{mode}: {done.get('LastFailureMessage')} ({loaded} rows)\n{cluster.diagnostics(arn)}")
        return seconds
    finally:
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--segments", type=int, default=4)
    args = parser.parse_args()
    from full_load import fresh_pg, psql


    workdir = Path(tempfile.mkdtemp(prefix="dms-bench-segments-"))
    setup_django(workdir)
    fresh_pg("bench_segments_src")
    psql("bench_segments_src", ORDERS.format(rows=args.rows))
    results = {}
    for mode in ("local", "remote"):
        seconds = run_once(mode, args.rows, args.segments, workdir)
        results[mode] = {"seconds": round(seconds, 2), "rows_per_second": round(args.rows / seconds)}
        print(f"{mode:6s} {seconds:7.2f} s  {args.rows / seconds:10,.0f} rows/s  (start to stopped, "
              f"{args.segments} ranges)")
    ratio = results["local"]["seconds"] / results["remote"]["seconds"]
    print(f"remote/local throughput: {ratio:.2f}x on {os.cpu_count()} CPU(s)")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "segments.json").write_text(json.dumps({"rows": args.rows, "segments": args.segments,
                                                   "cpus": os.cpu_count(), **results}, indent=2))


if __name__ == "__main__":
    main()
