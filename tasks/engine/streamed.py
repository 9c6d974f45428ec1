"""Source transactions that arrive while still in progress (StreamEvents), on the applier's side.

PostgreSQL streams a transaction that outgrows the walsender's decoding memory before it commits,
in pieces that may interleave with other transactions. The applier handles one in two ways:

- Ahead of its commit: when it is the only thing arriving, every table replicates and its pieces hold
  only row changes of the top-level transaction, its pieces are written into an open target
  transaction as they come. The source's Stream Commit commits that target transaction with the
  checkpoint, as any transaction; a Stream Abort rolls it back. Nothing is committed before the
  source committed, so a crash rolls it back and the source sends it again.
- At its commit (kept aside): otherwise the pieces go to a spool of their own (Deferred), aborted
  subtransactions are noted as ranges of change numbers, and at the Stream Commit the transaction is
  read back (Replay) and applied like any other, in commit order.

When something else arrives while a transaction is applied ahead of its commit (another
transaction, a subtransaction's changes, a DDL), the applier rolls it back, rewinds to its first
piece and keeps it aside instead (Unspeculate).
"""

from __future__ import annotations

import time
from pathlib import Path

from endpoints.engines.base import Op, RowChange, StreamEvent, StreamKind, Transaction

from .spool import Spool, SpoolPosition

_ROW_OPS = frozenset((Op.INSERT, Op.UPDATE, Op.DELETE))


class Unspeculate(Exception):  # noqa: N818 - a signal to the apply loop, not an error
    """The transaction applied ahead of its commit must be kept aside and applied at its commit."""

    def __init__(self, xid: str, why: str):
        super().__init__(f"source transaction {xid}: {why}")
        self.xid = xid
        self.why = why


def only_row_changes(event: StreamEvent) -> bool:
    return all(change.op in _ROW_OPS for change in event.changes)


class Deferred:
    """A streamed transaction kept aside until it ends. Events are numbered by their record in the main
    spool: a group that is rolled back and read again offers the same events again, kept only once."""

    def __init__(self, directory: Path, limit_bytes: int, *, complete_start: bool = True):
        self.spool = Spool(directory, limit_bytes)
        self.discards: list[tuple[int, int]] = []
        self.upto = 0  # main-spool number of the last event kept
        self.complete_start = complete_start  # False: its first pieces never reached us (see ApplyLoop)

    def keep(self, event: StreamEvent, number: int) -> None:
        if number <= self.upto:
            return
        self.upto = number
        if event.kind == StreamKind.PIECE:
            self.spool.append(event)
        elif event.discard is not None:
            self.discards.append(event.discard)

    def close(self) -> None:
        self.spool.close()


class Replay:
    """A kept transaction read back as the applier reads a spool: its pieces become Transaction pieces at
    the commit's position, without the changes of aborted subtransactions, and the commit closes it."""

    def __init__(self, deferred: Deferred, commit: StreamEvent):
        deferred.spool.append(commit)
        self.source = deferred.spool
        self.discards = deferred.discards
        self.commit = commit

    @property
    def records_read(self) -> int:
        return self.source.records_read

    def mark(self) -> SpoolPosition:
        return self.source.mark()

    def rewind(self, position: SpoolPosition, records_read: int) -> None:
        self.source.rewind(position, records_read)

    def release(self) -> None:
        self.source.release()

    def read(self, timeout: float) -> Transaction | None:
        event = self.source.read(timeout=0)
        if event is None:
            time.sleep(min(timeout, 0.05))  # everything was read: only the group's end is left
            return None
        commit = self.commit
        if event.kind == StreamKind.COMMIT:
            return Transaction(commit.xid, commit.position, commit.commit_time, [], complete=True, order=commit.order)
        return Transaction(commit.xid, commit.position, commit.commit_time, self._kept(event), event.source_bytes,
                           complete=False, order=commit.order)

    def _kept(self, event: StreamEvent) -> list[RowChange]:
        discards = self.discards
        if not discards:
            return event.changes
        return [change for number, change in enumerate(event.changes, event.first)
                if not any(start <= number < end for start, end in discards)]
