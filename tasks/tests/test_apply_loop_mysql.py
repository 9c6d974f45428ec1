"""The generic apply loop (tasks.engine.apply) driving the MySQL applier on a live MariaDB.

Transactions are made by hand and put in a Spool, as the capture would; the loop applies
them, writes checkpoints, acknowledges, and on a second run skips what the target has.
Positions are binary log positions ("binlog.000001:<offset>"), ordered as the MySQL engine
orders them. The control tables go to the test's own database.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from endpoints.engines.base import Op, Relation, RowChange, TableSyncState, Transaction
from endpoints.engines.catalog import SourceColumn
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.mysql import MySQLEngine
from endpoints.engines.mysql.applier import MySQLApplier
from endpoints.engines.mysql.positions import position_key
from endpoints.engines.plan import TablePlan, identity_plan
from endpoints.engines.types import T, make_type
from endpoints.tests.mysql_helpers import admin, plan_for, query, run
from tasks.engine.apply import ApplyLoop, ApplyOptions, Checkpoint
from tasks.engine.apply_writer import ErrorPolicies, Policy
from tasks.engine.reporting import RecordingReporter, TableKey
from tasks.engine.routing import Route, RouteStatus
from tasks.engine.spool import Spool

TASK = "loop-test"
DDL = ("CREATE TABLE accounts (id int PRIMARY KEY, name varchar(20) NOT NULL, balance decimal(12,2))",
       "CREATE TABLE audit (seq int NOT NULL, message text)")
T0 = datetime(2026, 1, 1)


def pos(n: int) -> str:
    return f"binlog.000001:{1000 + n}"


def relation(plan: TablePlan) -> Relation:
    return Relation(plan.source_schema, plan.source_table, plan.read_columns, plan.source_key)


@dataclass
class Tables:
    url: str
    accounts: TablePlan
    audit: TablePlan
    rel: dict[str, Relation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rel = {"accounts": relation(self.accounts), "audit": relation(self.audit)}

    @property
    def database(self) -> str:
        return ConnectionInfo.from_url(self.url).database

    def ins(self, table: str, *row) -> RowChange:
        return RowChange(Op.INSERT, self.rel[table], after=tuple(row))

    def upd(self, table: str, *row, before: tuple | None = None) -> RowChange:
        return RowChange(Op.UPDATE, self.rel[table], before=before, after=tuple(row))

    def dele(self, table: str, *before) -> RowChange:
        return RowChange(Op.DELETE, self.rel[table], before=tuple(before))

    def routes(self) -> dict[TableKey, Route]:
        out = {}
        for plan in (self.accounts, self.audit):
            route = Route(plan, RouteStatus.REPLICATING)
            route.sync = TableSyncState("replicating")
            out[route.key] = route
        return out


@pytest.fixture
def tables(mysql_database) -> Tables:
    url = mysql_database()
    run(url, *DDL)
    return Tables(url, plan_for(url, "accounts"), plan_for(url, "audit"))


def txn(n: int, *changes: RowChange, complete: bool = True, xid: str | None = None) -> Transaction:
    return Transaction(xid or str(n), pos(n), T0 + timedelta(seconds=n), list(changes), complete=complete)


@dataclass
class LoopRun:
    loop: ApplyLoop
    acks: list[str]
    reporter: RecordingReporter
    error: BaseException | None


def run_loop(tables: Tables, tmp_path: Path, records: Sequence[Transaction], *, until: str | None,
             options: ApplyOptions | None = None, checkpoint: Checkpoint | None = None, timeout: float = 120,
             replan=None) -> LoopRun:
    """Run an ApplyLoop over `records` until `until` is acknowledged (None: until the spool is drained),
    then stop it."""
    spool = Spool(tmp_path / f"spool-{time.monotonic_ns()}", 10**10)
    for record in records:
        spool.append(record)
    acks: list[str] = []
    reporter = RecordingReporter()
    stop = threading.Event()
    loop = ApplyLoop(target=ConnectionInfo.from_url(tables.url), control_schema=tables.database, task_id=TASK,
                     routes=tables.routes(), checkpoint=checkpoint or Checkpoint("cdc", start=pos(0)),
                     options=options or ApplyOptions(), reporter=reporter, position_key=position_key, spool=spool,
                     cache_dir=tmp_path / "cache", cache_limit=10**9, acknowledge=acks.append,
                     capture_error=lambda: None, stop=stop, replan=replan)
    errors: list[BaseException] = []

    def body() -> None:
        try:
            loop.run()
        except BaseException as exc:  # StopRequested when we stop it
            errors.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and thread.is_alive():
        if until is not None and until in acks:
            break
        if until is None and spool.backlog == 0 and not loop.group_open:
            break
        time.sleep(0.02)
    stop.set()
    thread.join(30)
    spool.close()
    error = errors[0] if errors and type(errors[0]).__name__ != "StopRequested" else None
    return LoopRun(loop, acks, reporter, error)


def contents(url: str, table: str) -> list[tuple]:
    return query(url, f"SELECT * FROM `{table}` ORDER BY 1, 2")


def saved_checkpoint(tables: Tables) -> tuple[Checkpoint | None, dict]:
    applier = MySQLApplier(ConnectionInfo.from_url(tables.url), tables.database)
    try:
        text, states = applier.load_state(TASK)
    finally:
        applier.close()
    return (Checkpoint.loads(text) if text else None), states


def history(t: Tables) -> list[Transaction]:
    return [
        txn(1, t.ins("accounts", 1, "ann", 10), t.ins("accounts", 2, "bob", 20), t.ins("audit", 1, "opened")),
        txn(2, t.upd("accounts", 1, "ann", 15), t.ins("audit", 2, "moved 5")),
        txn(3, t.dele("accounts", 2, None, None), t.ins("audit", 3, "closed")),
        txn(4, t.upd("accounts", 3, "ann", 15, before=(1, None, None)), t.ins("audit", 4, "renumbered")),
        txn(5, t.ins("accounts", 2, "cy", 0), t.ins("audit", 4, "renumbered")),  # same audit row again: a new row
    ]


EXPECTED_ACCOUNTS = [(2, "cy", Decimal("0.00")), (3, "ann", Decimal("15.00"))]
EXPECTED_AUDIT = [(1, "opened"), (2, "moved 5"), (3, "closed"), (4, "renumbered"), (4, "renumbered")]


@pytest.mark.live
def test_it_applies_transactions_and_commits_the_checkpoint_with_them(tables, tmp_path):
    run_ = run_loop(tables, tmp_path, history(tables), until=pos(5))
    assert run_.error is None
    assert contents(tables.url, "accounts") == EXPECTED_ACCOUNTS
    assert contents(tables.url, "audit") == EXPECTED_AUDIT
    checkpoint, states = saved_checkpoint(tables)
    assert (checkpoint.phase, checkpoint.position) == ("cdc", pos(5))
    assert states[(tables.database, "accounts")] == TableSyncState("replicating", None, pos(5))
    assert run_.acks[-1] == pos(5)
    counts = run_.reporter.counts[TableKey(tables.database, "accounts")]
    assert (counts.inserts, counts.updates, counts.deletes) == (3, 2, 1)
    assert query(tables.url, "SELECT TASK_NAME, COMMIT_POSITION, COMMIT_TIME FROM awsdms_txn_state") == [
        (TASK, pos(5), T0 + timedelta(seconds=5))]


@pytest.mark.live
def test_it_skips_on_restart_what_the_target_already_has(tables, tmp_path):
    run_loop(tables, tmp_path, history(tables)[:3], until=pos(3))
    checkpoint, _ = saved_checkpoint(tables)
    assert checkpoint.position == pos(3)
    # The stream restarts at the checkpoint and replays transactions 2 and 3 before the new ones.
    again = run_loop(tables, tmp_path, history(tables)[1:], until=pos(5), checkpoint=checkpoint)
    assert again.error is None
    assert contents(tables.url, "accounts") == EXPECTED_ACCOUNTS
    assert contents(tables.url, "audit") == EXPECTED_AUDIT  # the keyless table proves nothing ran twice
    assert saved_checkpoint(tables)[0].position == pos(5)


@pytest.mark.live
def test_it_leaves_neither_data_nor_checkpoint_of_a_transaction_it_did_not_finish(tables, tmp_path):
    t = tables
    run_loop(t, tmp_path, [txn(1, t.ins("accounts", 1, "ann", 10))], until=pos(1))
    checkpoint, _ = saved_checkpoint(t)
    pieces = [txn(2, t.ins("accounts", 100 + i, f"p{i}", i), complete=False, xid="big") for i in range(3)]
    # the last piece never arrives: the loop waits for it until it is stopped, then rolls back
    run_ = run_loop(t, tmp_path, pieces, until="never", timeout=3, checkpoint=checkpoint)
    assert run_.error is None
    assert contents(t.url, "accounts") == [(1, "ann", Decimal("10.00"))]
    assert saved_checkpoint(t)[0].position == pos(1)
    assert run_.acks == []


@pytest.mark.live
def test_it_applies_a_transaction_given_in_pieces_as_one(tables, tmp_path):
    t = tables
    pieces = [txn(7, *[t.ins("accounts", 1000 * p + i, "x", i) for i in range(1000)], complete=p == 4, xid="big")
              for p in range(5)]
    run_ = run_loop(t, tmp_path, pieces, until=pos(7))
    assert run_.error is None
    assert query(t.url, "SELECT COUNT(*), SUM(balance) FROM accounts") == [(5000, Decimal("2497500.00"))]
    assert run_.acks == [pos(7)]


@pytest.mark.live
def test_it_logs_a_refused_change_and_applies_the_rest(tables, tmp_path):
    t = tables
    records = [txn(1, t.ins("accounts", 1, "ann", 10)),
               txn(2, t.ins("accounts", 2, "bob", 20), t.ins("accounts", 1, "dup", 0),
                   t.ins("accounts", 3, "a name far too long for it", 0), t.ins("audit", 1, "after"))]
    run_ = run_loop(t, tmp_path, records, until=pos(2),
                    options=ApplyOptions(policies=ErrorPolicies(insert=Policy.LOG_ERROR, data=Policy.LOG_ERROR)))
    assert run_.error is None
    assert contents(t.url, "accounts") == [(1, "ann", Decimal("10.00")), (2, "bob", Decimal("20.00"))]
    assert contents(t.url, "audit") == [(1, "after")]
    logged = query(t.url, "SELECT TABLE_OWNER, TABLE_NAME, ERROR FROM awsdms_apply_exceptions ORDER BY ERROR")
    assert logged == [
        (t.database, "accounts", f"Target table {t.database}.accounts, column name: Data too long for column "
                                 "'name' at row 1"),
        (t.database, "accounts", f"Target table {t.database}.accounts: a row with the same key already exists "
                                 "(Duplicate entry '1' for key 'PRIMARY')."),
    ]


@pytest.mark.live
def test_it_adds_a_column_the_source_added_and_does_nothing_when_the_ddl_is_replayed(tables, tmp_path):
    t = tables
    engine = MySQLEngine(ConnectionInfo.from_url(t.url))
    wider = replace(t.accounts.source, columns=(*t.accounts.source.columns,
                                                SourceColumn("note", "varchar(30)", make_type(T.WSTRING, 30))))

    def replan(table):
        return identity_plan(table, engine, source_engine="mysql")

    new_rel = Relation(t.database, "accounts", ("id", "name", "balance", "note"), ("id",))
    records = [txn(1, t.ins("accounts", 1, "ann", 10)),
               txn(2, RowChange(Op.DDL, t.rel["accounts"], ddl="ALTER TABLE accounts ADD COLUMN note varchar(30)",
                                table=wider)),
               txn(3, RowChange(Op.INSERT, new_rel, after=(2, "bob", 20, "new column")),
                   RowChange(Op.UPDATE, new_rel, after=(1, "ann", 10, "set later")))]
    run_ = run_loop(t, tmp_path, records, until=pos(3), replan=replan, options=ApplyOptions(min_transaction_size=1))
    assert run_.error is None
    assert contents(t.url, "accounts") == [(1, "ann", Decimal("10.00"), "set later"),
                                           (2, "bob", Decimal("20.00"), "new column")]
    # A restart from before the DDL (the ALTER committed on its own): the replayed DDL finds the column there.
    again = run_loop(t, tmp_path, records[1:2], until=pos(2), replan=replan,
                     checkpoint=Checkpoint("cdc", start=pos(0), position=pos(1)))
    assert again.error is None
    assert [c[0] for c in query(t.url, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                                       "AND TABLE_NAME = 'accounts' ORDER BY ORDINAL_POSITION", (t.database,))] == [
        "id", "name", "balance", "note"]


@pytest.mark.live
def test_it_shapes_changes_after_a_ddl_in_the_same_group_by_the_new_plan(tables, tmp_path):
    t = tables
    engine = MySQLEngine(ConnectionInfo.from_url(t.url))
    wider = replace(t.accounts.source, columns=(*t.accounts.source.columns,
                                                SourceColumn("note", "varchar(30)", make_type(T.WSTRING, 30))))
    new_rel = Relation(t.database, "accounts", ("id", "name", "balance", "note"), ("id",))
    records = [txn(1, RowChange(Op.DDL, t.rel["accounts"], ddl="ALTER TABLE accounts ADD COLUMN note varchar(30)",
                                table=wider)),
               txn(2, RowChange(Op.INSERT, new_rel, after=(2, "bob", 20, "new column")))]
    run_ = run_loop(t, tmp_path, records, until=pos(2), options=ApplyOptions(min_transaction_size=1000),
                    replan=lambda table: identity_plan(table, engine, source_engine="mysql"))
    assert run_.error is None
    assert contents(t.url, "accounts") == [(2, "bob", Decimal("20.00"), "new column")]


# ---- batch apply ----------------------------------------------------------------------------------

BATCH = ApplyOptions(batch_apply=True, batch_timeout_min=0.0, batch_timeout_max=30.0)


@pytest.mark.live
def test_it_nets_a_window_in_batch_apply_mode(tables, tmp_path):
    run_ = run_loop(tables, tmp_path, history(tables), until=pos(5), options=BATCH)
    assert run_.error is None
    assert contents(tables.url, "accounts") == EXPECTED_ACCOUNTS
    assert contents(tables.url, "audit") == EXPECTED_AUDIT
    assert saved_checkpoint(tables)[0].position == pos(5)
    counts = run_.reporter.counts[TableKey(tables.database, "accounts")]
    assert (counts.inserts, counts.updates, counts.deletes) == (2, 0, 0)


def _random_history(t: Tables, seed: int, count: int) -> tuple[list[Transaction], dict, list]:
    """Random transactions on both tables (key moves, deletes, re-inserts), and the rows they leave."""
    rnd = random.Random(seed)
    accounts: dict[int, tuple] = {}
    audit: list[tuple] = []
    records = []
    for n in range(1, count + 1):
        changes = []
        for _ in range(rnd.randint(1, 6)):
            free = [k for k in range(1, 60) if k not in accounts]
            op = rnd.choice("IIUUUMDA")
            if op == "I" and free:
                row = (rnd.choice(free), f"n{rnd.randint(0, 99)}", Decimal(rnd.randint(0, 500)))
                accounts[row[0]] = row
                changes.append(t.ins("accounts", *row))
            elif op in "UM" and accounts:
                key = rnd.choice(sorted(accounts))
                new = rnd.choice(free) if op == "M" and free else key
                row = (new, f"u{rnd.randint(0, 99)}", Decimal(rnd.randint(0, 500)))
                del accounts[key]
                accounts[new] = row
                changes.append(t.upd("accounts", *row, before=(key, None, None) if new != key else None))
            elif op == "D" and accounts:
                key = rnd.choice(sorted(accounts))
                del accounts[key]
                changes.append(t.dele("accounts", key, None, None))
            else:
                row = (rnd.randint(1, 5), rnd.choice(["a", "b"]))
                audit.append(row)
                changes.append(t.ins("audit", *row))
        records.append(txn(n, *changes))
    return records, accounts, sorted(audit)


@pytest.mark.live
@pytest.mark.parametrize("batch", [False, True])
def test_it_converges_on_random_transactions(tables, tmp_path, batch):
    records, accounts, audit = _random_history(tables, seed=11, count=400)
    options = ApplyOptions(batch_apply=batch, batch_timeout_min=0.0, min_transaction_size=50)
    run_ = run_loop(tables, tmp_path, records, until=pos(400), options=options)
    assert run_.error is None
    assert contents(tables.url, "accounts") == sorted(accounts.values())
    assert contents(tables.url, "audit") == audit
    assert saved_checkpoint(tables)[0].position == pos(400)


# ---- commits that fail, or whose outcome is unknown ------------------------------------------------

def _commit_failing_once(monkeypatch, *, after_commit: bool) -> None:
    """The next commit raises a transient error: before committing (the group is rolled back) or after
    (it committed, but the answer was lost with the connection)."""
    original = MySQLApplier.commit
    state = {"failed": False}

    def commit(self) -> None:
        if state["failed"]:
            return original(self)
        state["failed"] = True
        if after_commit:
            original(self)
        else:
            self.rollback()
        raise EngineError("connection lost during COMMIT", kind=ErrorKind.CONNECTION_LOST)

    monkeypatch.setattr(MySQLApplier, "commit", commit)


@pytest.mark.live
@pytest.mark.parametrize("after_commit", [False, True], ids=["commit-failed", "answer-lost"])
def test_it_applies_every_group_once_when_a_commit_fails(tables, tmp_path, monkeypatch, after_commit):
    _commit_failing_once(monkeypatch, after_commit=after_commit)
    run_ = run_loop(tables, tmp_path, history(tables), until=pos(5), options=ApplyOptions(retry_interval=0.01))
    assert run_.error is None
    assert contents(tables.url, "accounts") == EXPECTED_ACCOUNTS
    assert contents(tables.url, "audit") == EXPECTED_AUDIT


@pytest.mark.live
def test_it_retries_after_the_target_connection_is_killed(tables, tmp_path, monkeypatch):
    t = tables
    records = [txn(n, t.ins("audit", n, f"row {n}")) for n in range(1, 201)]
    original = MySQLApplier.insert
    calls = {"n": 0}

    def insert(self, plan, rows, *, upsert=False):
        calls["n"] += 1
        if calls["n"] == 5:  # the server ends our session in the middle of the fifth group
            conn = admin()
            try:
                conn.cursor().execute("KILL %s", (self.conn.thread_id(),))
            finally:
                conn.close()
        return original(self, plan, rows, upsert=upsert)

    monkeypatch.setattr(MySQLApplier, "insert", insert)
    options = ApplyOptions(retry_interval=0.05, min_transaction_size=10, commit_timeout=5)
    run_ = run_loop(t, tmp_path, records, until=pos(200), options=options)
    assert run_.error is None
    assert [m for _c, _s, m in run_.reporter.logs if "Target unavailable (attempt 1)" in m]
    assert contents(t.url, "audit") == [(n, f"row {n}") for n in range(1, 201)]  # keyless: none twice, none lost
    assert saved_checkpoint(t)[0].position == pos(200)


# ---- end to end through the runner: SIGKILLs and a target outage, MySQL targets ---------------------

def _runner_process(source: str, target: str, tmp_path: Path, resume: bool):
    """`python -m tasks.engine run` of a full-load-and-cdc task into the target's own database, with the
    control tables there too (not in the server-wide awsdms_control)."""
    import json
    import subprocess
    import sys

    from tasks.tests.cdc_workload import mappings_for

    database = ConnectionInfo.from_url(target).database
    (tmp_path / "mappings.json").write_text(json.dumps(mappings_for(source)))
    (tmp_path / "settings.json").write_text(json.dumps({
        "FullLoadSettings": {"CommitRate": 500, "MaxFullLoadSubTasks": 2},
        "TargetMetadata": {"TargetSchema": database}, "ControlTablesSettings": {"ControlSchema": database}}))
    command = [sys.executable, "-m", "tasks.engine", "run", "--source", source, "--target", target,
               "--table-mappings", str(tmp_path / "mappings.json"), "--task-settings", str(tmp_path / "settings.json"),
               "--migration-type", "full-load-and-cdc", "--task-id", "crash", "--spool-dir", str(tmp_path / "spool"),
               "--threads", *(["--resume"] if resume else [])]
    log = open(tmp_path / "runner.log", "a")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(command, cwd=Path(__file__).resolve().parents[2], stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.parametrize("source_kind", ["postgres", "mysql"])
def test_it_survives_ten_sigkills_into_a_mysql_target(pg_database, mysql_database, tmp_path, source_kind):
    import signal

    from tasks.tests.cdc_workload import Workload, wait_until_equal

    source = pg_database() if source_kind == "postgres" else mysql_database()
    target = mysql_database()
    workload = Workload(source, seed=5)
    workload.create(orders=20000)
    chance = random.Random(2026)
    workload.start(rate=100)
    try:
        for attempt in range(10):  # during the load, the cached changes and ongoing replication
            process = _runner_process(source, target, tmp_path, resume=attempt > 0)
            time.sleep(chance.uniform(0.5, 6.0))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    finally:
        workload.stop()
    final = _runner_process(source, target, tmp_path, resume=True)
    database = ConnectionInfo.from_url(target).database
    try:
        # audit_log has no key: a change applied twice would be a duplicate row there
        difference = wait_until_equal(source, target, timeout=180, target_schema=database)
    finally:
        final.send_signal(signal.SIGTERM)
        code = final.wait(timeout=60)
    log = (tmp_path / "runner.log").read_text()
    assert difference == {}, log[-3000:]
    assert code == 0, log[-3000:]


@pytest.mark.live
@pytest.mark.slow
def test_it_buffers_through_a_mysql_target_outage_without_rereading_the_source(pg_database, mysql_database, tmp_path):
    from tasks.engine.reporting import Component
    from tasks.tests.cdc_harness import spec_for, start
    from tasks.tests.cdc_workload import TABLES, Workload, wait_until_equal
    from tasks.tests.tcp_proxy import TcpProxy

    source, target = pg_database(), mysql_database()
    info = ConnectionInfo.from_url(target)
    proxy = TcpProxy(info.host, info.port)
    workload = Workload(source, seed=3)
    workload.create()
    settings = {"ErrorBehavior": {"RecoverableErrorInterval": 1, "RecoverableErrorThrottlingMax": 4},
                "ControlTablesSettings": {"ControlSchema": info.database}}
    task = start(spec_for(source, target.replace(f"{info.host}:{info.port}", f"127.0.0.1:{proxy.port}"), tmp_path,
                          settings=settings))
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
    assert wait_until_equal(source, target, timeout=120, target_schema=info.database) == {}
    assert backlog_during_outage > 0
    retries = [m for c, _, m in task.reporter.logs if c is Component.TARGET_APPLY and "Target unavailable" in m]
    assert len(retries) >= 2
    stream = task.runner.stream
    result = task.finish()
    # Counted once the run ended: a group's counts are reported just after its commit is visible.
    applied = sum(c.inserts + c.updates + c.deletes for c in task.reporter.counts.values())
    proxy.close()
    assert result.error is None
    assert len(opened) == 1, "the source stream was reopened: changes were read twice"
    assert stream.read_changes == applied, (stream.read_changes, applied)
