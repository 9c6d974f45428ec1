"""Push latency: from a counter change in a task's runner to its arrival at a connected websocket client.

    .venv/bin/python bench/push.py [--tasks 50] [--tables 20] [--seconds 30] [--rate 5] [--runners 5]
                                   [--warmup 3]

Sets up a console database (a fresh PostgreSQL database), `--tasks` running tasks of `--tables` tables
each, and the console itself (daphne, dmsconsole.asgi, as production serves it). One websocket client
per task page (/ws/tasks/<pk>/, signed in as a Viewer) and one on the tasks list stay connected while
`--runners` processes run the tasks synthetically: each task has the Celery runner's ModelReporter
(the same object, writing the same rows and publishing through monitoring.broadcast), and every table
gets `--rate` insert batches a second at random moments, as the engine's applier reports them.

Every change is logged with its time and the table's new total; every message a client receives
with the Inserts cells it carries. A change has arrived when a client holds that table's total or a
larger one: the lag is that arrival time minus the change's time. Prints p50, p99 and max of the lag
over every change after the warm-up, messages per task page and second, and writes
bench/results/push.json. DMS_BENCH_DEBUG=1 adds where the time goes: the runners' flush times and CPU,
lag per second of the run, and the publisher -> client part (a send-time comment in each message).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import heapq
import json
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG = os.environ.get("DMS_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
SENT = re.compile(rb"<!--sent ([0-9.]+)-->")
TICK = 0.01  # seconds between the synthetic runner's wake-ups
INSERTS = re.compile(r'<div id="tablestat-(\d+)-inserts" hx-swap-oob="innerHTML">(\d+)</div>')


def console_env(database: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "dmsconsole.settings",
        "DATABASE_URL": f"{PG}/{database}",
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "DMS_ENCRYPTION_KEY": "b0Kk0hm0Hn9cJ6gqP0m3xj6p3Yb3q6m8Qm5gQ4r2N1A=",
        "DMS_CHANNELS_PREFIX": prefix,
        "DMS_LOG_LEVEL": "WARNING",
    })
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


# ---- a runner process ---------------------------------------------------------------------------------
def run_runner(args: argparse.Namespace) -> None:
    """Drive the ModelReporters of some tasks for `seconds`; write every change to `out` as JSON lines."""
    setup_django(json.loads(args.env))
    from tasks.engine.reporting import TableCounts, TableKey
    from tasks.reporter import ModelReporter

    plan = json.loads(Path(args.plan).read_text())  # [[task_pk, [[row_pk, schema, table], ...]], ...]
    stages: dict[str, list[float]] = {"reporter_flush": [], "publisher_flush": []}
    if os.environ.get("DMS_BENCH_DEBUG"):
        from monitoring.broadcast import Publisher

        def timed(name, method):
            def wrapper(*a, **k):
                started, cpu = time.perf_counter(), time.thread_time()
                try:
                    return method(*a, **k)
                finally:
                    stages[name].append(time.perf_counter() - started)
                    stages.setdefault(name + "_cpu", []).append(time.thread_time() - cpu)
            return wrapper

        ModelReporter.flush = timed("reporter_flush", ModelReporter.flush)
        Publisher.flush = timed("publisher_flush", Publisher.flush)
        send_all = Publisher.send_all

        def stamped(self, messages):  # the send time rides along as an HTML comment (htmx ignores it)
            for _, message in messages:
                if "html" in message:
                    message["html"] = f"<!--sent {time.time():.6f}-->" + message["html"]
            return send_all(self, messages)

        Publisher.send_all = stamped
    reporters = {task_pk: ModelReporter(task_pk).start() for task_pk, _ in plan}
    tables = [(task_pk, row_pk, TableKey(schema, table)) for task_pk, rows in plan for row_pk, schema, table in rows]
    totals = dict.fromkeys((row_pk for _, row_pk, _ in tables), 0)
    log: list[tuple[int, int, float]] = []
    rng = random.Random(args.seed)
    # Each table changes `rate` times a second on average, at random moments (a Poisson process), applied
    # by a driver that wakes every TICK seconds. Changes of the warm-up are sent but not measured.
    now = time.monotonic()
    due = sorted((now + rng.expovariate(args.rate), i) for i in range(len(tables)))
    measured_from = time.time() + args.warmup
    end = now + args.warmup + args.seconds
    while due[0][0] < end:
        time.sleep(max(0.0, min(TICK, due[0][0] - time.monotonic())))
        now = time.monotonic()
        while due[0][0] <= now:
            at, i = heapq.heappop(due)
            task_pk, row_pk, key = tables[i]
            n = rng.randint(1, 50)
            totals[row_pk] += n
            stamp = time.time()
            if stamp >= measured_from:
                log.append((row_pk, totals[row_pk], stamp))  # logged first: the change exists from here on
            reporters[task_pk].table_counts(key, TableCounts(inserts=n))
            heapq.heappush(due, (at + rng.expovariate(args.rate), i))
    for reporter in reporters.values():
        reporter.close()
    time.sleep(1.0)  # the publisher sends the last flush
    if os.environ.get("DMS_BENCH_DEBUG"):
        import resource

        from monitoring.broadcast import publisher

        usage = resource.getrusage(resource.RUSAGE_SELF)
        print("runner sent", publisher().sent_messages, f"messages; CPU {usage.ru_utime + usage.ru_stime:.1f} s",
              file=sys.stderr)
        for name, times in stages.items():
            times.sort()
            if times:
                print(f"  {name}: {len(times)} calls, median {1000 * times[len(times) // 2]:.1f} ms, "
                      f"p90 {1000 * times[int(len(times) * 0.9)]:.1f} ms", file=sys.stderr)
    Path(args.out).write_text(json.dumps({"changes": log, "totals": totals}))


# ---- the websocket clients ------------------------------------------------------------------------------
class Receipts:
    def __init__(self) -> None:
        self.arrivals: dict[int, list[tuple[float, int]]] = {}  # table row pk -> [(time, total)]
        self.messages: dict[str, list[float]] = {}  # path -> arrival times
        self.connected = 0
        self.transport: list[float] = []  # publisher send -> client (with DMS_BENCH_DEBUG)


async def watch(url: str, path: str, cookie: str, receipts: Receipts, stop: asyncio.Event) -> None:
    """A plain RFC 6455 client (text frames, pings answered), so no client library is needed."""
    host, port = url.split("//", 1)[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {url}\r\n"
                  f"Cookie: {cookie}\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"{path}: handshake refused: {head[:80]!r}")
    receipts.connected += 1
    reading = asyncio.ensure_future(_frames(reader, writer, path, receipts))
    await stop.wait()
    writer.write(_frame(0x8, b"\x03\xe8"))
    await writer.drain()
    reading.cancel()
    writer.close()


async def _frames(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, receipts: Receipts) -> None:
    message = b""
    while True:
        first, second = await reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(await reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await reader.readexactly(8), "big")
        payload = await reader.readexactly(length)
        opcode = first & 0x0F
        if opcode == 0x9:
            writer.write(_frame(0xA, payload))
            continue
        if opcode == 0x8:
            return
        message += payload
        if not first & 0x80:
            continue  # a fragment: the rest follows
        now = time.time()
        receipts.messages.setdefault(path, []).append(now)
        stamp = SENT.match(message)
        if stamp:
            receipts.transport.append(now - float(stamp.group(1)))
        for row_pk, total in INSERTS.findall(message.decode()):
            receipts.arrivals.setdefault(int(row_pk), []).append((now, int(total)))
        message = b""


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (payloads under 126 bytes)."""
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


