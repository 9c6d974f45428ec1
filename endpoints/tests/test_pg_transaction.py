"""PgTransaction: a captured transaction whose position and commit time are spelled out when read."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta

from endpoints.engines.base import Op, Relation, RowChange, Transaction
from endpoints.engines.postgres.capture import PgTransaction

RELATION = Relation("public", "t", ("id", "v"), ("id",))
MICROS = 849_312_345_678_901  # 2026-11-30 00:05:45.678901 UTC


def captured() -> PgTransaction:
    change = RowChange(Op.UPDATE, RELATION, None, (1, 2))
    return PgTransaction("731", MICROS, [change], 40, True, (0x16B3748,))


def test_its_commit_time_is_the_microseconds_after_the_postgresql_epoch_to_the_microsecond():
    txn = captured()
    assert txn.commit_time == datetime(2000, 1, 1) + timedelta(microseconds=MICROS)
    assert txn.commit_time == datetime(2026, 11, 30, 0, 5, 45, 678_901)
    assert txn.commit_time is txn.commit_time  # made once
    assert isinstance(txn, Transaction)


def test_it_spools_as_a_plain_transaction_with_the_same_fields():
    txn = captured()
    back = pickle.loads(pickle.dumps(txn))
    assert type(back) is Transaction
    assert (back.xid, back.position, back.commit_time, back.source_bytes, back.complete, back.order) == (
        "731", "0/16B3748", txn.commit_time, 40, True, (0x16B3748,))
    assert back.changes == txn.changes


def test_its_position_is_its_commit_lsn_as_postgresql_writes_it():
    txn = captured()
    assert txn.position == "0/16B3748"
    assert txn.position is txn.position
    assert PgTransaction("1", MICROS, [], 0, True, (0x1_0000_00A0,)).position == "1/A0"


def test_its_fields_can_be_set():
    txn = captured()
    txn.commit_time = datetime(2026, 1, 1)
    txn.position = "0/1"
    assert (txn.commit_time, txn.position) == (datetime(2026, 1, 1), "0/1")
