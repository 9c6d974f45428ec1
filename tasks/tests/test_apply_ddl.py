"""A source DDL in the stream: columns added and dropped on the target, in order with the rows."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from endpoints.engines.base import Op, Relation, RowChange
from endpoints.engines.catalog import SourceColumn
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.plan import identity_plan
from endpoints.engines.types import DmsType, T
from endpoints.tests.test_postgres_apply import engine_for
from tasks.engine.apply import ApplyLoop, ApplyOptions, Checkpoint
from tasks.engine.reporting import RecordingReporter, TableKey
from tasks.engine.spool import Spool

from .test_apply_loop_pg import TASK, contents, lsn, lsn_key, tables, txn  # noqa: F401 - fixture

pytestmark = pytest.mark.live


def run(loop: ApplyLoop, spool: Spool, until: str, acks: list[str]) -> None:
    thread = threading.Thread(target=lambda: _quietly(loop.run), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while until not in acks and time.monotonic() < deadline:
        time.sleep(0.05)
    loop.stop.set()
    thread.join(30)


def test_it_adds_and_drops_target_columns_where_the_source_did(tables, tmp_path):  # noqa: F811
    t = tables
    routes = t.routes()
    accounts = routes[TableKey("app", "accounts")]
    old = accounts.plan.source
    email = SourceColumn("email", "character varying(40)", DmsType(T.WSTRING, length=40))
    widened = replace(old, columns=old.columns + (email,))
    narrowed = replace(old, columns=tuple(c for c in widened.columns if c.name != "balance"))
    engine = engine_for(t.url)
    rel1 = Relation("app", "accounts", ("id", "name", "balance"), ("id",))
    rel2 = Relation("app", "accounts", ("id", "name", "balance", "email"), ("id",))
    rel3 = Relation("app", "accounts", ("id", "name", "email"), ("id",))
    spool = Spool(tmp_path / "s", 10**9)
    spool.append(txn(1, RowChange(Op.INSERT, rel1, after=(1, "ann", 10))))
    spool.append(txn(2, RowChange(Op.DDL, rel2, ddl="ALTER TABLE accounts ADD email varchar(40)", table=widened),
                     RowChange(Op.INSERT, rel2, after=(2, "bob", 20, "bob@example.com"))))
    spool.append(txn(3, RowChange(Op.DDL, rel3, ddl="ALTER TABLE accounts DROP balance", table=narrowed),
                     RowChange(Op.UPDATE, rel3, after=(1, "ann", "ann@example.com"))))
    acks: list[str] = []
    reporter = RecordingReporter()
    loop = ApplyLoop(target=ConnectionInfo.from_url(t.url), control_schema="", task_id=TASK, routes=routes,
                     checkpoint=Checkpoint("cdc", start=lsn(0)), options=ApplyOptions(), reporter=reporter,
                     position_key=lsn_key, spool=spool, cache_dir=tmp_path / "c", cache_limit=10**9,
                     acknowledge=acks.append, capture_error=lambda: None, stop=threading.Event(),
                     replan=lambda table: identity_plan(table, engine, source_engine="postgres"))
    run(loop, spool, lsn(3), acks)
    assert contents(t.url, "accounts") == [(1, "ann", "ann@example.com"), (2, "bob", "bob@example.com")]
    assert reporter.counts[TableKey("app", "accounts")].ddls == 2
    assert [m for _, _, m in reporter.logs if m.startswith("DDL applied")] == [
        "DDL applied to the target: app.accounts: ALTER TABLE accounts ADD email varchar(40)",
        "DDL applied to the target: app.accounts: ALTER TABLE accounts DROP balance"]


def test_it_logs_a_ddl_it_is_told_not_to_propagate(tables, tmp_path):  # noqa: F811
    t = tables
    routes = t.routes()
    old = routes[TableKey("app", "accounts")].plan.source
    widened = replace(old, columns=old.columns + (SourceColumn("email", "text", DmsType(T.NCLOB)),))
    rel2 = Relation("app", "accounts", ("id", "name", "balance", "email"), ("id",))
    spool = Spool(tmp_path / "s", 10**9)
    spool.append(txn(1, RowChange(Op.DDL, rel2, ddl="ALTER TABLE accounts ADD email text", table=widened),
                     RowChange(Op.INSERT, rel2, after=(2, "bob", 20, "bob@example.com"))))
    acks: list[str] = []
    reporter = RecordingReporter()
    loop = ApplyLoop(target=ConnectionInfo.from_url(t.url), control_schema="", task_id=TASK, routes=routes,
                     checkpoint=Checkpoint("cdc", start=lsn(0)), options=ApplyOptions(handle_altered=False),
                     reporter=reporter, position_key=lsn_key, spool=spool, cache_dir=tmp_path / "c",
                     cache_limit=10**9, acknowledge=acks.append, capture_error=lambda: None, stop=threading.Event(),
                     replan=lambda table: None)
    run(loop, spool, lsn(1), acks)
    assert contents(t.url, "accounts") == [(2, "bob", 20)]
    assert any("DDL skipped (HandleSourceTableAltered is false)" in m for _, _, m in reporter.logs)


def _quietly(body) -> None:
    try:
        body()
    except Exception:  # StopRequested once the test stops it
        pass


def test_it_commits_what_came_before_a_ddl_before_running_it(tables, tmp_path, monkeypatch):  # noqa: F811
    """A MySQL target commits implicitly at ALTER TABLE: the group before a DDL must be committed, with
    its checkpoint, before the DDL runs, or a crash would apply those changes twice."""
    from endpoints.engines.postgres.applier import PostgresApplier
    from tasks.engine.capture import Solo

    from .test_apply_loop_pg import saved_checkpoint

    t = tables
    routes = t.routes()
    old = routes[TableKey("app", "accounts")].plan.source
    widened = replace(old, columns=old.columns + (SourceColumn("email", "text", DmsType(T.NCLOB)),))
    rel1 = Relation("app", "accounts", ("id", "name", "balance"), ("id",))
    rel2 = Relation("app", "accounts", ("id", "name", "balance", "email"), ("id",))
    seen_at_ddl: list = []
    original = PostgresApplier.execute_ddl

    def spying(self, plan, action, column=None):
        seen_at_ddl.append(saved_checkpoint(t.url)[0].position)
        return original(self, plan, action, column)

    monkeypatch.setattr(PostgresApplier, "execute_ddl", spying)
    spool = Spool(tmp_path / "s", 10**9)
    spool.append([txn(1, RowChange(Op.INSERT, rel1, after=(1, "ann", 10))),
                  txn(2, RowChange(Op.INSERT, rel1, after=(2, "bob", 20)))])
    spool.append(Solo([txn(3, RowChange(Op.DDL, rel2, ddl="ALTER TABLE accounts ADD email text", table=widened))]))
    spool.append([txn(4, RowChange(Op.INSERT, rel2, after=(3, "cy", 30, "cy@example.com")))])
    acks: list[str] = []
    engine = engine_for(t.url)
    loop = ApplyLoop(target=ConnectionInfo.from_url(t.url), control_schema="", task_id=TASK, routes=routes,
                     checkpoint=Checkpoint("cdc", start=lsn(0)), options=ApplyOptions(), reporter=RecordingReporter(),
                     position_key=lsn_key, spool=spool, cache_dir=tmp_path / "c", cache_limit=10**9,
                     acknowledge=acks.append, capture_error=lambda: None, stop=threading.Event(),
                     replan=lambda table: identity_plan(table, engine, source_engine="postgres"))
    run(loop, spool, lsn(4), acks)
    assert seen_at_ddl == [lsn(2)]
    assert contents(t.url, "accounts") == [(1, "ann", 10, None), (2, "bob", 20, None), (3, "cy", 30, "cy@example.com")]
