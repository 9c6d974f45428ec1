"""Full-load benchmark: our engine against the COPY pipe (PG->PG) and pgloader (MySQL->PG).

    .venv/bin/python bench/full_load.py [--rows 1000000] [--rss-rows 5000000] [--repeats 3] [--skip-large]

Builds, deterministically, an `orders` table of N rows in a PostgreSQL and a MariaDB
source (id bigint PK, customer_id int, status varchar(20), amount numeric(12,2), note
text of ~80 chars, created_at timestamp, payload json, flag boolean) and measures in
one run:
  * PG->PG: `python -m tasks.engine run` vs `psql \\copy to stdout | psql \\copy from stdin`
    into the same empty table, --repeats times each, alternating, each after a CHECKPOINT (this
    machine's timings vary by a third from run to run; the medians are compared);
  * MySQL->PG: our engine vs pgloader (installed from Debian's packages if missing);
  * the engine's peak RSS (the runner and its loader processes together) at N and at
    --rss-rows rows, to show memory stays flat;
  * 4 tables of 250,000 rows with MaxFullLoadSubTasks=4 against 1.
Prints rows/s and the ratios; writes bench/results/full_load.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
PG = "postgresql://postgres@127.0.0.1:5432"
MY = "mysql://root@127.0.0.1:3306"

PG_ORDERS = """
CREATE TABLE {table} (id bigint PRIMARY KEY, customer_id int, status varchar(20), amount numeric(12,2),
                      note text, created_at timestamp, payload json, flag boolean);
INSERT INTO {table}
SELECT g, (g * 7919) % 100000, (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4],
       ((g * 31) % 100000) / 100.0,
       'order note ' || g || ' ' || repeat(chr((97 + g % 26)::int), 60),
       timestamp '2024-01-01' + (g || ' seconds')::interval,
       json_build_object('sku', 'SKU-' || (g % 5000), 'qty', g % 9 + 1),
       g % 3 = 0
FROM generate_series(1::bigint, {rows}) g;
"""

MY_ORDERS = """
CREATE TABLE {table} (id bigint PRIMARY KEY, customer_id int, status varchar(20), amount decimal(12,2),
                      note text, created_at datetime, payload json, flag boolean);
INSERT INTO {table}
SELECT seq, (seq * 7919) % 100000, ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'),
       ((seq * 31) % 100000) / 100.0,
       CONCAT('order note ', seq, ' ', REPEAT(CHAR(97 + seq % 26), 60)),
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND,
       JSON_OBJECT('sku', CONCAT('SKU-', seq % 5000), 'qty', seq % 9 + 1),
       seq % 3 = 0
