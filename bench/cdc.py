"""CDC benchmark, PostgreSQL -> PostgreSQL: our engine against PostgreSQL's own logical replication.

    .venv/bin/python bench/cdc.py [--updates 100000] [--big 1000000] [--rate 1000] [--seconds 60]
                                  [--spool-changes 1000000] [--skip-batch] [--keep]

Measured in one run, on the same workloads for both:
  (a) backlog drain: with the engine stopped (native: subscription disabled), N single-row
      UPDATE transactions are committed; then the engine starts (native: the subscription
      is enabled); the time until the target has caught up gives changes/s;
  (b) the same with ONE transaction updating M rows;
  (c) latency at a steady R transactions/s for S seconds: p50 and p99 from source commit
      to target visibility;
  (d) peak RSS of the engine while its spool holds K changes (the target cut off).
(a) and (b) run in transactional mode and with batch apply (BatchApplyEnabled).
Prints each figure and each ratio to the baseline; writes bench/results/cdc.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tasks.tests.tcp_proxy import TcpProxy  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
ROWS = 1_000_000  # rows in the replicated table


def admin(sql: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def run(db: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(f"{PG}/{db}", autocommit=True) as conn:
        cur = conn.execute(sql, params or None)
        return cur.fetchall() if cur.description else []


def drop(db: str) -> None:
    """The database and its replication slots (a slot left behind keeps WAL on the server)."""
    for slot in run("postgres", "SELECT slot_name FROM pg_replication_slots WHERE database = %s", db):
        run("postgres", "SELECT pg_drop_replication_slot(%s)", slot[0])
    admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def fresh(db: str) -> None:
    drop(db)
    admin(f'CREATE DATABASE "{db}"')


def build_source(rows: int) -> None:
    fresh("cdc_src")
    run("cdc_src", """
        CREATE TABLE t (id integer PRIMARY KEY, v bigint NOT NULL, note text);
        CREATE TABLE pings (id bigint PRIMARY KEY, sent_at timestamptz NOT NULL);
        CREATE PROCEDURE bump(first integer, last integer) LANGUAGE plpgsql AS $$
        BEGIN
          FOR i IN first..last LOOP
            UPDATE t SET v = v + 1 WHERE id = i;
            COMMIT;
          END LOOP;
        END $$;
    """)
    run("cdc_src", "INSERT INTO t SELECT g, 0, 'row ' || g FROM generate_series(1, %s) g", rows)
    run("cdc_src", "ANALYZE t")


def target_sum(db: str) -> int:
    rows = run(db, "SELECT coalesce(sum(v), 0) FROM t")
    return int(rows[0][0])


def wait_sum(db: str, expected: int, timeout: float = 1800) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if target_sum(db) == expected:
                return time.monotonic()
        except psycopg.Error:
            pass
        time.sleep(0.05)
    raise SystemExit(f"target {db} did not reach sum {expected}")


def send_marker() -> int:
    """Commit a marker row on the source: it reaches a target after everything committed before it."""
    marker = int(run("cdc_src", "SELECT coalesce(max(id), 0) + 1 FROM pings")[0][0])
    run("cdc_src", "INSERT INTO pings VALUES (%s, clock_timestamp())", marker)
    return marker


def wait_marker(db: str, marker: int, timeout: float, poll: float) -> float | None:
    """When the marker is visible on `db`, or None. One connection polls (an index lookup: it costs the
    machine nothing); a new connection per poll cost the server 4 ms of CPU each, a fifth of a core at
    50 polls a second, taken from the two processes that replicate."""
    deadline = time.monotonic() + timeout
    conn: psycopg.Connection | None = None
    try:
        while time.monotonic() < deadline:
            try:
                conn = conn or psycopg.connect(f"{PG}/{db}", autocommit=True)
                if conn.execute("SELECT 1 FROM pings WHERE id = %s", (marker,)).fetchall():
                    return time.monotonic()
            except psycopg.Error:
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(poll)
        return None
    finally:
        if conn is not None:
            conn.close()


def wait_caught_up(db: str, expected: int, timeout: float = 1800) -> float:
    """When the target has applied everything committed so far: the marker committed after the workload
    arrives (commit order); then the sums must agree. (Polling sum(v) over a million rows would take a core.)"""
    arrived = wait_marker(db, send_marker(), timeout, 0.02)
    if arrived is None:
        raise SystemExit(f"target {db} did not catch up")
    if target_sum(db) != expected:
        raise SystemExit(f"{db} has the marker but sum {target_sum(db)}, expected {expected}")
    return arrived


def wait_replicating(target_db: str, timeout: float = 300) -> None:
    """Until a fresh change on the source shows up on the target: the engine is up and applying."""
    if wait_marker(target_db, send_marker(), timeout, 0.05) is None:
        raise SystemExit(f"the engine did not start applying to {target_db}")


def commit_updates(n: int) -> None:
    """n single-row UPDATE transactions (a procedure committing after each row)."""
    run("cdc_src", "CALL bump(1, %s)", n)


def commit_big(rows: int) -> None:
    run("cdc_src", "UPDATE t SET v = v + 1 WHERE id <= %s", rows)


# ---- our engine ------------------------------------------------------------------------------
class Engine:
    def __init__(self, workdir: Path, batch: bool, target_url: str = f"{PG}/cdc_tgt", watch_memory: bool = False):
        self.workdir = workdir
        # Only (d) reads the peak RSS: the watcher walks every process on the machine 20 times a second
        # (1 ms of CPU each), taken from the engine's drains if it ran during them (native runs without it).
        self.watch_memory = watch_memory
        self.target_url = target_url
        self.mappings = workdir / "m.json"
        self.mappings.write_text(json.dumps({"rules": [{
            "rule-type": "selection", "rule-id": "1", "rule-name": "1",
            "object-locator": {"schema-name": "public", "table-name": "%"}, "rule-action": "include"}]}))
        self.settings = workdir / f"s-{batch}.json"
        self.settings.write_text(json.dumps({"TargetMetadata": {"BatchApplyEnabled": batch}}))
        self.process: subprocess.Popen | None = None
        self.peak_rss = 0

    def start(self, resume: bool) -> float:
        command = [sys.executable, "-m", "tasks.engine", "run", "--source", f"{PG}/cdc_src", "--target",
                   self.target_url, "--table-mappings", str(self.mappings), "--task-settings", str(self.settings),
                   "--migration-type", "full-load-and-cdc", "--task-id", "bench", "--spool-dir",
                   str(self.workdir / "spool")] + (["--resume"] if resume else [])
        started = time.monotonic()
        self.log = open(self.workdir / "engine.log", "a")  # noqa: SIM115
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        if self.watch_memory:
            threading.Thread(target=self._watch_rss, daemon=True).start()
        return started

    def _watch_rss(self) -> None:
        process = psutil.Process(self.process.pid)
        while self.process.poll() is None:
            try:
                rss = sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
                self.peak_rss = max(self.peak_rss, rss)
            except psutil.Error:
                pass
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        if self.process.wait(timeout=300) != 0:
            raise SystemExit(f"engine stopped with {self.process.returncode}: see {self.workdir / 'engine.log'}")


def engine_initial_load(engine: Engine) -> None:
    """Full load + switch to replication once, so later runs only measure CDC."""
    fresh("cdc_tgt")
    engine.start(resume=False)
    # Every v is 0 still, so the sum says nothing of the load; the marker table loads at once: wait for
    # every row of t, then for a marker (the task then replicates), before stopping it.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if run("cdc_tgt", "SELECT count(*) FROM t")[0][0] == ROWS:
                break
        except psycopg.Error:
            pass  # not created yet
        time.sleep(0.5)
    wait_replicating("cdc_tgt")
    time.sleep(2)
    engine.stop()


def settle_slot(slot: str, timeout: float = 120) -> None:
    """With the slot's consumer running and caught up: wait until the slot's restart_lsn passes the
    current WAL position. A slot stopped right after catching up keeps an older restart_lsn, and its
    next start decodes everything since then again (a million-row transaction it already applied:
    seconds of walsender time) before the workload it is timed on. Both sides settle the same way."""
    target = run("cdc_src", "SELECT pg_current_wal_lsn()::text")[0][0]
    run("cdc_src", "CHECKPOINT")  # logs the running transactions: what lets restart_lsn move on
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run("cdc_src", "SELECT restart_lsn >= %s::pg_lsn FROM pg_replication_slots WHERE slot_name = %s",
               target, slot)[0][0]:
            return
        time.sleep(0.2)
    print(f"  (slot {slot} did not settle within {timeout:.0f} s)", flush=True)


def settle_target(db: str) -> None:
    """VACUUM the caught-up target's table before a timed drain. Autovacuum is off on this machine's
    server, and the phases run in a fixed order: without this each target carried the dead row versions
    of every earlier phase, and the engine's (b) drain with batch apply came after 2.3 million updates
    of its target where native's (b) drain came after 0.3 million. Both sides settle the same way."""
    dead = run(db, "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 't'")
    run(db, "VACUUM t")
    print(f"  ({db}.t vacuumed before the drain: {dead[0][0] if dead else 0:,} dead row versions)", flush=True)