# ---- the benchmark ----------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--tables", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=5.0, help="changes per table and second")
    parser.add_argument("--runners", type=int, default=5, help="runner processes")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of changes before measuring")
    parser.add_argument("--runner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--env", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runner:
        run_runner(args)
        return

    import psycopg

    database = "dmsbench_" + uuid.uuid4().hex[:10]
    env = console_env(database, f"dmsbench{os.getpid()}")
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    work = Path(tempfile.mkdtemp(prefix="dms-push-"))
    try:
        result = measure(args, env, work)
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "push.json").write_text(json.dumps(result, indent=2))


def measure(args: argparse.Namespace, env: dict[str, str], work: Path) -> dict:
    setup_django(env)
    from django.core.management import call_command
    from django.test import Client

    from dmsconsole.tests import personas
    from dmsconsole.tests.fixtures import make_endpoint, make_instance
    from monitoring.models import TableStatistics
    from monitoring.tests.console_server import running_console
    from tasks.models import ReplicationTask
    from tasks.tests.task_helpers import MAPPINGS

    call_command("migrate", verbosity=0)
    instance = make_instance("bench-instance")
    source = make_endpoint("bench-source", endpoint_type="source")
    target = make_endpoint("bench-target", endpoint_type="target")
    plan = []
    for t in range(args.tasks):
        task = ReplicationTask.objects.create(identifier=f"bench-task-{t:03d}", instance=instance, source=source,
                                              target=target, migration_type="cdc", table_mappings=MAPPINGS,
                                              status="running")
        rows = TableStatistics.objects.bulk_create([
            TableStatistics(task=task, schema_name="shop", table_name=f"table_{i:02d}", table_state="Table completed")
            for i in range(args.tables)])
        plan.append([task.pk, [[r.pk, r.schema_name, r.table_name] for r in rows]])
    client = Client()
    client.force_login(personas.make_user("viewer", username="bench-viewer"))
    from django.conf import settings

    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    with running_console(work / "console.log", env) as url:
        receipts = Receipts()
        result = asyncio.run(run_clients(args, env, work, url, cookie, plan, receipts))
    return result


