"""The PostgreSQL change stream: pgoutput over a psycopg2 logical replication connection.

`read()` turns the stream's messages into committed transactions of the selected tables,
handed over in pieces of at most TRANSACTION_PIECE changes (a million-row transaction is
never held whole). A transaction's position is its commit LSN, known from Begin
(final_lsn), so every piece carries it.

Acknowledgements arrive from the applier's thread; the read loop turns them into
feedback: the flush position sent is the end of the acknowledged commit record (its
Commit message's end_lsn), so PostgreSQL does not send that transaction again, and
the slot's confirmed_flush_lsn / restart_lsn move on.

On PostgreSQL 14+ the stream asks for protocol version 2 with streaming on: a transaction
that outgrows the walsender's logical_decoding_work_mem is sent while it is still in
progress, in blocks that may interleave with other transactions, and ends with a Stream
Commit or Stream Abort. Those become StreamEvents (pieces numbered within the transaction,
aborted subtransactions as ranges of those numbers), so the applier can start on a large
transaction before the source has finished decoding it (see tasks/engine/streamed.py).

On an idle stream the position follows the server's WAL end (keepalives), kept one
byte short of it: it then sorts after every commit already streamed and before any
commit still to come, so the runner can checkpoint and acknowledge it safely.
"""

from __future__ import annotations

import logging
import select
import struct
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
import psycopg2

from ..base import TRANSACTION_PIECE, ChangeStream, Op, RowChange, StreamEvent, StreamKind, Transaction
from ..catalog import SourceTable
from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from . import catalog
from . import pgoutput as pg
from .connection import connect, translate_error
from .heartbeat import Heartbeat, heartbeat_period
from .lsn import format_lsn, parse_lsn
from .relations import Described, RelationCache
from .replication import CaptureNames, capture_names, open_replication, replication_error
from .typemap import MappingOptions

log = logging.getLogger(__name__)

# psycopg2 sends a status update at least this often (seconds) even when nothing is acknowledged.
STATUS_INTERVAL = 5.0
# Acknowledgements are sent to the server at most this often (seconds); they only ever move forward.
FEEDBACK_INTERVAL = 0.5
# Longest wait on the socket before housekeeping (feedback, heartbeat) runs again.
POLL_SECONDS = 1.0
# Once the socket turns readable, wait this long before reading it. Woken for every message, a reader
# keeping up with the walsender made it send one message at a time (a send, a wakeup and a read each):
# 100,000 one-row transactions took 2.0 s to stream and 1.1 s of the reader's CPU. Letting them gather
# for a millisecond streamed them in 0.7 s at a fifth of the CPU; a change waits at most this much longer.
COALESCE_SECONDS = 0.001
# While messages keep coming, the clock is read every this many messages (reading it per message cost 10%).
CLOCK_EVERY = 256
# Commit positions whose end_lsn is remembered for acknowledgement; older ones fall back to position + 1,
# which confirms the same transactions.
REMEMBERED_COMMITS = 50_000


_RELID = struct.Struct("!I").unpack_from

# The dataclass's slots, under PgTransaction's properties.
_POSITION = Transaction.position
_COMMIT_TIME = Transaction.commit_time


def _deferred(slot: Any, make: Callable[[PgTransaction], Any]) -> property:
    """A Transaction field made when first read, then kept in its slot (the dataclass's own)."""
    def get(txn: PgTransaction) -> Any:
        value = slot.__get__(txn)
        if value is None:
            value = make(txn)
            slot.__set__(txn, value)
        return value

    return property(get, slot.__set__)