def engine_slot() -> str:
    return run("cdc_src", "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'dms%%'")[0][0]


def engine_catch_up(engine: Engine) -> None:
    """Apply what the other side's workloads left on the source, outside the measured time, and settle
    the slot and the target."""
    engine.start(resume=True)
    wait_sum("cdc_tgt", target_sum("cdc_src"))
    settle_slot(engine_slot())
    engine.stop()
    settle_target("cdc_tgt")


def engine_drain(engine: Engine, workload, expected_delta: int) -> float:
    engine_catch_up(engine)
    expected = target_sum("cdc_src") + expected_delta
    workload()
    started = engine.start(resume=True)
    finished = wait_caught_up("cdc_tgt", expected)
    engine.stop()
    return finished - started


# ---- native logical replication --------------------------------------------------------------
def drop_subscription() -> None:
    """The native side's subscription, if a run left it (its database cannot be dropped while it exists)."""
    try:
        run("native_tgt", "ALTER SUBSCRIPTION bench_sub DISABLE")
        run("native_tgt", "ALTER SUBSCRIPTION bench_sub SET (slot_name = NONE)")
        run("native_tgt", "DROP SUBSCRIPTION bench_sub")
    except psycopg.Error:
        pass  # never made, or its database is already gone


def native_setup() -> None:
    drop_subscription()
    fresh("native_tgt")
    run("cdc_src", "DROP PUBLICATION IF EXISTS bench_pub")
    run("cdc_src", "CREATE PUBLICATION bench_pub FOR TABLE t, pings")
    run("cdc_src", "SELECT pg_create_logical_replication_slot('bench_native', 'pgoutput')")
    run("native_tgt", "CREATE TABLE t (id integer PRIMARY KEY, v bigint NOT NULL, note text)")
    run("native_tgt", "CREATE TABLE pings (id bigint PRIMARY KEY, sent_at timestamptz NOT NULL)")
    run("native_tgt", "CREATE SUBSCRIPTION bench_sub CONNECTION 'host=127.0.0.1 dbname=cdc_src user=postgres' "
                      "PUBLICATION bench_pub WITH (create_slot = false, slot_name = 'bench_native')")
    wait_sum("native_tgt", target_sum("cdc_src"))
    run("native_tgt", "ALTER SUBSCRIPTION bench_sub DISABLE")


