"""MS-CDC change rows into source transactions.

One query per capture instance reads cdc.fn_cdc_get_all_changes_<instance>(from, to, N'all update
old'): __$start_lsn (the commit LSN), __$seqval (order within the transaction), __$operation
(1 delete, 2 insert, 3 update before, 4 update after), __$update_mask, then the captured columns.
`merge_rows` merges the instances in (__$start_lsn, __$seqval, __$operation) order, and
`transactions` groups rows sharing a commit LSN into one Transaction (several tables included),
pairing 3+4 into one UPDATE. Positions are commit LSNs in DMS's text form.

ALTER TABLE statements recorded in cdc.ddl_history join the merge as rows of the DDL_STREAM
(`ddl_row`): their ddl_lsn is the commit LSN of the DDL, and they sort before the changes of
the same commit, so the applier sees the statement before rows of the new shape.
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
DDL_STREAM = ""  # never a capture instance name (sp_cdc_enable_table refuses an empty one)
DDL = 0  # the __$operation of a DDL row: below every real operation, so it sorts first in its commit
_NO_SEQVAL = bytes(10)


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


def change_page_query(instance: CaptureInstance, table: SourceTable | None = None, *, trim_char: bool = True) -> str:
    """One page of the change query, so no capture instance ever has more than a page of rows in memory.
    Parameters: page size, from LSN, to LSN, then the last row read (start LSN twice, seqval twice,
    operation): the page holds the rows after it in query order. WITH TIES keeps rows sharing the
    last (start LSN, seqval, operation) on one page, so the next page cannot skip any."""
    select, rest = change_query(instance, table, trim_char=trim_char).split("\n", 1)
    source, order = rest.split("\n", 1)
    after = ("WHERE [__$start_lsn] > CAST(? AS binary(10)) OR ([__$start_lsn] = CAST(? AS binary(10)) AND "
             "([__$seqval] > CAST(? AS binary(10)) OR ([__$seqval] = CAST(? AS binary(10)) AND "
             "[__$operation] > ?)))")
    return "\n".join([select.replace("SELECT ", "SELECT TOP (?) WITH TIES ", 1), source, after, order])


def first_page_after(start: Lsn) -> tuple[bytes, bytes, int]:
    """The 'last row read' for a page query's first page: every row at `start` or later follows it."""
    return start.to_bytes(), _NO_SEQVAL, DDL


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


def ddl_row(lsn: bytes, schema: str, table: str, statement: str, when: datetime) -> tuple:
    """A cdc.ddl_history row shaped for the merge: (ddl_lsn, seqval, operation, -, schema, table, statement, time)."""
    return (lsn, _NO_SEQVAL, DDL, None, schema, table, statement, when)


class _Shape:
    """How one capture instance's rows become RowChanges.

    The relation lists the captured columns, then the table's columns the instance does not capture
    (added after it was created): MS-CDC never sent values for those, so they are UNCHANGED and the
    target keeps what it has. Captured computed columns are UNCHANGED too: MS-CDC records them as NULL."""

    def __init__(self, instance: CaptureInstance, table: SourceTable | None):
        known: dict[str, SourceColumn] = {c.name: c for c in table.columns} if table else {}
        key = (table.primary_key or table.best_key) if table else ()
        missing = tuple(name for name in known if name not in instance.columns)
        columns = instance.columns + missing
        types = tuple(known[c].native_type if c in known else "" for c in columns)
        self.relation = Relation(instance.schema, instance.table, columns, tuple(key), types)
        self.types = [known[c].dms_type if c in known else None for c in instance.columns]
        self.unchanged = [c in instance.computed for c in instance.columns]
        self.padding = (UNCHANGED,) * len(missing)

    def values(self, row: tuple) -> tuple:
        data = row[len(META_COLUMNS):]
        return tuple(UNCHANGED if skip else (canonical(t, v) if t is not None else v)
                     for v, t, skip in zip(data, self.types, self.unchanged, strict=True)) + self.padding


def transactions(rows: Iterable[tuple[str, tuple]], instances: Mapping[str, CaptureInstance],
                 tables: Mapping[tuple[str, str], SourceTable], commits: Mapping[bytes, Commit] |
                 Callable[[bytes], Commit | None], *, piece: int = TRANSACTION_PIECE) -> Iterator[Transaction]:
    """Group merged change rows by commit LSN into Transactions, in commit order.

    A transaction with more than `piece` changes arrives in pieces (complete=False on all but the
    last). Rows of the DDL_STREAM become Op.DDL changes carrying the statement, described with the
    table's newest capture instance among `instances`."""
    lookup = commits.get if isinstance(commits, Mapping) else commits
    shapes = {name: _Shape(i, tables.get((i.schema, i.table))) for name, i in instances.items()}
    newest: dict[tuple[str, str], _Shape] = {}
    for name in sorted(shapes, key=lambda n: instances[n].min_lsn):  # a newer instance replaces an older one
        newest[(instances[name].schema, instances[name].table)] = shapes[name]
    current: bytes | None = None
    changes: list[RowChange] = []
    before: dict[tuple[str, bytes], tuple] = {}
    ddl_time: datetime | None = None
    for name, row in rows:
        lsn = bytes(row[0])
        if lsn != current:
            if current is not None:
                yield _transaction(current, lookup, changes, True, ddl_time)
            current, changes, ddl_time = lsn, [], None
            before.clear()
        elif len(changes) >= piece:
            yield _transaction(current, lookup, changes, False, ddl_time)
            changes = []
        if name == DDL_STREAM:
            changes.append(_ddl_change(row, newest, tables))
            ddl_time = row[7]
            continue
        change = _change(shapes[name], name, row, before)
        if change is not None:
            changes.append(change)
    if current is not None:
        yield _transaction(current, lookup, changes, True, ddl_time)


def _ddl_change(row: tuple, newest: Mapping[tuple[str, str], _Shape],
                tables: Mapping[tuple[str, str], SourceTable]) -> RowChange:
    schema, table, statement = row[4], row[5], row[6]
    shape = newest.get((schema, table))
    if shape is not None:
        relation = shape.relation
    else:  # no capture instance read in this range: describe the table as the task knows it
        known = tables.get((schema, table))
        columns = tuple(c.name for c in known.columns) if known else ()
        relation = Relation(schema, table, columns, tuple(known.best_key) if known else (),
                            tuple(c.native_type for c in known.columns) if known else ())
    return RowChange(Op.DDL, relation, ddl=statement)


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
                 complete: bool, ddl_time: datetime | None = None) -> Transaction:
    commit = lookup(lsn)
    position = str(Lsn.from_bytes(lsn))
    if commit is None and ddl_time is not None:
        # A commit holding only DDL may have no cdc.lsn_time_mapping row: ddl_history has its time.
        commit = Commit(ddl_time)
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