class PgTransaction(Transaction):
    """A transaction as pgoutput sent it: its position and commit time are spelled out only when read
    (the applier compares `order`, and reads the commit time of one transaction per group). Spelling
    them out cost as much as decoding the row of a one-row transaction."""

    __slots__ = ("commit_micros",)

    def __init__(self, xid: str, commit_micros: int, changes: list[RowChange], source_bytes: int, complete: bool,
                 order: tuple):
        _POSITION.__set__(self, None)
        _COMMIT_TIME.__set__(self, None)
        self.xid = xid
        self.commit_micros = commit_micros
        self.changes = changes
        self.source_bytes = source_bytes
        self.complete = complete
        self.order = order  # (commit LSN,): PostgresEngine.position_key(position)

    position = _deferred(_POSITION, lambda txn: format_lsn(txn.order[0]))
    commit_time = _deferred(_COMMIT_TIME, lambda txn: pg.pg_time(txn.commit_micros))


class _Open:
    """The transaction being read: what Begin said, and the changes of the current piece."""

    __slots__ = ("xid", "order", "commit_micros", "changes", "pieces", "nbytes", "sub")

    def __init__(self, final_lsn: int, commit_micros: int, xid: int):
        self.xid = str(xid)
        self.order = (final_lsn,)
        self.commit_micros = commit_micros
        self.changes: list[RowChange] = []
        self.pieces = 0
        self.nbytes = 0
        self.sub: int | None = None  # streamed only: the subtransaction of the change being read

    def piece(self, complete: bool) -> Transaction:
        txn = PgTransaction(self.xid, self.commit_micros, self.changes, self.nbytes, complete, self.order)
        self.changes, self.nbytes = [], 0
        self.pieces += 1
        return txn


class _Streamed(_Open):
    """A transaction the server streams while it is in progress: its changes are numbered from 0 in
    the order sent, and each subtransaction's first number is kept, because aborting it voids every
    change from there on (what followed its start belongs to it or to its own subtransactions)."""

    __slots__ = ("top", "first", "subtransaction_starts", "piece_has_sub")

    def __init__(self, xid: int):
        super().__init__(0, 0, xid)
        self.top = xid  # as the messages carry it: compared for every change of the stream
        self.first = 0  # number of the first change of the piece being gathered
        self.subtransaction_starts: dict[int, int] = {}
        self.piece_has_sub = False

    @property
    def count(self) -> int:
        return self.first + len(self.changes)

    def note_subtransaction(self) -> None:
        self.subtransaction_starts.setdefault(self.sub, self.count - 1)
        self.piece_has_sub = True

    def piece(self, complete: bool = False) -> StreamEvent:
        event = StreamEvent(StreamKind.PIECE, self.xid, self.changes, self.first, self.piece_has_sub, self.nbytes)
        self.first += len(self.changes)
        self.changes, self.nbytes, self.piece_has_sub = [], 0, False
        self.pieces += 1
        return event

    def abort_subtransaction(self, subxid: int) -> StreamEvent | None:
        start = self.subtransaction_starts.get(subxid)
        if start is None:
            return None  # none of its changes reached us
        for other in [x for x, first in self.subtransaction_starts.items() if first >= start]:
            del self.subtransaction_starts[other]
        return StreamEvent(StreamKind.ABORT, self.xid, discard=(start, self.count))


