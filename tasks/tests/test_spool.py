"""The on-disk change buffer: order, bounds, rewind after a failed group, segment clean-up."""

from datetime import datetime

import pytest

from endpoints.engines.base import Op, Relation, RowChange, Transaction
from tasks.engine import spool as spool_module
from tasks.engine.spool import Marker, Spool, SpoolFull

REL = Relation("public", "t", ("id", "v"), ("id",))


def txn(n: int, payload: str = "x") -> Transaction:
    return Transaction(str(n), f"0/{n:X}", datetime(2026, 1, 1), [RowChange(Op.INSERT, REL, after=(n, payload))])


def test_it_returns_records_in_the_order_they_were_appended(tmp_path):
    spool = Spool(tmp_path / "s", 10**9)
    for n in range(100):
        spool.append(txn(n))
    spool.append(Marker("0/FFFF"))
    read = [spool.read(0) for _ in range(101)]
    assert [r.xid for r in read[:100]] == [str(n) for n in range(100)]
    assert read[100] == Marker("0/FFFF")
    assert spool.read(0) is None
    assert read[5].changes[0].after == (5, "x")


def test_it_refuses_an_append_beyond_its_limit_and_says_what_to_do(tmp_path):
    spool = Spool(tmp_path / "s", 2000)
    with pytest.raises(SpoolFull, match="Raise the replication instance's allocated storage"):
        for n in range(1000):
            spool.append(txn(n))
    assert 0 < spool.records_written < 1000
    # everything accepted before the refusal is still readable
    assert [spool.read(0).xid for _ in range(spool.records_written)] == [str(n) for n in range(spool.records_written)]


def test_it_rewinds_to_a_mark_so_a_failed_group_is_applied_again(tmp_path):
    spool = Spool(tmp_path / "s", 10**9)
    for n in range(10):
        spool.append(txn(n))
    spool.read(0)
    mark, read_before = spool.mark(), spool.records_read
    first = [spool.read(0).xid for _ in range(4)]
    spool.rewind(mark, read_before)
    again = [spool.read(0).xid for _ in range(4)]
    assert first == again == ["1", "2", "3", "4"]
    assert spool.backlog == 5


def test_it_rotates_segments_and_deletes_them_once_released(tmp_path, monkeypatch):
    monkeypatch.setattr(spool_module, "SEGMENT_BYTES", 4096)
    spool = Spool(tmp_path / "s", 10**9)
    for n in range(200):
        spool.append(txn(n, "y" * 100))
    files_before = len(list((tmp_path / "s").glob("*.spool")))
    assert files_before > 3
    for _ in range(150):
        spool.read(0)
    spool.release()
    files_after = len(list((tmp_path / "s").glob("*.spool")))
    assert files_after < files_before
    assert [spool.read(0).xid for _ in range(50)] == [str(n) for n in range(150, 200)]
    assert spool.bytes_on_disk < 200 * 150


def test_it_wakes_a_waiting_reader_when_a_record_arrives(tmp_path):
    import threading
    import time

    spool = Spool(tmp_path / "s", 10**9)
    got = []
    reader = threading.Thread(target=lambda: got.append(spool.read(5)))
    reader.start()
    time.sleep(0.1)
    started = time.monotonic()
    spool.append(txn(7))
    reader.join()
    assert got[0].xid == "7"
    assert time.monotonic() - started < 1


ONE = spool_module._measure(txn(0))[0]  # estimated bytes of one one-change record


def spooled_bytes(directory) -> int:
    return sum(f.stat().st_size for f in directory.glob("*.spool"))


def test_records_within_the_memory_budget_never_touch_the_disk(tmp_path):
    spool = Spool(tmp_path / "s", 10**9, memory_bytes=10**6)
    records = [txn(n) for n in range(50)]
    for record in records:
        spool.append(record)
    assert spooled_bytes(tmp_path / "s") == 0 and spool.bytes_on_disk == 0
    assert spool.changes_in_memory == 50
    assert [spool.read(0) for _ in range(50)] == records
    spool.release()
    assert spool.changes_in_memory == 0


