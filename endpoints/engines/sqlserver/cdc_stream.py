"""The MS-CDC change stream: polls the change tables every pollingInterval seconds and hands out
whole committed transactions, in pieces, in commit order.

Positions are commit LSNs ('00000021:00000100:0004'). A stream opened at P reads commits after P.
While a poll's transactions are handed out the position is the last one's commit LSN; once they
are all out it moves to the poll's sys.fn_cdc_get_max_lsn, so an idle stream's position advances
and the task's checkpoint with it (the capture job harvests the log in order: nothing at or
below that LSN can appear later).

Acknowledgements tell MS-CDC nothing: the cleanup job, not the reader, decides when changes go
(its retention, 3 days by default), so `acknowledge` only records the position.

read() never sleeps past its timeout; a poll's own queries may take longer. A transient error
(lost connection, a timeout) between two transactions is retried from the last complete one on a
new connection at the next poll, a few times in a row at most; in the middle of a transaction
(pieces already handed out) it is raised, since the applier holds part of that transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..base import ChangeStream, RowChange, Transaction
from ..catalog import SourceTable
from ..errors import EngineError
from .cdc_reader import PAGE_ROWS, Bounds, ChangeReader
from .lsn import Lsn

MAX_RETRIES = 3  # transient failures in a row before the error goes to the task

log = logging.getLogger(__name__)


class MsCdcStream(ChangeStream):
    def __init__(self, connect: Callable[[], Any], tables: Sequence[SourceTable], start: Lsn, *,
                 polling_interval: float, translate: Callable[[BaseException], EngineError],
                 trim_char: bool = True, page_rows: int = PAGE_ROWS, clock: Callable[[], float] = time.monotonic,
                 wait: Callable[[float], bool] | None = None):
        self._connect = connect
        self.polling_interval = polling_interval
        self._translate = translate
        self._clock = clock
        self._closed = threading.Event()
        self._wait = wait or self._closed.wait
        self._connection: Any = None
        # One reader for the stream's life: it remembers which capture instances it accepted; a new
        # connection only gives it a new cursor.
        self._reader = ChangeReader(None, tables, start, trim_char=trim_char, page_rows=page_rows)
        self._pending: Iterator[Transaction] | None = None
        self._pending_end: Lsn | None = None
        self._position = start
        self._inside = False  # pieces of a transaction handed out, its last one not yet
        self._next_poll = clock()
        self._failures = 0
        self.acknowledged: str | None = None
        self.read_changes = 0
        self.read_bytes = 0

    # -- ChangeStream ------------------------------------------------------------------------------
    @property
    def position(self) -> str:
        return str(self._position)

    def acknowledge(self, position: str) -> None:
        self.acknowledged = position  # MS-CDC keeps changes until its cleanup job's retention: nothing to tell

    def read(self, timeout: float) -> Transaction | None:
        deadline = self._clock() + timeout
        while not self._closed.is_set():
            if self._pending is not None:
                piece = self._guarded(self._next_piece)
                if piece is not None:
                    return piece
                continue
            now = self._clock()
            if now >= self._next_poll:
                self._next_poll = now + self.polling_interval
                self._guarded(self._poll)
                continue
            if now >= deadline:
                return None
            self._wait(min(self._next_poll, deadline) - now)
        return None

    def close(self) -> None:
        self._closed.set()
        self._disconnect()

    # -- polling -----------------------------------------------------------------------------------
    def _poll(self) -> None:
        reader = self._open_reader()
        bounds: Bounds = reader.bounds()
        start = self._position.increment()
        if bounds.end is None or bounds.end < start:
            self._failures = 0
            return  # nothing harvested since (or the capture job has not run yet)
        started = time.monotonic()
        self._pending = reader.transactions(start, bounds)
        self._pending_end = bounds.end
        log.debug("MS-CDC poll: LSN %s to %s, capture instances and DDL read in %.3f s", start, bounds.end,
                  time.monotonic() - started)

    def _next_piece(self) -> Transaction | None:
        assert self._pending is not None
        piece = next(self._pending, None)
        if piece is None:  # the poll is handed out: everything up to its max LSN is
            self._pending = None
            if self._pending_end is not None and self._pending_end > self._position:
                self._position = self._pending_end
            self._failures = 0
            return None
        self._position = Lsn.parse(piece.position)
        self._inside = not piece.complete
        self.read_changes += len(piece.changes)
        piece.source_bytes = _approximate_bytes(piece.changes)
        self.read_bytes += piece.source_bytes
        return piece

    def _guarded(self, step: Callable[[], Transaction | None]) -> Transaction | None:
        try:
            return step()
        except Exception as exc:  # driver errors arrive untranslated
            error = exc if isinstance(exc, EngineError) else self._translate(exc)
            self._pending = None
            self._disconnect()
            self._failures += 1
            if error.permanent or self._inside or self._failures > MAX_RETRIES:
                raise error from None
            # Between transactions: the next poll starts again after the last complete one.
            log.warning("MS-CDC read failed (%s of %s tries); retrying from LSN %s at the next poll: %s",
                        self._failures, MAX_RETRIES, self._position, error)
            return None

    # -- connection --------------------------------------------------------------------------------
    def _open_reader(self) -> ChangeReader:
        if self._connection is None:
            self._connection = self._connect()
            self._reader.cursor = self._connection.cursor()
        return self._reader

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        self._reader.cursor = None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # closing a broken connection may fail too; it is gone either way
                pass


def _approximate_bytes(changes: list[RowChange]) -> int:
    """Roughly what the changes weigh at the source: text and binary by length, other values 8 bytes."""
    total = 0
    for change in changes:
        for image in (change.before, change.after):
            if image is not None:
                total += sum(len(v) if isinstance(v, str | bytes) else 8 for v in image)
        if change.ddl:
            total += len(change.ddl)
    return total