class PgChangeStream(ChangeStream):
    def __init__(self, conninfo: ConnectionInfo, names: CaptureNames, tables: Sequence[SourceTable], start: str,
                 *, confirmed: str | None, server_version: int):
        self.conninfo = conninfo
        self.names = names
        self.read_changes = 0
        self.read_bytes = 0
        self._position_lsn = parse_lsn(start)
        self._open: _Open | None = None
        self._streams: dict[int, _Streamed] = {}  # in-progress transactions the server is streaming
        self._block: _Streamed | None = None  # the one whose stream block is being read
        self._ready: deque[Transaction] = deque()  # pieces decoded and not yet returned
        # (commit LSN, end of its commit record) of the latest commits, oldest first
        self._ends: deque[tuple[int, int]] = deque(maxlen=REMEMBERED_COMMITS)
        self._ack: str | None = None  # written by acknowledge() on the applier's thread
        self._ack_seen: str | None = None
        self._flushed = parse_lsn(confirmed) if confirmed else 0
        self._feedback_due = False
        self._last_feedback = 0.0
        self._catalog_conn: psycopg.Connection | None = None
        self._mapping_options = MappingOptions.from_conninfo(conninfo)
        self._relations = RelationCache(tables, self._mapping_options, self._catalog)
        period = heartbeat_period(conninfo)
        self._heartbeat = Heartbeat(conninfo, period) if period else None
        # Logical messages (PostgreSQL 14+) let a heartbeat transaction move the position by itself.
        messages = self._heartbeat is not None and server_version >= 140000
        self.streaming = server_version >= 140000
        self._conn = open_replication(conninfo, no_sender_timeout=server_version >= 120000,
                                      decoding_work_mem_kb=decoding_work_mem_kb(conninfo) if self.streaming else None)
        self._cursor = self._conn.cursor()
        options = {"proto_version": "2" if self.streaming else "1",
                   "publication_names": ",".join(_quoted(n) for n in names.publications)}
        if self.streaming:
            options["streaming"] = "on"
        if messages:
            options["messages"] = "true"
        try:
            self._cursor.start_replication(slot_name=names.slot, decode=False, start_lsn=self._position_lsn,
                                           options=options, status_interval=STATUS_INTERVAL)
        except psycopg2.Error as exc:
            self._conn.close()
            raise replication_error(exc, conninfo, doing=f"starting replication from slot {names.slot}") from None
        log.info("Streaming slot %s (publications %s) from %s", names.slot, ", ".join(names.publications),
                 self.position)

    # -- ChangeStream ---------------------------------------------------------------------------
    @property
    def position(self) -> str:
        return format_lsn(self._position_lsn)

    @property
    def heartbeats(self) -> int:
        """Heartbeat transactions written since the stream opened (heartbeatEnable)."""
        return self._heartbeat.beats if self._heartbeat is not None else 0

    def acknowledge(self, position: str) -> None:
        self._ack = position  # a single assignment: safe from any thread; read() sends it

    def read(self, timeout: float) -> Transaction | StreamEvent | None:
        now = time.monotonic()
        deadline = now + timeout
        self._housekeeping(now)
        cursor = self._cursor
        handled = 0
        while not self._ready:
            try:
                message = cursor.read_message()
            except psycopg2.Error as exc:
                raise replication_error(exc, self.conninfo, doing=f"streaming from slot {self.names.slot}") from None
            if message is None:
                if self._open is None and self._block is None:
                    self._follow_wal_end(cursor.wal_end)
                now = time.monotonic()
                self._housekeeping(now)
                if now >= deadline:
                    return None
                self._wait(min(deadline - now, POLL_SECONDS))
                continue
            payload = message.payload
            self.read_bytes += len(payload)
            self._handle(payload)
            handled += 1
            if not handled % CLOCK_EVERY and not self._ready:
                # A long run of messages with nothing complete for us (a big transaction, tables we skip):
                # keep confirming and let the caller check its stop flag.
                now = time.monotonic()
                self._housekeeping(now)
                if now > deadline:
                    return None
        return self._ready.popleft()

    def close(self) -> None:
        """Confirm the last acknowledged position (a clean stop resumes without re-reading), then disconnect."""
        try:
            self._housekeeping(time.monotonic(), final=True)
        except EngineError as exc:
            log.info("The last acknowledgement was not sent (%s): the next run re-reads from the slot's position", exc)
        for closing in (self._conn.close, self._close_catalog):
            try:
                closing()
            except (psycopg2.Error, psycopg.Error):
                pass
        if self._heartbeat is not None:
            self._heartbeat.close()

    # -- messages -------------------------------------------------------------------------------
    def _handle(self, payload: bytes) -> None:
        block = self._block
        try:
            first = payload[0]
            at = 0  # where the message's fields start after its type byte, less one (4: a stream's xid)
            if block is None:
                txn = self._open
            elif first in pg.STREAMED_WITH_XID:
                xid = pg.stream_xid(payload)
                block.sub = None if xid == block.top else xid
                txn = block
                at = 4
            else:
                txn = None
            if txn is not None:
                txn.nbytes += len(payload) - at
            if (first == 0x55 or first == 0x49) and self._new_image(txn, first, payload, at):  # 'U', 'I'
                return
            if at:
                payload = pg.unstreamed(payload)
            if first == 0x53 or first == 0x45 or first == 0x63 or first == 0x41:  # 'S', 'E', 'c', 'A'
                self._stream_control(first, payload)
                return
            if first == 0x42:  # 'B'
                self._open = _Open(*pg.begin_fields(payload))
                return
            if first == 0x43:  # 'C'
                self._commit(*pg.commit_fields(payload))
                return
            if first == 0x55 or first == 0x49 or first == 0x44:  # 'U', 'I', 'D'
                kind, relid, old, _old_kind, new = pg.row_fields(payload)
                self._row(txn, kind, relid, old, new)
                return
            message = pg.decode(payload)
        except (pg.DecodeError, IndexError) as exc:
            raise EngineError(f"Slot {self.names.slot}: a pgoutput message could not be decoded ({exc}).",
                              kind=ErrorKind.OTHER) from None
        kind = type(message)
        if kind is pg.RelationMessage:
            self._relation(txn, message)
        elif kind is pg.TypeMessage:
            self._relations.add_type(message)
        elif kind is pg.Truncate:
            self._truncate(txn, message)
        # Origin and logical messages (heartbeats) carry nothing to apply.

    def _new_image(self, txn: _Open | None, first: int, payload: bytes, at: int) -> bool:
        """The common row change, an Insert or an Update with only its new image, decoded by the
        relation's own tuple decoder where it lies (`at`: 4 in a stream block, after the xid). False:
        take the general path (which reports what is wrong)."""
        if txn is None or len(payload) < at + 6 or payload[at + 5] != 0x4E:  # 'N'
            return False
        described = self._relations.get(_RELID(payload, at + 1)[0])
        if not described.selected:  # the general path skips it without converting its values
            return False
        try:
            values = described.decode_tuple(payload, at + 6)
        except (struct.error, IndexError, ValueError, TypeError):  # ValueError covers bad UTF-8 and ValueProblem
            return False
        if values is None:
            return False
        self._append(txn, RowChange(Op.UPDATE if first == 0x55 else Op.INSERT, described.relation, None, values))
        return True

    def _row(self, txn: _Open | None, kind: int, relid: int, old: tuple | None, new: tuple | None) -> None:
        described = self._relations.get(relid)
        if not described.selected:
            return
        if txn is None:
            raise EngineError(f"Slot {self.names.slot}: a row change arrived outside a transaction.")
        convert = self._relations.convert
        op = Op.UPDATE if kind == 0x55 else Op.INSERT if kind == 0x49 else Op.DELETE
        self._append(txn, RowChange(op, described.relation, convert(described, old), convert(described, new)))

    def _relation(self, txn: _Open | None, message: pg.RelationMessage) -> None:
        """pgoutput describes a relation again after its definition changed (ALTER TABLE ADD/DROP
        COLUMN): that becomes a DDL change, ahead of the first row of the new shape, carrying the
        table as the catalog defines it now so the applier can add or drop the target's columns."""
        before = self._relations.previous_columns(message)
        after = tuple(c.name for c in message.columns)
        if before is not None and before != after and txn is not None:
            table = self._current_table(message.schema, message.table)
            if table is not None:
                self._relations.refresh_table(table)
            described = self._relations.add(message)
            if described.selected:
                added = [c for c in after if c not in before]
                dropped = [c for c in before if c not in after]
                what = "; ".join(part for part in (f"added {', '.join(added)}" if added else "",
                                                   f"dropped {', '.join(dropped)}" if dropped else "") if part)
                self._append(txn, RowChange(Op.DDL, described.relation, table=table,
                                            ddl=f"ALTER TABLE {message.schema}.{message.table}: columns "
                                                f"{what or 'reordered'}"))
            return
        self._relations.add(message)

    def _current_table(self, schema: str, table: str) -> SourceTable | None:
        found = catalog.list_tables(self._catalog(), [schema], self._mapping_options)
        return next((t for t in found if t.name == table), None)

    def _truncate(self, txn: _Open | None, message: pg.Truncate) -> None:
        if txn is None:
            raise EngineError(f"Slot {self.names.slot}: a TRUNCATE arrived outside a transaction.")
        for relid in message.relids:
            described: Described = self._relations.get(relid)
            if described.selected:
                self._append(txn, RowChange(Op.TRUNCATE, described.relation))

    def _append(self, txn: _Open, change: RowChange) -> None:
        # A full piece is handed over only when one more change arrives, so the last piece is never empty.
        if len(txn.changes) >= TRANSACTION_PIECE:
            self._ready.append(txn.piece(complete=False))
        txn.changes.append(change)
        self.read_changes += 1
        if txn.sub is not None:
            txn.note_subtransaction()

    def _stream_control(self, first: int, payload: bytes) -> None:
        """Stream Start/Stop/Commit/Abort: a block of an in-progress transaction opens or closes, or the
        transaction ends. A block's changes are handed over when it closes, so the applier never waits
        for a block that the server will only continue later."""
        if first == 0x53:  # Stream Start
            xid, _first_block = pg.stream_start_fields(payload)
            block = self._streams.get(xid)
            if block is None:
                block = self._streams[xid] = _Streamed(xid)
            self._block = block
        elif first == 0x45:  # Stream Stop
            block, self._block = self._block, None
            if block is not None and block.changes:
                self._ready.append(block.piece())
        elif first == 0x63:  # Stream Commit
            xid, commit_lsn, end_lsn, commit_micros = pg.stream_commit_fields(payload)
            txn = self._streams.pop(xid, None)
            self._ends.append((commit_lsn, end_lsn))
            if commit_lsn >= self._position_lsn:
                self._position_lsn = commit_lsn
            if txn is not None and (txn.pieces or txn.changes):
                if txn.changes:
                    self._ready.append(txn.piece())
                self._ready.append(StreamEvent(StreamKind.COMMIT, txn.xid, position=format_lsn(commit_lsn),
                                               order=(commit_lsn,), commit_time=pg.pg_time(commit_micros)))
        else:  # Stream Abort
            xid, subxid = pg.stream_abort_fields(payload)
            txn = self._streams.get(xid)
            if txn is None:
                return
            if subxid == xid:
                del self._streams[xid]
                if txn.pieces:
                    self._ready.append(StreamEvent(StreamKind.ABORT, txn.xid))
                return
            aborted = txn.abort_subtransaction(subxid)
            if aborted is not None:
                self._ready.append(aborted)

    def _commit(self, commit_lsn: int, end_lsn: int) -> None:
        txn, self._open = self._open, None
        self._ends.append((commit_lsn, end_lsn))
        if commit_lsn >= self._position_lsn:
            self._position_lsn = commit_lsn
        if txn is not None and (txn.changes or txn.pieces):
            self._ready.append(txn.piece(complete=True))
        # else nothing of ours was in it (a heartbeat, or a table we do not capture): only the position moves

    # -- positions and feedback -----------------------------------------------------------------
    def _follow_wal_end(self, wal_end: int) -> None:
        """Between transactions, with nothing waiting: every commit before the server's WAL end was streamed."""
        if wal_end and wal_end - 1 > self._position_lsn:
            self._position_lsn = wal_end - 1

    def _flush_for(self, lsn: int) -> int:
        """The flush position confirming everything up to and including the transaction at `lsn`."""
        ends, end = self._ends, None
        while ends and ends[0][0] <= lsn:
            commit, end_of_record = ends.popleft()
            if commit == lsn:
                end = end_of_record
        # No transaction starts between a commit record's first byte and its end: lsn + 1 confirms the same.
        return end if end is not None else lsn + 1

    def _housekeeping(self, now: float, *, final: bool = False) -> None:
        """Acknowledgements to the server and heartbeats: at least every POLL_SECONDS while read() runs."""
        ack = self._ack
        if ack is not None and ack is not self._ack_seen:
            self._ack_seen = ack
            flush = self._flush_for(parse_lsn(ack))
            if flush > self._flushed:
                self._flushed = flush
                self._feedback_due = True
        if self._feedback_due and (final or now - self._last_feedback >= FEEDBACK_INTERVAL):
            try:
                self._cursor.send_feedback(write_lsn=self._flushed, flush_lsn=self._flushed,
                                           apply_lsn=self._flushed, force=True)
            except psycopg2.Error as exc:
                raise replication_error(exc, self.conninfo, doing=f"confirming a position to slot "
                                                                  f"{self.names.slot}") from None
            self._feedback_due, self._last_feedback = False, now
        if self._heartbeat is not None and not final:
            self._heartbeat.maybe_beat(now)

    def _wait(self, seconds: float) -> None:
        try:
            readable, _, _ = select.select([self._conn], [], [], seconds)
        except (OSError, ValueError) as exc:
            raise EngineError(f"The replication connection to {self.conninfo.host}:{self.conninfo.port} was lost: "
                              f"{exc}", kind=ErrorKind.CONNECTION_LOST) from None
        if readable:
            time.sleep(COALESCE_SECONDS)

    # -- catalog --------------------------------------------------------------------------------
    def _catalog(self) -> psycopg.Connection:
        if self._catalog_conn is None or self._catalog_conn.closed:
            self._catalog_conn = connect(self.conninfo, autocommit=True)
        return self._catalog_conn

    def _close_catalog(self) -> None:
        if self._catalog_conn is not None:
            self._catalog_conn.close()