def native_catch_up() -> None:
    run("native_tgt", "ALTER SUBSCRIPTION bench_sub ENABLE")
    wait_sum("native_tgt", target_sum("cdc_src"))
    settle_slot("bench_native")
    run("native_tgt", "ALTER SUBSCRIPTION bench_sub DISABLE")
    settle_target("native_tgt")


def native_drain(workload, expected_delta: int) -> float:
    native_catch_up()
    expected = target_sum("cdc_src") + expected_delta
    workload()
    started = time.monotonic()
    run("native_tgt", "ALTER SUBSCRIPTION bench_sub ENABLE")
    finished = wait_caught_up("native_tgt", expected)
    run("native_tgt", "ALTER SUBSCRIPTION bench_sub DISABLE")
    return finished - started


def clean_up(workdir: Path) -> None:
    """Drop what a run made, finished or not: the subscription, the three databases with their slots,
    and the engine's spool (its log stays)."""
    drop_subscription()
    for db in ("native_tgt", "cdc_tgt", "cdc_src"):
        drop(db)
    shutil.rmtree(workdir / "spool", ignore_errors=True)


# ---- latency ---------------------------------------------------------------------------------
def latency(target_db: str, rate: int, seconds: int) -> tuple[float, float]:
    """Insert `rate` pings/s for `seconds`; a poller on the target notes when each appears."""
    start_id = int(run("cdc_src", "SELECT coalesce(max(id), 0) FROM pings")[0][0]) + 1
    total = rate * seconds
    arrivals: dict[int, float] = {}
    stop = threading.Event()

    def poll() -> None:
        last = start_id - 1
        with psycopg.connect(f"{PG}/{target_db}", autocommit=True) as conn:
            while not stop.is_set() and len(arrivals) < total:
                rows = conn.execute("SELECT id, extract(epoch FROM sent_at) FROM pings WHERE id > %s",
                                    (last,)).fetchall()
                now = time.time()
                for ping_id, sent in rows:
                    arrivals[ping_id] = now - float(sent)
                    last = max(last, ping_id)
                time.sleep(0.002)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    with psycopg.connect(f"{PG}/cdc_src", autocommit=True) as conn:
        began = time.monotonic()
        for i in range(total):
            conn.execute("INSERT INTO pings VALUES (%s, clock_timestamp())", (start_id + i,))
            pause = began + (i + 1) / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    deadline = time.monotonic() + 120
    while len(arrivals) < total and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    poller.join()
    values = sorted(arrivals.values())
    if len(values) < total:
        raise SystemExit(f"only {len(values)} of {total} pings arrived on {target_db}")
    return statistics.median(values) * 1000, values[int(len(values) * 0.99) - 1] * 1000


