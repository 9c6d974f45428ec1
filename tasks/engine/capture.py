"""Reading the source's change stream into the spool, on its own thread.

The capture never waits for the target: it appends every transaction (piece)
to the spool as soon as the source gives it, so a slow or unreachable target
only makes the spool grow. When the stream is idle it records position
markers so the checkpoint (and the source's slot) can advance anyway.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from endpoints.engines.base import ChangeStream, Op, StreamEvent, StreamKind, Transaction, seconds_since

from .spool import Marker, Spool

MARKER_INTERVAL = 5.0  # seconds between position markers on an idle stream
# Transactions that are ready together go to the spool as one record: per-record costs (a pickle,
# a write, a lock) then do not grow with the number of tiny source transactions.
BATCH_CHANGES = 5000
BATCH_TRANSACTIONS = 2000


class Solo(list):
    """A spool record that must start its own target transaction: it holds a source DDL. (A MySQL
    target commits implicitly at ALTER TABLE, so nothing else may be pending in the group then.)"""


def _has_ddl(txn: Transaction) -> bool:
    ddl = Op.DDL
    for change in txn.changes:  # a plain loop: most transactions hold one change, and any() costs more
        if change.op is ddl:
            return True
    return False


class CapturePump(threading.Thread):
    def __init__(self, stream: ChangeStream, spool: Spool, stop: threading.Event):
        super().__init__(name="capture", daemon=True)
        self.stream = stream
        self.spool = spool
        self.stop = stop
        self.error: BaseException | None = None
        self.transactions = 0
        self.last_commit_time: datetime | None = None
        self.caught_up = False  # the last read found nothing waiting at the source
        self._last_marker: str | None = None
        self._held: Transaction | None = None  # read ahead by _batch, goes first in the next record
        self._last_marker_at = 0.0

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                txn, self._held = self._held or self.stream.read(timeout=0.5), None
                if txn is None:
                    self.caught_up = True
                    self._mark_idle_position()
                    continue
                self.caught_up = False
                if type(txn) is StreamEvent:  # travels alone: the applier decides what to do with each
                    self.spool.append(txn)
                    if txn.kind == StreamKind.COMMIT:
                        self.transactions += 1
                        self.last_commit_time = txn.commit_time
                    continue
                batch = self._batch(txn)
                self.spool.append(batch)
                self.transactions += sum(t.complete for t in batch)
                self.last_commit_time = batch[-1].commit_time
        except BaseException as exc:  # handed to the applier thread, which stops the task with it
            self.error = exc

    def _batch(self, first: Transaction) -> list[Transaction]:
        """`first` and whatever else the stream has ready now, up to a bound; a batch ends at the first
        incomplete piece (the rest of that transaction follows in the next records). A transaction with
        a DDL travels alone, as a Solo record."""
        if _has_ddl(first):
            return Solo([first])
        batch, changes = [first], len(first.changes)
        while batch[-1].complete and changes < BATCH_CHANGES and len(batch) < BATCH_TRANSACTIONS:
            txn = self.stream.read(timeout=0)
            if txn is None:
                break
            if type(txn) is StreamEvent or _has_ddl(txn):
                self._held = txn  # starts the next record
                break
            batch.append(txn)
            changes += len(txn.changes)
        return batch

    def _mark_idle_position(self) -> None:
        now = time.monotonic()
        position = self.stream.position
        if position and position != self._last_marker and now - self._last_marker_at >= MARKER_INTERVAL:
            self.spool.append(Marker(position))
            self._last_marker, self._last_marker_at = position, now

    def latency(self) -> float:
        """CDCLatencySource: seconds from the last captured commit to now; 0 when caught up."""
        if self.caught_up or self.last_commit_time is None:
            return 0.0
        return max(0.0, seconds_since(self.last_commit_time))