def open_stream(conninfo: ConnectionInfo, task_id: str, tables: Sequence[SourceTable], start: str,
                options: Mapping[str, Any] | None = None) -> PgChangeStream:
    """The task's stream from `start` (begin_capture prepared the slot and publications)."""
    parse_lsn(start)
    try:
        with connect(conninfo, autocommit=True) as conn:
            names = capture_names(conn, conninfo, task_id)
            row = conn.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
                               (names.slot,)).fetchone()
            version = conn.info.server_version
    except psycopg.Error as exc:
        raise translate_error(exc, conninfo, doing="opening the change stream") from None
    if row is None:
        raise EngineError(f"Replication slot {names.slot!r} does not exist: start the task again (a fresh start "
                          "creates it), or create the slot named by the slotName attribute.",
                          kind=ErrorKind.CONFIGURATION)
    if not names.publications:
        raise EngineError(f"No publication exists for task {task_id!r}: start the task again so its "
                          "publications are created.", kind=ErrorKind.CONFIGURATION)
    return PgChangeStream(conninfo, names, tables, start, confirmed=row[0], server_version=version)


def decoding_work_mem_kb(conninfo: ConnectionInfo) -> int | None:
    """logicalDecodingWorkMem (kB, at least PostgreSQL's minimum of 64), or None for the server's own
    logical_decoding_work_mem. (16 MB started (b)'s streaming sooner, but made bench/cdc.py's drain of
    100,000 small transactions 15% slower than the server default of 64 MB.)"""
    text = conninfo.attr("logicalDecodingWorkMem")
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise EngineError(f"logicalDecodingWorkMem={text!r} is not a whole number of kilobytes: give e.g. 16384 "
                          "(16 MB), or leave it out.", kind=ErrorKind.CONFIGURATION) from None
    if value < 64:
        raise EngineError(f"logicalDecodingWorkMem={value} is below PostgreSQL's minimum of 64 (kB).",
                          kind=ErrorKind.CONFIGURATION)
    return value


def _quoted(name: str) -> str:
    # publication_names is parsed as a list of SQL identifiers: quote each one
    return '"' + name.replace('"', '""') + '"'