async def run_clients(args, env, work, url, cookie, plan, receipts: Receipts) -> dict:
    stop = asyncio.Event()
    paths = [f"/ws/tasks/{task_pk}/" for task_pk, _ in plan] + ["/ws/tasks/"]
    watchers = [asyncio.create_task(watch(url, path, cookie, receipts, stop)) for path in paths]
    while receipts.connected < len(paths):
        await asyncio.sleep(0.1)
        for w in watchers:
            if w.done() and w.exception():
                raise w.exception()
    await asyncio.sleep(1.0)  # the current state arrives first

    runners = []
    share = [plan[i::args.runners] for i in range(args.runners)]
    for n, part in enumerate(share):
        if not part:
            continue
        (work / f"plan-{n}.json").write_text(json.dumps(part))
        runners.append(await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--runner", "--plan", str(work / f"plan-{n}.json"), "--env", json.dumps(env),
            "--out", str(work / f"changes-{n}.json"), "--seconds", str(args.seconds), "--rate", str(args.rate),
            "--warmup", str(args.warmup), "--seed", str(n), cwd=ROOT, env=env))
    for runner in runners:
        if await runner.wait() != 0:
            raise SystemExit("a runner process failed")
    await asyncio.sleep(3.0)  # the last changes arrive
    stop.set()
    await asyncio.gather(*watchers, return_exceptions=True)
    return report(args, work, receipts, len(runners))


def report(args, work: Path, receipts: Receipts, runners: int) -> dict:
    changes, totals = [], {}
    for n in range(runners):
        data = json.loads((work / f"changes-{n}.json").read_text())
        changes += data["changes"]
        totals.update({int(k): v for k, v in data["totals"].items()})
    arrivals = {pk: sorted(times) for pk, times in receipts.arrivals.items()}
    lags, missing, timeline = [], 0, []
    for row_pk, total, at in changes:
        seen = arrivals.get(row_pk, [])
        # the first message at or after the change that carries this total or a larger one
        start = bisect.bisect_left(seen, (at, -1))
        arrived = next((t for t, value in seen[start:] if value >= total), None)
        if arrived is None:
            missing += 1
        else:
            lags.append(arrived - at)
            timeline.append((at, arrived - at))
    final_ok = sum(1 for pk, total in totals.items() if arrivals.get(pk) and max(v for _, v in arrivals[pk]) == total)
    lags.sort()
    first, last = min(c[2] for c in changes), max(c[2] for c in changes)

    def rate(path: str) -> float:  # messages a second to this client while the changes were measured
        return sum(1 for t in receipts.messages.get(path, []) if first <= t <= last) / (last - first)

    task_messages = [rate(path) for path in receipts.messages if path != "/ws/tasks/"]
    result = {
        "tasks": args.tasks, "tables_per_task": args.tables, "seconds": args.seconds,
        "changes": len(changes), "changes_per_second": round(len(changes) / args.seconds),
        "lag_p50_ms": round(1000 * lags[len(lags) // 2]) if lags else None,
        "lag_p99_ms": round(1000 * lags[int(len(lags) * 0.99)]) if lags else None,
        "lag_max_ms": round(1000 * lags[-1]) if lags else None,
        "not_arrived": missing, "tables_with_final_total": f"{final_ok}/{len(totals)}",
        "messages_per_task_per_second": round(statistics.mean(task_messages), 2) if task_messages else 0,
        "max_messages_per_task_per_second": round(max(task_messages), 2) if task_messages else 0,
        "list_messages_per_second": round(rate("/ws/tasks/"), 2),
    }
    result["cpus"], result["load_average_1min"] = os.cpu_count(), round(os.getloadavg()[0], 1)
    print(f"push latency: {args.tasks} tasks x {args.tables} tables, {result['changes']} counter changes "
          f"in {args.seconds:.0f} s ({result['changes_per_second']}/s) through {runners} runner processes "
          f"({result['cpus']} CPUs, load average {result['load_average_1min']} at the end)")
    print(f"  lag from the runner to a websocket client: p50 {result['lag_p50_ms']} ms, "
          f"p99 {result['lag_p99_ms']} ms, max {result['lag_max_ms']} ms; changes not arrived: {missing}")
    print(f"  final totals on the clients: {result['tables_with_final_total']} tables right")
    print(f"  messages per task page and second: {result['messages_per_task_per_second']} "
          f"(max {result['max_messages_per_task_per_second']}); tasks list: {result['list_messages_per_second']}/s")
    if os.environ.get("DMS_BENCH_DEBUG") and timeline:
        timeline.sort()
        start = timeline[0][0]
        for second in range(int(timeline[-1][0] - start) + 1):
            part = sorted(lag for at, lag in timeline if second <= at - start < second + 1)
            if part:
                print(f"    second {second:2d}: {len(part):5d} changes, p50 {1000 * part[len(part) // 2]:5.0f} ms, "
                      f"p99 {1000 * part[int(len(part) * 0.99)]:5.0f} ms", file=sys.stderr)
    if receipts.transport:
        transport = sorted(receipts.transport)
        result["transport_p50_ms"] = round(1000 * transport[len(transport) // 2])
        result["transport_p99_ms"] = round(1000 * transport[int(len(transport) * 0.99)])
        print(f"  of which publisher -> client: p50 {result['transport_p50_ms']} ms, "
              f"p99 {result['transport_p99_ms']} ms")
    met = result["lag_p99_ms"] is not None and result["lag_p99_ms"] < 1000 and missing == 0
    print(f"  target p99 under 1 s: {'met' if met else 'MISSED'}")
    return result


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
