"""MS-CDC change rows into source transactions.

One query per capture instance reads cdc.fn_cdc_get_all_changes_<instance>(from, to, N'all update
old'): __$start_lsn (the commit LSN), __$seqval (order within the transaction), __$operation
(1 delete, 2 insert, 3 update before, 4 update after), __$update_mask, then the captured columns.
`merge_rows` merges the instances in (__$start_lsn, __$seqval, __$operation) order, and
`transactions` groups rows sharing a commit LSN into one Transaction (several tables included),
pairing 3+4 into one UPDATE. Positions are commit LSNs in DMS's text form.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..base import TRANSACTION_PIECE, UNCHANGED, Op, Relation, RowChange, Transaction
from ..catalog import SourceColumn, SourceTable
from ..errors import EngineError, ErrorKind
from .cdc_setup import CaptureInstance
from .lsn import Lsn
from .reads import select_expression
from .sqltext import quote
from .values import canonical

META_COLUMNS = ("__$start_lsn", "__$seqval", "__$operation", "__$update_mask")
DELETE, INSERT, UPDATE_BEFORE, UPDATE_AFTER = 1, 2, 3, 4


def change_query(instance: CaptureInstance, table: SourceTable | None = None, *, trim_char: bool = True) -> str:
    """The change query of one capture instance; parameters: from LSN, to LSN (binary(10), both included).
    Columns read through the same expressions as the full load when the table still has them."""
    known = {c.name: c for c in table.columns} if table else {}
    columns = [select_expression(known[name], trim_char=trim_char) if name in known else quote(name)
               for name in instance.columns]
    function = f"{quote('cdc')}.{quote('fn_cdc_get_all_changes_' + instance.name)}"
    meta = ", ".join(quote(m) for m in META_COLUMNS)
    return (f"SELECT {meta}, {', '.join(columns)}\n"  # noqa: S608 - names go through quote()
            f"FROM {function}(CAST(? AS binary(10)), CAST(? AS binary(10)), N'all update old')\n"
            f"ORDER BY {quote('__$start_lsn')}, {quote('__$seqval')}, {quote('__$operation')};")


def change_queries(instances: Iterable[CaptureInstance], tables: Mapping[tuple[str, str], SourceTable], *,
                   trim_char: bool = True) -> dict[str, str]:
    """capture instance name -> its change query, for a set of capture instances."""
    return {i.name: change_query(i, tables.get((i.schema, i.table)), trim_char=trim_char) for i in instances}


def _order(tagged: tuple[str, tuple]) -> tuple[bytes, bytes, int]:
    row = tagged[1]
    return bytes(row[0]), bytes(row[1]), row[2]


def merge_rows(streams: Mapping[str, Iterable[tuple]]) -> Iterator[tuple[str, tuple]]:
    """(capture instance, row) from every instance, in (__$start_lsn, __$seqval, __$operation) order.
    Each stream must already be in that order (the change query's ORDER BY)."""
    return heapq.merge(*(_tagged(name, rows) for name, rows in streams.items()), key=_order)


def _tagged(name: str, rows: Iterable[tuple]) -> Iterator[tuple[str, tuple]]:
    for row in rows:
        yield name, tuple(row)


@dataclass(frozen=True)
class Commit:
    """A commit LSN's row in cdc.lsn_time_mapping."""

    end_time: datetime
    tran_id: bytes | None = None


class _Shape:
    """How one capture instance's rows become RowChanges."""

    def __init__(self, instance: CaptureInstance, table: SourceTable | None):
        known: dict[str, SourceColumn] = {c.name: c for c in table.columns} if table else {}
        key = (table.primary_key or table.best_key) if table else ()
        types = tuple(known[c].native_type if c in known else "" for c in instance.columns)
        self.relation = Relation(instance.schema, instance.table, instance.columns, tuple(key), types)
        self.types = [known[c].dms_type if c in known else None for c in instance.columns]
        self.unchanged = [c in instance.computed for c in instance.columns]

    def values(self, row: tuple) -> tuple:
        data = row[len(META_COLUMNS):]
        return tuple(UNCHANGED if skip else (canonical(t, v) if t is not None else v)
                     for v, t, skip in zip(data, self.types, self.unchanged, strict=True))


def transactions(rows: Iterable[tuple[str, tuple]], instances: Mapping[str, CaptureInstance],
                 tables: Mapping[tuple[str, str], SourceTable], commits: Mapping[bytes, Commit] |
                 Callable[[bytes], Commit | None], *, piece: int = TRANSACTION_PIECE) -> Iterator[Transaction]:
    """Group merged change rows by commit LSN into Transactions, in commit order.

    A transaction with more than `piece` changes arrives in pieces (complete=False on all but the
    last). Captured computed columns are UNCHANGED: MS-CDC always records them as NULL."""
    lookup = commits.get if isinstance(commits, Mapping) else commits
    shapes = {name: _Shape(i, tables.get((i.schema, i.table))) for name, i in instances.items()}
    current: bytes | None = None
    changes: list[RowChange] = []
    before: dict[tuple[str, bytes], tuple] = {}
    for name, row in rows:
        lsn = bytes(row[0])
        if lsn != current:
            if current is not None:
                yield _transaction(current, lookup, changes, True)
            current, changes = lsn, []
            before.clear()
        elif len(changes) >= piece:
            yield _transaction(current, lookup, changes, False)
            changes = []
        change = _change(shapes[name], name, row, before)
        if change is not None:
            changes.append(change)
    if current is not None:
        yield _transaction(current, lookup, changes, True)


def _change(shape: _Shape, name: str, row: tuple, before: dict[tuple[str, bytes], tuple]) -> RowChange | None:
    operation = row[2]
    values = shape.values(row)
    if operation == DELETE:
        return RowChange(Op.DELETE, shape.relation, before=values)
    if operation == INSERT:
        return RowChange(Op.INSERT, shape.relation, after=values)
    if operation == UPDATE_BEFORE:
        before[(name, bytes(row[1]))] = values  # its after image follows with the same __$seqval
        return None
    if operation == UPDATE_AFTER:
        return RowChange(Op.UPDATE, shape.relation, before=before.pop((name, bytes(row[1])), None), after=values)
    raise EngineError(f"Capture instance {name} returned __$operation {operation!r}; only 1-4 are known. "
                      "Check the SQL Server version.", kind=ErrorKind.OTHER)


def _transaction(lsn: bytes, lookup: Callable[[bytes], Commit | None], changes: list[RowChange],
                 complete: bool) -> Transaction:
    commit = lookup(lsn)
    position = str(Lsn.from_bytes(lsn))
    if commit is None:
        raise EngineError(f"Commit LSN {position} is missing from cdc.lsn_time_mapping: the MS-CDC cleanup job "
                          "may have removed it while it was read. The read is retried.",
                          kind=ErrorKind.OTHER, permanent=False)
    xid = "0x" + commit.tran_id.hex().upper() if commit.tran_id else position
    return Transaction(xid=xid, position=position, commit_time=commit.end_time, changes=changes, complete=complete)


def commits_from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[bytes, Commit]:
    """sql/cdc_commit_times.sql rows keyed by commit LSN."""
    return {bytes(r["start_lsn"]): Commit(r["tran_end_time"], bytes(r["tran_id"]) if r["tran_id"] else None)
            for r in rows}
