"""The writer's runs prepared on another thread (the apply loop's), applied on the connection's thread.

The apply loop cuts and renders the next chunk's update runs while the writer thread waits on
the target; these tests hold the prepared path to what the plain path writes.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from endpoints.engines.base import UNCHANGED, Op, TargetChange
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.postgres.applier import PostgresApplier
from tasks.engine.apply_writer import ErrorPolicies, GroupWriter, Item, RetryCarefully, runs
from tasks.engine.netting import net_runs
from tasks.engine.reporting import RecordingReporter

from .test_apply_loop_pg import contents, tables  # noqa: F401 - tables is a fixture

pytestmark = pytest.mark.live

ROWS = 250  # more than the applier's SET_BASED_MIN: the runs go through staging tables


def _writer(url: str) -> GroupWriter:
    return GroupWriter(PostgresApplier(ConnectionInfo.from_url(url)), ErrorPolicies(), "prepared-test",
                       RecordingReporter())


def _writer_with_rows(tables) -> tuple:  # noqa: F811 - the fixture's value, passed on
    """The accounts route and a writer that has inserted ROWS accounts in an open transaction: the
    applier now knows the table, so its updates can be prepared."""
    accounts = next(r for r in tables.routes().values() if r.key.table == "accounts")
    writer = _writer(tables.url)
    inserts = [Item(accounts, TargetChange(Op.INSERT, row=(i, f"n{i}", Decimal(i)))) for i in range(1, ROWS + 1)]
    writer.applier.begin()
    writer.write(inserts, careful=False)
    return accounts, writer


def _prepared_elsewhere(writer: GroupWriter, items: list[Item], *, netted: bool = False) -> list:
    """GroupWriter.prepare on a thread of its own, as the apply loop calls it beside the writer thread
    (netted: the items cut by batch apply's netting, as the loop does with BatchApplyEnabled)."""
    out: list = []
    cut = net_runs(items) if netted else list(runs(items))
    worker = threading.Thread(target=lambda: out.extend(writer.prepare(cut)))
    worker.start()
    worker.join()
    return out


def test_updates_prepared_on_another_thread_write_what_the_plain_path_writes(tables):  # noqa: F811
    accounts, writer = _writer_with_rows(tables)
    # one run whose name the source did not send (kept), a key moved, and a row updated twice
    updates = [Item(accounts, TargetChange(Op.UPDATE, key=(i,), row=(i, UNCHANGED, Decimal(i) * 2)))
               for i in range(1, ROWS + 1)]
    moved = [Item(accounts, TargetChange(Op.UPDATE, key=(1,), row=(ROWS + 1, "moved", Decimal(-1)))),
             Item(accounts, TargetChange(Op.UPDATE, key=(2,), row=(2, "twice", Decimal(0))))]
    moved += [Item(accounts, TargetChange(Op.UPDATE, key=(2,), row=(2, "twice", Decimal(5))))]
    moved += [Item(accounts, TargetChange(Op.UPDATE, key=(i,), row=(i, f"m{i}", Decimal(7))))
              for i in range(3, ROWS + 1)]
    for batch in (updates, moved):
        runs = _prepared_elsewhere(writer, batch)
        assert [run.prepared is not None for run in runs] == [True]
        writer.write_runs(runs, careful=False)
    writer.applier.commit()
    expected = [(2, "twice", Decimal(5))] + [(i, f"m{i}", Decimal(7)) for i in range(3, ROWS + 1)]
    assert contents(tables.url, "accounts") == expected + [(ROWS + 1, "moved", Decimal(-1))]
    counts = writer.take_counts()[accounts.key]
    assert (counts.inserts, counts.updates) == (ROWS, 2 * ROWS + 1)


def test_a_table_the_applier_has_not_seen_is_not_prepared_and_still_applied(tables):  # noqa: F811
    routes = tables.routes()
    accounts = next(r for r in routes.values() if r.key.table == "accounts")
    writer = _writer(tables.url)
    inserts = [Item(accounts, TargetChange(Op.INSERT, row=(i, f"n{i}", Decimal(i)))) for i in range(1, ROWS + 1)]
    updates = [Item(accounts, TargetChange(Op.UPDATE, key=(i,), row=(i, "u", Decimal(1)))) for i in range(1, ROWS + 1)]
    runs = _prepared_elsewhere(writer, inserts + updates)
    # the table is first prepared on the connection's thread, by the insert: nothing could be prepared
    assert [run.prepared for run in runs] == [None, None]
    writer.applier.begin()
    writer.write_runs(runs, careful=False)
    writer.applier.commit()
    assert contents(tables.url, "accounts") == [(i, "u", Decimal(1)) for i in range(1, ROWS + 1)]


def test_a_value_copy_cannot_carry_is_left_to_the_writer_which_reports_it(tables):  # noqa: F811
    """Preparing runs on the loop's thread, outside the applier's error handling: a value that cannot
    be rendered must not fail there, but reach the writer, whose fast path hands it to the careful
    replay (the error policies) as it would without preparing."""
    accounts, writer = _writer_with_rows(tables)
    updates = [Item(accounts, TargetChange(Op.UPDATE, key=(i,), row=(i, "nul\x00" if i == 7 else "u", Decimal(1))))
               for i in range(1, ROWS + 1)]
    runs = _prepared_elsewhere(writer, updates)
    assert [run.prepared for run in runs] == [None]
    with pytest.raises(RetryCarefully, match="NUL"):
        writer.write_runs(runs, careful=False)


def test_a_netted_window_prepared_as_distinct_runs_writes_what_the_plain_path_writes(tables):  # noqa: F811
    """Batch apply's netted update runs skip the cutting (`distinct`): the rows written must be those
    the same changes give applied one by one."""
    accounts, writer = _writer_with_rows(tables)
    window = [Item(accounts, TargetChange(Op.UPDATE, key=(i,), row=(i, UNCHANGED, Decimal(i) * 3)))
              for i in range(1, ROWS + 1)]  # every row once, its name not sent...
    window += [Item(accounts, TargetChange(Op.UPDATE, key=(i,), row=(i, f"again{i}", Decimal(-i))))
               for i in range(1, ROWS + 1, 2)]  # ...then half of them again, complete
    cut = _prepared_elsewhere(writer, window, netted=True)
    assert [(run.distinct, run.prepared is not None, len(run.changes)) for run in cut] == \
        [(True, True, ROWS // 2), (True, True, ROWS // 2)]
    writer.write_runs(cut, careful=False)
    writer.applier.commit()
    expected = [(i, f"again{i}", Decimal(-i)) if i % 2 else (i, f"n{i}", Decimal(i) * 3) for i in range(1, ROWS + 1)]
    assert contents(tables.url, "accounts") == expected
    assert writer.take_counts()[accounts.key].updates == ROWS