def test_beyond_the_memory_budget_records_go_to_disk_and_keep_their_order(tmp_path):
    spool = Spool(tmp_path / "s", 10**9, memory_bytes=20 * ONE)  # room for 20 one-change records
    for n in range(100):
        spool.append(txn(n))
    assert spool.changes_in_memory == 20
    assert spool.bytes_on_disk > 0
    assert [spool.read(0).xid for _ in range(100)] == [str(n) for n in range(100)]
    assert spool.read(0) is None


def test_a_rewind_replays_records_from_memory_and_disk_alike(tmp_path):
    spool = Spool(tmp_path / "s", 10**9, memory_bytes=5 * ONE)
    for n in range(12):
        spool.append(txn(n))
    spool.read(0)
    mark, read_before = spool.mark(), spool.records_read
    first = [spool.read(0).xid for _ in range(9)]  # crosses from the memory records to the disk ones
    spool.rewind(mark, read_before)
    assert [spool.read(0).xid for _ in range(9)] == first == [str(n) for n in range(1, 10)]


def test_released_records_free_the_budget_for_the_next_ones(tmp_path):
    spool = Spool(tmp_path / "s", 10**9, memory_bytes=5 * ONE)
    for n in range(5):
        spool.append(txn(n))
    for _ in range(5):
        spool.read(0)
    spool.release()
    for n in range(5, 10):
        spool.append(txn(n))
    assert spool.bytes_on_disk == 0
    assert [spool.read(0).xid for _ in range(5)] == ["5", "6", "7", "8", "9"]


def test_memory_use_stays_bounded_when_the_reader_stops(tmp_path):
    spool = Spool(tmp_path / "s", 10**9, memory_bytes=10 * ONE)
    for n in range(2000):
        spool.append(txn(n, "z" * 50))
    assert spool.changes_in_memory == 10
    assert spool.bytes_on_disk > 0
    assert spool.backlog == 2000


def test_records_in_memory_count_against_the_limit_too(tmp_path):
    spool = Spool(tmp_path / "s", limit_bytes=10 * ONE, memory_bytes=10**9)
    with pytest.raises(SpoolFull, match="allocated storage"):
        for n in range(100):
            spool.append(txn(n))
    assert spool.records_written == 10


def test_a_transaction_comes_back_from_disk_exactly_as_it_went(tmp_path):
    from endpoints.engines.base import UNCHANGED
    from endpoints.engines.catalog import SourceColumn, SourceTable

    a = Relation("s", "a", ("x",), ("x",))
    b = Relation("s", "b", ("y", "z"), ("y",))
    rows = Transaction("7", "0/7", datetime(2026, 1, 1), [
        RowChange(Op.INSERT, a, None, (1,)), RowChange(Op.UPDATE, b, (2, None), (3, UNCHANGED)),
        RowChange(Op.DELETE, a, (1,), None), RowChange(Op.TRUNCATE, b)], source_bytes=99, complete=False,
        order=(7,))
    table = SourceTable("s", "a", (SourceColumn("x", "integer", None, nullable=False),), primary_key=("x",))
    ddl = Transaction("8", "0/8", datetime(2026, 1, 1), [RowChange(Op.DDL, a, ddl="ALTER TABLE", table=table)],
                      order=(8,))
    spool = Spool(tmp_path, limit_bytes=10**8)  # no memory budget: every record is pickled to disk
    spool.append([rows, ddl])
    [back_rows, back_ddl] = spool.read(0)
    assert (back_rows, back_ddl) == (rows, ddl)
    assert back_rows.changes[1].after[1] is UNCHANGED
    assert back_rows.changes[0].relation is back_rows.changes[2].relation  # one relation object per table
    assert not back_rows.complete and back_rows.source_bytes == 99
    assert (back_rows.order, back_ddl.order) == ((7,), (8,))  # the applier skips by it: it must survive