def spool_memory(workdir: Path, changes: int) -> tuple[int, int]:
    """Peak RSS of the engine while `changes` changes wait in its spool (target cut off)."""
    proxy = TcpProxy("127.0.0.1", 5432)
    engine = Engine(workdir, batch=False, target_url=f"postgresql://postgres@127.0.0.1:{proxy.port}/cdc_tgt",
                    watch_memory=True)
    engine.start(resume=True)
    wait_replicating("cdc_tgt")
    proxy.cut()
    commit_updates(min(changes, ROWS))
    remaining = changes - min(changes, ROWS)
    while remaining > 0:
        step = min(remaining, ROWS)
        commit_updates(step)
        remaining -= step
    time.sleep(5)
    peak_while_spooled = engine.peak_rss
    proxy.restore()
    wait_sum("cdc_tgt", target_sum("cdc_src"))
    engine.stop()
    proxy.close()
    return peak_while_spooled, engine.peak_rss


def show(label: str, value: float, unit: str, baseline: float | None = None, target: str = "") -> None:
    ratio = f"  ratio {value / baseline:.2f}x" if baseline else ""
    print(f"  {label:<46} {value:>12,.0f} {unit}{ratio}{('  ' + target) if target else ''}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--spool-changes", type=int, default=1_000_000)
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the databases and slots for inspection")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-cdc-"))
    print(f"Source table: {ROWS:,} rows; engine log in {workdir / 'engine.log'}", flush=True)
    try:
        results = measure(args, workdir)
    finally:
        if not args.keep:
            clean_up(workdir)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "cdc.json").write_text(json.dumps(results, indent=2))


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    results: dict[str, float] = {}
    build_source(ROWS)
    native_setup()
    modes = [False] if args.skip_batch else [False, True]

    print(f"(a) backlog of {args.updates:,} single-row UPDATE transactions")
    native = native_drain(lambda: commit_updates(args.updates), args.updates)
    results["a_native_changes_per_s"] = args.updates / native
    show("native logical replication", results["a_native_changes_per_s"], "changes/s")
    for batch in modes:
        engine = Engine(workdir, batch)
        if not batch:
            engine_initial_load(engine)
        seconds = engine_drain(engine, lambda: commit_updates(args.updates), args.updates)
        key = "a_engine_batch" if batch else "a_engine"
        results[f"{key}_changes_per_s"] = args.updates / seconds
        show("our engine, " + ("batch apply" if batch else "transactional"), results[f"{key}_changes_per_s"],
             "changes/s", results["a_native_changes_per_s"], "target >= 0.8x" if batch else "target >= 0.5x")

    print(f"(b) one transaction updating {args.big:,} rows")
    native = native_drain(lambda: commit_big(args.big), args.big)
    results["b_native_rows_per_s"] = args.big / native
    show("native logical replication", results["b_native_rows_per_s"], "rows/s")
    for batch in modes:
        seconds = engine_drain(Engine(workdir, batch), lambda: commit_big(args.big), args.big)
        key = "b_engine_batch" if batch else "b_engine"
        results[f"{key}_rows_per_s"] = args.big / seconds
        show("our engine, " + ("batch apply" if batch else "transactional"), results[f"{key}_rows_per_s"],
             "rows/s", results["b_native_rows_per_s"], "target >= 1x" if batch else "target >= 0.5x")

    print(f"(c) latency at {args.rate:,} transactions/s for {args.seconds} s (source commit to target visibility)")
    run("native_tgt", "ALTER SUBSCRIPTION bench_sub ENABLE")
    wait_sum("native_tgt", target_sum("cdc_src"))  # the engine's workloads ran meanwhile: catch up first
    wait_replicating("native_tgt")
    p50, p99 = latency("native_tgt", args.rate, args.seconds)
    run("native_tgt", "ALTER SUBSCRIPTION bench_sub DISABLE")
    results.update(c_native_p50_ms=p50, c_native_p99_ms=p99)
    show("native p50", p50, "ms")
    show("native p99", p99, "ms")
    engine = Engine(workdir, batch=False)
    engine.start(resume=True)
    wait_replicating("cdc_tgt")
    p50, p99 = latency("cdc_tgt", args.rate, args.seconds)
    engine.stop()
    results.update(c_engine_p50_ms=p50, c_engine_p99_ms=p99)
    show("our engine p50", p50, "ms", results["c_native_p50_ms"])
    show("our engine p99", p99, "ms", results["c_native_p99_ms"], "target < 250 ms")

    print(f"(d) memory while the spool holds {args.spool_changes:,} changes (target cut off)")
    spooled, overall = spool_memory(workdir, args.spool_changes)
    results.update(d_peak_rss_spooled_mb=spooled / 2**20, d_peak_rss_overall_mb=overall / 2**20)
    show("peak RSS with the backlog spooled", spooled / 2**20, "MB", None, "target < 300 MB")
    show("peak RSS including the drain", overall / 2**20, "MB")

    return results


if __name__ == "__main__":
    main()
