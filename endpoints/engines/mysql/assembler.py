"""Binary log events -> committed transactions of the selected tables, in pieces, in commit order.

A transaction starts with a GTID event (MariaDB GTID; MySQL GTID or anonymous GTID) or, on
servers that write none, a BEGIN query; it ends with an XID event (transactional tables), a
COMMIT query (non-transactional ones) or, for DDL, with its single statement. Its position is
the end offset of its first event (positions.py); its commit time is the XID/COMMIT event's
timestamp. Rolled-back InnoDB transactions are never written to the binary log.

When the stream opens at a transaction position P (a checkpoint), the events before the next
transaction start are the rest of the transaction at P: they are reported with position P, so
the applier recognises and skips them. Telling "the rest of a transaction" from "a new one"
relies on every transaction starting with a GTID event, which the servers that have
binlog_row_metadata (MariaDB 10.5+, MySQL 8.0.1+) always write (MySQL: anonymous GTIDs when
gtid_mode is OFF).

Boundaries (end offsets of transactions, or the start of a new binlog file) are reported
between transactions, so an idle stream's position moves with the server's traffic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from pymysqlreplication.constants.BINLOG import ANONYMOUS_GTID_LOG_EVENT
from pymysqlreplication.event import (
    GtidEvent,
    HeartbeatLogEvent,
    MariadbGtidEvent,
    NotImplementedEvent,
    QueryEvent,
    RotateEvent,
    XAPrepareEvent,
    XidEvent,
)
from pymysqlreplication.row_event import DeleteRowsEvent, TableMapEvent, UpdateRowsEvent, WriteRowsEvent

from ..base import TRANSACTION_PIECE, Op, RowChange, Transaction
from ..errors import EngineError, ErrorKind
from . import statements
from .positions import BinlogPosition
from .shapes import TableKey, TableShapes

log = logging.getLogger(__name__)

# MySQL's TRANSACTION_PAYLOAD_EVENT: a compressed transaction (binlog_transaction_compression=ON).
TRANSACTION_PAYLOAD_EVENT = 40
# MariaDB GTID event flag: the transaction is a single statement without BEGIN/COMMIT (DDL).
FL_STANDALONE = 0x01


def commit_time(timestamp: int) -> datetime:
    """A binlog event timestamp (seconds since the epoch) as a naive UTC datetime."""
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


class _Open:
    """The transaction being read."""

    __slots__ = ("xid", "position", "commit_time", "changes", "pieces", "nbytes", "single", "began")

    def __init__(self, xid: str, position: str, timestamp: int, *, single: bool):
        self.xid = xid
        self.position = position
        self.commit_time = commit_time(timestamp)
        self.changes: list[RowChange] = []
        self.pieces = 0
        self.nbytes = 0
        self.single = single  # ends with its one statement (DDL), not with XID/COMMIT
        self.began = False

    def piece(self, complete: bool) -> Transaction:
        txn = Transaction(self.xid, self.position, self.commit_time, self.changes, source_bytes=self.nbytes,
                          complete=complete)
        self.changes, self.nbytes = [], 0
        self.pieces += 1
        return txn


class Assembler:
    """Fed every event in stream order (on the reader thread); hands pieces to `emit` in order."""

    def __init__(self, start: BinlogPosition, shapes: TableShapes, emit: Callable[[Transaction], None]):
        self.shapes = shapes
        self.emit = emit
        self.file = start.file
        self.start = str(start)
        self.boundary = str(start)  # the latest offset between transactions
        self.gtid: str | None = None  # the latest transaction's GTID, where the server writes them
        self.read_changes = 0
        self.read_bytes = 0
        self.heartbeats = 0
        self.notes: dict[str, int] = {}
        self._open: _Open | None = None
        self._continuing = True  # until the first transaction start: events belong to the one at `start`

    # -- dispatch -------------------------------------------------------------------------------
    def handle(self, event: object) -> None:
        packet = event.packet  # type: ignore[attr-defined]
        self.read_bytes += packet.event_size
        if self._open is not None:
            self._open.nbytes += packet.event_size
        kind = type(event)
        if kind is WriteRowsEvent or kind is UpdateRowsEvent or kind is DeleteRowsEvent:
            self._rows(event)
        elif kind is TableMapEvent:
            self._table_map(event)
        elif kind is XidEvent:
            self._finish(event.timestamp, packet.log_pos)
        elif kind is QueryEvent:
            self._query(event)
        elif kind is MariadbGtidEvent:
            self._begin(event, event.gtid, single=bool(event.flags & FL_STANDALONE))
        elif kind is GtidEvent:
            self._begin(event, event.gtid, single=True)
        elif kind is RotateEvent:
            self._rotate(event)
        elif kind is NotImplementedEvent:
            self._other(event)
        elif kind is XAPrepareEvent:
            self._xa_prepare()
        elif kind is HeartbeatLogEvent:
            self.heartbeats += 1  # liveness only: the connection is alive and nothing is waiting

    # -- transactions ---------------------------------------------------------------------------
    def _begin(self, event: object, gtid: str | None, *, single: bool) -> None:
        packet = event.packet  # type: ignore[attr-defined]
        if self._open is not None:
            # The previous transaction had no terminator we saw (e.g. the rest of the one at the start
            # position): it ended where this one starts.
            self._finish(event.timestamp, packet.log_pos - packet.event_size)  # type: ignore[attr-defined]
        self._continuing = False
        position = str(BinlogPosition(self.file, packet.log_pos))
        self.gtid = gtid
        self._open = _Open(gtid or position, position, event.timestamp, single=single)  # type: ignore[attr-defined]

    def _implicit(self, event: object) -> _Open:
        """The transaction an event belongs to when no start was seen for it."""
        if self._open is None:
            packet = event.packet  # type: ignore[attr-defined]
            position = self.start if self._continuing else str(BinlogPosition(self.file, packet.log_pos))
            self._open = _Open(position, position, event.timestamp, single=not self._continuing)  # type: ignore
            self._open.nbytes = packet.event_size
        return self._open

    def _finish(self, timestamp: int, end: int) -> None:
        txn, self._open = self._open, None
        self._continuing = False
        if txn is not None and (txn.changes or txn.pieces):
            txn.commit_time = commit_time(timestamp)
            self.emit(txn.piece(complete=True))
        if end > 0:
            self.boundary = str(BinlogPosition(self.file, end))

    def _append(self, txn: _Open, change: RowChange) -> None:
        # A full piece is handed over only when one more change arrives, so the last piece is never empty.
        if len(txn.changes) >= TRANSACTION_PIECE:
            self.emit(txn.piece(complete=False))
        txn.changes.append(change)
        self.read_changes += 1

    # -- events ---------------------------------------------------------------------------------
    def _rows(self, event: WriteRowsEvent | UpdateRowsEvent | DeleteRowsEvent) -> None:
        layout = self.shapes.layout(event.table_id)
        if layout is None:
            return
        txn = self._implicit(event)
        relation, notes = layout.relation, self.notes
        if type(event) is WriteRowsEvent:
            for row in event.rows:
                self._append(txn, RowChange(Op.INSERT, relation, after=layout.row(row["values"],
                                                                                   row["none_sources"], notes)))
        elif type(event) is UpdateRowsEvent:
            for row in event.rows:
                before = layout.row(row["before_values"], row["before_none_sources"], notes)
                after = layout.row(row["after_values"], row["after_none_sources"], notes)
                self._append(txn, RowChange(Op.UPDATE, relation, before=before, after=after))
        else:
            for row in event.rows:
                self._append(txn, RowChange(Op.DELETE, relation, before=layout.row(row["values"],
                                                                                    row["none_sources"], notes)))

    def _table_map(self, event: TableMapEvent) -> None:
        reshaped = self.shapes.table_map(event)
        if reshaped is not None:  # the rows that follow have other columns than the table last announced
            txn = self._implicit(event)
            self._append(txn, RowChange(Op.DDL, self.shapes.relation((event.schema, event.table)),
                                        ddl="table definition changed (seen in the binary log)", table=reshaped))

    def _query(self, event: QueryEvent) -> None:
        statement = statements.parse(event.query)
        kind = statement.kind
        end = event.packet.log_pos
        if kind is statements.Kind.BEGIN:
            if self._open is None:
                if self._continuing:  # opened right after the GTID event of the transaction at `start`
                    self._implicit(event)
                else:  # servers without GTID events: BEGIN starts the transaction
                    self._begin(event, None, single=False)
            self._open.began = True
            self._open.single = False
            return
        if kind is statements.Kind.COMMIT:
            self._finish(event.timestamp, end)
            return
        if kind is statements.Kind.ROLLBACK:
            self._rollback(end)
            return
        if kind is statements.Kind.CONTROL:
            return
        txn = self._implicit(event)
        default_schema = event.schema.decode("utf-8", errors="replace") if event.schema else ""
        self._statement(txn, statement, event.query, default_schema)
        if txn.single:
            self._finish(event.timestamp, end)

    def _rollback(self, end: int) -> None:
        txn, self._open = self._open, None
        if txn is not None and (txn.changes or txn.pieces):
            # Written only when a transaction that changed a non-transactional table rolled back: its
            # transactional changes are undone, the others are not; we cannot tell them apart here.
            log.warning("Transaction %s rolled back after changing non-transactional tables: its %d captured "
                        "change(s) are dropped. Compare the tables it touched.", txn.xid,
                        len(txn.changes) + txn.pieces * TRANSACTION_PIECE)
            if txn.pieces:
                raise EngineError(f"Transaction {txn.xid} rolled back after {txn.pieces} piece(s) were handed over; "
                                  "it mixed transactional and non-transactional tables, which CDC cannot replay "
                                  "exactly. Reload the affected tables.", kind=ErrorKind.DATA)
        self._continuing = False
        self.boundary = str(BinlogPosition(self.file, end))

    def _statement(self, txn: _Open, statement: statements.Statement, text: str, default_schema: str) -> None:
        Kind = statements.Kind
        keys = [(schema or default_schema, table) for schema, table in statement.tables]
        chosen = [k for k in keys if self.shapes.selected(*k)]
        if statement.kind is Kind.DML:
            if chosen:
                raise EngineError(
                    f"A change to {', '.join('.'.join(k) for k in chosen)} was written to the binary log as a "
                    f"statement ({text[:200]!r}): a session used binlog_format=STATEMENT or MIXED, and row-based "
                    "CDC cannot read it. Make every session log rows (binlog_format=ROW, and no SET SESSION "
                    "binlog_format), then reload the table.", kind=ErrorKind.CONFIGURATION)
            return
        if not chosen or statement.temporary:
            return
        if statement.kind is Kind.TRUNCATE:
            for key in chosen:
                self._append(txn, RowChange(Op.TRUNCATE, self.shapes.relation(key)))
        elif statement.kind in (Kind.ALTER, Kind.CREATE):
            for key in chosen:
                self._altered(txn, key, text)
        elif statement.kind in (Kind.DROP, Kind.RENAME):
            for key in chosen:
                self._append(txn, RowChange(Op.DDL, self.shapes.relation(key), ddl=text, table=None))

    def _altered(self, txn: _Open, key: TableKey, text: str) -> None:
        before = self.shapes.relation(key)
        table = self.shapes.refresh(key)
        if table is None:  # renamed or dropped by the same statement
            self._append(txn, RowChange(Op.DDL, before, ddl=text, table=None))
            return
        self._append(txn, RowChange(Op.DDL, self.shapes.relation(key), ddl=text, table=table))

    def _xa_prepare(self) -> None:
        txn, self._open = self._open, None
        if txn is not None and (txn.changes or txn.pieces):
            # Its rows are written at XA PREPARE; XA COMMIT or XA ROLLBACK comes later, on its own.
            raise EngineError(f"An XA transaction ({txn.xid}) changed captured tables: CDC cannot tell whether it "
                              "commits. Finish XA transactions on these tables as ordinary transactions.",
                              kind=ErrorKind.UNSUPPORTED)

    def _rotate(self, event: RotateEvent) -> None:
        self.file = event.next_binlog
        if self._open is None and event.position >= 4:
            self.boundary = str(BinlogPosition(self.file, event.position))

    def _other(self, event: NotImplementedEvent) -> None:
        packet = event.packet
        if packet.event_type == ANONYMOUS_GTID_LOG_EVENT:
            self._begin(event, None, single=True)
        elif packet.event_type == TRANSACTION_PAYLOAD_EVENT:
            raise EngineError("The binary log holds compressed transactions (binlog_transaction_compression=ON), "
                              "which CDC cannot read (as in AWS DMS). Set binlog_transaction_compression=OFF and "
                              "reload the task.", kind=ErrorKind.CONFIGURATION)