FROM seq_1_to_{rows};
"""


def sh(command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, shell=True, check=True, capture_output=True, text=True, **kwargs)


def psql(db: str, sql: str) -> str:
    result = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U",
                             "postgres", "-d", db, "-c", sql], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"psql failed: {result.stderr}")
    return result.stdout.strip()


def mysql(sql: str, db: str | None = None) -> str:
    command = ["mariadb", "-h", "127.0.0.1", "-u", "root", "-N", "-B", "-e", sql] + ([db] if db else [])
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def fresh_pg(name: str) -> None:
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql("postgres", f'CREATE DATABASE "{name}"')


def fresh_my(name: str) -> None:
    mysql(f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}` CHARACTER SET utf8mb4")


def build_sources(rows: int, tables: list[str]) -> None:
    fresh_pg("bench_src")
    fresh_my("bench_src")
    for table in tables:
        psql("bench_src", PG_ORDERS.format(table=table, rows=rows))
        settle(table)
        mysql(MY_ORDERS.format(table=table, rows=rows) + f"; ANALYZE TABLE {table}", db="bench_src")


def settle(table: str) -> None:
    """Freeze the new rows: the first reader of a fresh table otherwise writes every page back to set
    hint bits, a cost only the first measured run would pay."""
    psql("bench_src", f"VACUUM (FREEZE, ANALYZE) {table}")


def mappings(schema: str, tables: list[str], workdir: Path) -> Path:
    rules = [{"rule-type": "selection", "rule-id": str(i + 1), "rule-name": t,
              "object-locator": {"schema-name": schema, "table-name": t}, "rule-action": "include"}
             for i, t in enumerate(tables)]
    path = workdir / f"mappings-{schema}-{len(tables)}.json"
    path.write_text(json.dumps({"rules": rules}))
    return path


def settings(workdir: Path, subtasks: int, target_schema: str = "") -> Path:
    path = workdir / f"settings-{subtasks}-{target_schema or 'same'}.json"
    path.write_text(json.dumps({"FullLoadSettings": {"MaxFullLoadSubTasks": subtasks},
                                "TargetMetadata": {"TargetSchema": target_schema}}))
    return path


def compile_project() -> None:
    """Byte-compile the engine as an installation would: with PYTHONDONTWRITEBYTECODE set, every run
    would otherwise spend about 0.15 s compiling our modules, a cost no installed service pays."""
    subprocess.run([PY, "-m", "compileall", "-q", "-j", "0", "endpoints", "tasks", "dmsconsole"], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)


def run_engine(source: str, target: str, mapping: Path, setting: Path) -> tuple[float, int]:
    """Seconds and peak RSS (bytes) of the runner and every process it starts."""
    started = time.monotonic()
    process = subprocess.Popen([PY, "-m", "tasks.engine", "run", "--source", source, "--target", target,
                                "--table-mappings", str(mapping), "--task-settings", str(setting)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            family = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in family if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.monotonic() - started
    output = process.stdout.read()
    if process.returncode != 0:
        raise SystemExit(f"engine run failed:\n{output}")
    return seconds, peak


def checkpoint() -> None:
    """Start each timed run with no dirty buffers of the previous one left to write."""
    psql("postgres", "CHECKPOINT")


def _runs(seconds: list[float]) -> str:
    return ", ".join(f"{s:.2f} s" for s in seconds)


def copy_pipe(rows: int) -> float:
    psql("bench_tgt", "TRUNCATE orders")
    checkpoint()
    started = time.monotonic()
    sh('psql -X -q -h 127.0.0.1 -U postgres -d bench_src -c "\\copy orders to stdout" | '
       'psql -X -q -h 127.0.0.1 -U postgres -d bench_tgt -c "\\copy orders from stdin"')
    seconds = time.monotonic() - started
    assert int(psql("bench_tgt", "SELECT count(*) FROM orders")) == rows
    return seconds


def ensure_pgloader() -> str:
    found = shutil.which("pgloader")
    if found:
        return found
    sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgloader")
    return shutil.which("pgloader") or "pgloader"


def run_pgloader(rows: int) -> float:
    fresh_pg("bench_pgl")
    checkpoint()
    pgloader = ensure_pgloader()
    started = time.monotonic()
    subprocess.run([pgloader, "--no-ssl-cert-verification", f"{MY}/bench_src", f"{PG}/bench_pgl"],
                   check=True, capture_output=True, text=True)
    seconds = time.monotonic() - started
    count = psql("bench_pgl", "SELECT count(*) FROM bench_src.orders")
    assert int(count) == rows, count
    return seconds


def line(label: str, rows: int, seconds: float, extra: str = "") -> None:
    print(f"  {label:<38} {rows / seconds:>12,.0f} rows/s  ({seconds:6.2f} s){extra}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rss-rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="PG->PG runs of each side (the median counts)")
    parser.add_argument("--skip-large", action="store_true", help="skip the --rss-rows run")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-full-load-"))
    results: dict[str, float] = {}
    rows = args.rows

    print(f"Building sources: orders with {rows:,} rows in PostgreSQL and MariaDB", flush=True)
    build_sources(rows, ["orders"])
    compile_project()
    print(f"PostgreSQL -> PostgreSQL ({args.repeats} runs of each, alternating; medians)")
    engine_runs, pipe_runs, peak = [], [], 0
    for _ in range(args.repeats):
        fresh_pg("bench_tgt")
        checkpoint()
        seconds, rss = run_engine(f"{PG}/bench_src", f"{PG}/bench_tgt", mappings("public", ["orders"], workdir),
                                  settings(workdir, 8))
        engine_runs.append(seconds)
        peak = max(peak, rss)
        pipe_runs.append(copy_pipe(rows))
    seconds, pipe = statistics.median(engine_runs), statistics.median(pipe_runs)
    results.update(pg_engine_rows_per_s=rows / seconds, pg_engine_peak_rss_mb=peak / 2**20,
                   pg_engine_seconds=engine_runs, pg_copy_pipe_seconds=pipe_runs)
    line("our engine", rows, seconds, f"  peak RSS {peak / 2**20:.0f} MB  runs: {_runs(engine_runs)}")
    results["pg_copy_pipe_rows_per_s"] = rows / pipe
    line("psql \\copy | psql \\copy (baseline)", rows, pipe, f"  runs: {_runs(pipe_runs)}")
    results["pg_ratio"] = pipe / seconds
    print(f"  ratio engine / COPY pipe: {results['pg_ratio']:.2f}x (target >= 0.8x)")

    print("MySQL -> PostgreSQL")
    fresh_pg("bench_tgt")
    checkpoint()
    seconds, rss = run_engine(f"{MY}/bench_src", f"{PG}/bench_tgt", mappings("bench_src", ["orders"], workdir),
                              settings(workdir, 8))
    results.update(my_engine_rows_per_s=rows / seconds, my_engine_peak_rss_mb=rss / 2**20)
    line("our engine", rows, seconds, f"  peak RSS {rss / 2**20:.0f} MB")
    loader = run_pgloader(rows)
    results["pgloader_rows_per_s"] = rows / loader
    line("pgloader (baseline)", rows, loader)
    results["my_ratio"] = loader / seconds
    print(f"  ratio engine / pgloader: {results['my_ratio']:.2f}x (target >= 2x)")

    print("Parallel tables: 4 tables of 250,000 rows, PostgreSQL -> PostgreSQL")
    tables = [f"orders_{i}" for i in range(1, 5)]
    fresh_pg("bench_src")
    for table in tables:
        psql("bench_src", PG_ORDERS.format(table=table, rows=250_000))
        settle(table)
    for subtasks in (1, 4):
        fresh_pg("bench_tgt")
        checkpoint()
        seconds, _ = run_engine(f"{PG}/bench_src", f"{PG}/bench_tgt", mappings("public", tables, workdir),
                                settings(workdir, subtasks))
        results[f"parallel_{subtasks}_seconds"] = seconds
        line(f"MaxFullLoadSubTasks={subtasks}", 1_000_000, seconds)
    print(f"  speed-up 4 vs 1: {results['parallel_1_seconds'] / results['parallel_4_seconds']:.2f}x")

    if not args.skip_large:
        big = args.rss_rows
        print(f"Memory at {big:,} rows (flat means the same as at {rows:,})", flush=True)
        build_sources(big, ["orders"])
        for name, source, schema in (("pg", f"{PG}/bench_src", "public"), ("my", f"{MY}/bench_src", "bench_src")):
            fresh_pg("bench_tgt")
            checkpoint()
            seconds, rss = run_engine(source, f"{PG}/bench_tgt", mappings(schema, ["orders"], workdir),
                                      settings(workdir, 8))
            results[f"{name}_large_peak_rss_mb"] = rss / 2**20
            results[f"{name}_large_rows_per_s"] = big / seconds
            label = "PostgreSQL" if name == "pg" else "MySQL"
            line(f"{label} -> PostgreSQL", big, seconds, f"  peak RSS {rss / 2**20:.0f} MB "
                 f"(at {rows:,}: {results[f'{name}_engine_peak_rss_mb']:.0f} MB; target < 300 MB)")

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "full_load.json").write_text(json.dumps(results, indent=2))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
