"""The generic apply loop (tasks.engine.apply) driving the PostgreSQL applier on a live server.

Transactions are made by hand and put in a Spool, as the capture would; the loop applies
them, writes checkpoints, acknowledges, and on a second run skips what the target has.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from endpoints.engines.base import Op, Relation, RowChange, TableSyncState, Transaction
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.plan import TablePlan
from endpoints.engines.postgres.applier import PostgresApplier
from endpoints.tests.postgres_support import run_sql
from endpoints.tests.test_postgres_apply import plan_of
from tasks.engine.apply import BACKLOG_PAUSE, ApplyLoop, ApplyOptions, Checkpoint
from tasks.engine.apply_writer import ErrorPolicies, GroupWriter, Policy
from tasks.engine.reporting import RecordingReporter, TableKey
from tasks.engine.routing import Route, RouteStatus
from tasks.engine.spool import Spool

TASK = "loop-test"
DDL = ("CREATE SCHEMA app",
       "CREATE TABLE app.accounts (id integer PRIMARY KEY, name varchar(20) NOT NULL, balance numeric(12,2))",
       "CREATE TABLE app.audit (seq integer NOT NULL, message text)")
T0 = datetime(2026, 1, 1)


def lsn(n: int) -> str:
    return f"0/{n:X}"


def lsn_key(position: str) -> tuple:
    high, low = position.split("/")
    return (int(high, 16), int(low, 16))


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
def tables(pg_database) -> Tables:
    url = pg_database()
    run_sql(url, *DDL)
    return Tables(url, plan_of(url, "accounts"), plan_of(url, "audit"))


def txn(n: int, *changes: RowChange, complete: bool = True, xid: str | None = None) -> Transaction:
    return Transaction(xid or str(n), lsn(n), T0 + timedelta(seconds=n), list(changes), complete=complete)


def live_txn(n: int, *changes: RowChange) -> Transaction:
    """A transaction the source committed just now (a live stream, not a backlog)."""
    return Transaction(str(n), lsn(n), datetime.now(UTC).replace(tzinfo=None), list(changes))


@dataclass
class LoopRun:
    loop: ApplyLoop
    acks: list[str]
    reporter: RecordingReporter
    error: BaseException | None


def run_loop(tables: Tables, tmp_path: Path, records: Sequence[Transaction], *, until: str | None,
             options: ApplyOptions | None = None, checkpoint: Checkpoint | None = None,
             timeout: float = 120, on_start: Callable[[Spool], None] | None = None) -> LoopRun:
    """Run an ApplyLoop over `records` until `until` is acknowledged (None: until the spool is drained),
    then stop it."""
    spool = Spool(tmp_path / f"spool-{time.monotonic_ns()}", 10**10)
    for record in records:
        spool.append(record)
    acks: list[str] = []
    reporter = RecordingReporter()
    stop = threading.Event()
    loop = ApplyLoop(target=ConnectionInfo.from_url(tables.url), control_schema="", task_id=TASK,
                     routes=tables.routes(), checkpoint=checkpoint or Checkpoint("cdc", start=lsn(0)),
                     options=options or ApplyOptions(), reporter=reporter, position_key=lsn_key, spool=spool,
                     cache_dir=tmp_path / "cache", cache_limit=10**9, acknowledge=acks.append,
                     capture_error=lambda: None, stop=stop)
    errors: list[BaseException] = []

    def body() -> None:
        try:
            loop.run()
        except BaseException as exc:  # StopRequested when we stop it
            errors.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    if on_start is not None:
        on_start(spool)
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
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(f"SELECT * FROM app.{table} ORDER BY 1, 2").fetchall()


def saved_checkpoint(url: str) -> tuple[Checkpoint | None, dict]:
    applier = PostgresApplier(ConnectionInfo.from_url(url), "")
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


EXPECTED_ACCOUNTS = [(2, "cy", 0), (3, "ann", 15)]
EXPECTED_AUDIT = [(1, "opened"), (2, "moved 5"), (3, "closed"), (4, "renumbered"), (4, "renumbered")]
# (inserts, updates, deletes) per table that history() applies
EXPECTED_COUNTS = {"accounts": (3, 2, 1), "audit": (5, 0, 0)}


def counted(run: LoopRun) -> dict[str, tuple[int, int, int]]:
    return {key.table: (c.inserts, c.updates, c.deletes) for key, c in run.reporter.counts.items()}


@pytest.mark.live
def test_it_applies_transactions_and_commits_the_checkpoint_with_them(tables, tmp_path):
    run = run_loop(tables, tmp_path, history(tables), until=lsn(5))
    assert run.error is None
    assert contents(tables.url, "accounts") == EXPECTED_ACCOUNTS
    assert contents(tables.url, "audit") == EXPECTED_AUDIT
    checkpoint, states = saved_checkpoint(tables.url)
    assert (checkpoint.phase, checkpoint.position) == ("cdc", lsn(5))
    assert states[("app", "accounts")] == TableSyncState("replicating", None, lsn(5))
    assert run.acks[-1] == lsn(5)
    counts = run.reporter.counts[TableKey("app", "accounts")]
    assert (counts.inserts, counts.updates, counts.deletes) == (3, 2, 1)


@pytest.mark.live
def test_it_skips_on_restart_what_the_target_already_has(tables, tmp_path):
    first = history(tables)[:3]
    run_loop(tables, tmp_path, first, until=lsn(3))
    checkpoint, _ = saved_checkpoint(tables.url)
    assert checkpoint.position == lsn(3)
    # The stream restarts at the checkpoint and replays transactions 2 and 3 before the new ones.
    again = run_loop(tables, tmp_path, history(tables)[1:], until=lsn(5), checkpoint=checkpoint)
    assert again.error is None
    assert contents(tables.url, "accounts") == EXPECTED_ACCOUNTS
    assert contents(tables.url, "audit") == EXPECTED_AUDIT  # the keyless table proves nothing ran twice
    assert saved_checkpoint(tables.url)[0].position == lsn(5)


@pytest.mark.live
def test_it_leaves_neither_data_nor_checkpoint_of_a_transaction_it_did_not_finish(tables, tmp_path):
    t = tables
    run_loop(t, tmp_path, [txn(1, t.ins("accounts", 1, "ann", 10))], until=lsn(1))
    checkpoint, _ = saved_checkpoint(t.url)
    pieces = [txn(2, t.ins("accounts", 100 + i, f"p{i}", i), complete=False, xid="big") for i in range(3)]
    # the last piece never arrives: the loop waits for it until it is stopped, then rolls back
    run = run_loop(t, tmp_path, pieces, until="never", timeout=3, checkpoint=checkpoint)
    assert run.error is None
    assert contents(t.url, "accounts") == [(1, "ann", 10)]
    assert saved_checkpoint(t.url)[0].position == lsn(1)
    assert run.acks == []


@pytest.mark.live
def test_it_applies_a_transaction_given_in_pieces_as_one(tables, tmp_path):
    t = tables
    pieces = [txn(7, *[t.ins("accounts", 1000 * p + i, "x", i) for i in range(1000)], complete=p == 4, xid="big")
              for p in range(5)]
    run = run_loop(t, tmp_path, pieces, until=lsn(7))
    assert run.error is None
    with psycopg.connect(t.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*), sum(balance) FROM app.accounts").fetchone() == (5000, 5 * 499500)
    assert run.acks == [lsn(7)]


@pytest.mark.live
def test_it_logs_a_refused_change_and_applies_the_rest(tables, tmp_path):
    t = tables
    records = [txn(1, t.ins("accounts", 1, "ann", 10)),
               txn(2, t.ins("accounts", 2, "bob", 20), t.ins("accounts", 1, "dup", 0),
                   t.ins("accounts", 3, "a name far too long for it", 0), t.ins("audit", 1, "after"))]
    run = run_loop(t, tmp_path, records, until=lsn(2),
                   options=ApplyOptions(policies=ErrorPolicies(insert=Policy.LOG_ERROR, data=Policy.LOG_ERROR)))
    assert run.error is None
    assert contents(t.url, "accounts") == [(1, "ann", 10), (2, "bob", 20)]
    assert contents(t.url, "audit") == [(1, "after")]
    with psycopg.connect(t.url, autocommit=True) as conn:
        logged = conn.execute("SELECT table_name, error FROM awsdms_apply_exceptions ORDER BY error").fetchall()
    assert logged == [
        ("accounts", "Target table app.accounts, column name: value too long for type character varying(20)"),
        ("accounts", "Target table app.accounts: a row with the same key already exists "
                     "(Key (id)=(1) already exists.)."),
    ]


# ---- batch apply ----------------------------------------------------------------------------------

BATCH = ApplyOptions(batch_apply=True, batch_timeout_min=0.0, batch_timeout_max=30.0)


@pytest.mark.live
def test_it_nets_a_window_in_batch_apply_mode(tables, tmp_path):
    run = run_loop(tables, tmp_path, history(tables), until=lsn(5), options=BATCH)
    assert run.error is None
    assert contents(tables.url, "accounts") == EXPECTED_ACCOUNTS
    assert contents(tables.url, "audit") == EXPECTED_AUDIT
    assert saved_checkpoint(tables.url)[0].position == lsn(5)
    counts = run.reporter.counts[TableKey("app", "accounts")]
    # all in one window: ann inserted, updated and moved to 3 is one insert at 3; bob inserted and deleted is
    # nothing; cy is an insert
    assert (counts.inserts, counts.updates, counts.deletes) == (2, 0, 0)



def _when_visible(url: str, seq: int, timeout: float = 10) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(row[0] == seq for row in contents(url, "audit")):
            return time.monotonic()
        time.sleep(0.01)
    raise AssertionError(f"audit row {seq} never arrived")


@pytest.mark.live
def test_batch_apply_waits_timeout_min_between_applications_not_after_each(tables, tmp_path):
    """BatchApplyTimeoutMin is the least time between two applications. A window whose changes arrive
    once that time has passed since the previous window opened is applied as soon as nothing more is
    ready (a drained backlog must not idle a further interval), and the next one still waits its turn.
    (Live transactions: a backlog's windows close differently, see the next test.)"""
    options = ApplyOptions(batch_apply=True, batch_timeout_min=1.5, batch_timeout_max=30.0)
    seen: dict[str, float] = {}

    def timeline(spool: Spool) -> None:
        started = time.monotonic()
        seen["first"] = _when_visible(tables.url, 1) - started
        time.sleep(0.3)
        sent = time.monotonic()
        spool.append(live_txn(2, tables.ins("audit", 2, "after a full interval")))
        seen["second"] = _when_visible(tables.url, 2) - sent
        spool.append(live_txn(3, tables.ins("audit", 3, "right after")))
        seen["third"] = _when_visible(tables.url, 3) - sent

    run = run_loop(tables, tmp_path, [live_txn(1, tables.ins("audit", 1, "first"))], until=lsn(3), options=options,
                   on_start=timeline)
    assert run.error is None
    assert seen["first"] >= 1.4  # the first window gathers for the interval
    assert seen["second"] < 0.7  # its interval had passed: no second wait
    assert 1.2 <= seen["third"] < 3.5  # counted from when the second window opened

@pytest.mark.live
def test_batch_apply_writes_what_it_holds_while_its_window_stays_open(tables, tmp_path, monkeypatch):
    """With nothing more to read and BatchApplyTimeoutMin not yet over, the window's changes go to the
    target at once (uncommitted: the target works while the window waits), and the window's end only
    commits them. Nothing is visible before it ends."""
    writes: list[float] = []
    original = GroupWriter.write_runs

    def write_runs(self, prepared, *, careful):
        writes.append(time.monotonic())
        return original(self, prepared, careful=careful)

    monkeypatch.setattr(GroupWriter, "write_runs", write_runs)
    options = ApplyOptions(batch_apply=True, batch_timeout_min=1.5, batch_timeout_max=30.0)
    seen: dict[str, float] = {}

    def timeline(spool: Spool) -> None:
        seen["started"] = time.monotonic()
        seen["visible"] = _when_visible(tables.url, 2) - seen["started"]

    records = [live_txn(1, tables.ins("audit", 1, "one")), live_txn(2, tables.ins("audit", 2, "two"))]
    run = run_loop(tables, tmp_path, records, until=lsn(2), options=options, on_start=timeline)
    assert run.error is None
    assert writes and writes[0] - seen["started"] < 0.8  # written long before the window ended...
    assert seen["visible"] >= 1.3  # ...and committed when it did
    assert [row[0] for row in contents(tables.url, "audit")] == [1, 2]


@pytest.mark.live
def test_batch_apply_keeps_a_draining_backlogs_window_open_through_a_gap_and_applies_its_end_at_once(
        tables, tmp_path):
    """Transactions committed long ago are a backlog: its window stays open through a gap in the stream
    shorter than the backlog pause (one window, not two), and once the backlog pauses for longer the window
    is applied without sitting out BatchApplyTimeoutMin (a drain's end waited up to that long). The pause
    is made longer than BACKLOG_PAUSE here so that the gap, and the look at the target inside it, fit in it
    on a busy machine."""
    pause = max(BACKLOG_PAUSE, 0.3)
    options = ApplyOptions(batch_apply=True, batch_timeout_min=2.0, batch_timeout_max=30.0, backlog_pause=pause)
    seen: dict[str, object] = {}

    def timeline(spool: Spool) -> None:
        time.sleep(pause / 3)
        seen["before second"] = [row[0] for row in contents(tables.url, "audit")]
        sent = time.monotonic()
        spool.append(txn(2, tables.ins("audit", 2, "after a short gap")))
        seen["second"] = _when_visible(tables.url, 2) - sent

    run = run_loop(tables, tmp_path, [txn(1, tables.ins("audit", 1, "old"))], until=lsn(2), options=options,
                   on_start=timeline)
    assert run.error is None
    assert seen["before second"] == []  # the gap did not close the window
    assert seen["second"] < 1.0  # applied once the backlog paused, not 2 s after the window opened
    assert run.acks == [lsn(2)]  # one window


def _random_history(t: Tables, seed: int, count: int) -> tuple[list[Transaction], dict, list]:
    """Random transactions on both tables (key moves, unsent values, deletes, re-inserts), and the
    rows they leave."""
    import random

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
                row = (rnd.choice(free), f"n{rnd.randint(0, 99)}", rnd.randint(0, 500))
                accounts[row[0]] = row
                changes.append(t.ins("accounts", *row))
            elif op in "UM" and accounts:
                key = rnd.choice(sorted(accounts))
                new = rnd.choice(free) if op == "M" and free else key
                row = (new, f"u{rnd.randint(0, 99)}", rnd.randint(0, 500))
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
    run = run_loop(tables, tmp_path, records, until=lsn(400), options=options)
    assert run.error is None
    assert contents(tables.url, "accounts") == sorted(accounts.values())
    assert contents(tables.url, "audit") == audit
    assert saved_checkpoint(tables.url)[0].position == lsn(400)


# ---- commits that fail, or whose outcome is unknown ------------------------------------------------

def _commit_failing_once(monkeypatch, *, after_commit: bool) -> None:
    """The next commit raises a transient error: before committing (the group is rolled back) or after
    (it committed, but the answer was lost with the connection)."""
    original = PostgresApplier.commit
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

    monkeypatch.setattr(PostgresApplier, "commit", commit)


@pytest.mark.live
def test_it_applies_a_group_again_when_its_commit_failed(tables, tmp_path, monkeypatch):
    _commit_failing_once(monkeypatch, after_commit=False)
    run = run_loop(tables, tmp_path, history(tables), until=lsn(5), options=ApplyOptions(retry_interval=0.01))
    assert run.error is None
    assert contents(tables.url, "accounts") == EXPECTED_ACCOUNTS
    assert contents(tables.url, "audit") == EXPECTED_AUDIT
    assert counted(run) == EXPECTED_COUNTS  # the rolled-back attempt is not counted


@pytest.mark.live
def test_it_does_not_apply_twice_a_group_whose_commit_answer_was_lost(tables, tmp_path, monkeypatch):
    # The loop reads the checkpoint back from the target after reconnecting: the commit happened.
    _commit_failing_once(monkeypatch, after_commit=True)
    run = run_loop(tables, tmp_path, history(tables), until=lsn(5), options=ApplyOptions(retry_interval=0.01))
    assert run.error is None
    assert contents(tables.url, "accounts") == EXPECTED_ACCOUNTS
    assert contents(tables.url, "audit") == EXPECTED_AUDIT
    assert counted(run) == EXPECTED_COUNTS  # the committed group is counted once, though its answer was lost
