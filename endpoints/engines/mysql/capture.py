"""The MySQL/MariaDB change stream: the binary log in ROW format, read as a replica.

python-mysql-replication blocks while it waits for events, so a reader thread runs it and
hands transaction pieces (assembler.py) to `read()` through a bounded queue: at most
QUEUE_ITEMS pieces wait in memory, and when the capture falls behind the reader simply
stops reading the socket (the server then waits, or drops the dump and the package
reconnects at the same offset). The reader's errors are handed over the same way and
raised by `read()`, in stream order.

Positions (positions.py) move with every transaction and, between transactions, with the
boundaries the reader sees (other tables' transactions, new binlog files), so an idle
task's checkpoint keeps up with the server. Boundaries go through the queue too: the
position never passes a piece `read()` has not returned yet.

MySQL keeps no state for a replica: `acknowledge()` only records the position (the
checkpoint on the target is what a restart resumes from).

Throughput is bound by the package's pure-Python event decoding. Measured on the shared
2-core test machine (MariaDB 10.11, rows of int, int, varchar, decimal, datetime(6)):
a backlog of 50,000 single-row transactions drains at 5,000-6,000 transactions/s; one
transaction of 50,000 UPDATEs (before and after images) at 12,000-15,000 changes/s; one
INSERT of 20,000 narrow rows at about 30,000 changes/s. Table map events are decoded once
per table id (freeze_schema: ALTER TABLE gives the table a new id), which tripled the first.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pymysql
from pymysql.connections import Connection
from pymysqlreplication.event import HeartbeatLogEvent

from ..base import ChangeStream, Transaction
from ..catalog import SourceTable
from ..conninfo import ConnectionInfo
from ..errors import EngineError
from . import binlog, catalog
from .assembler import Assembler
from .connection import connect
from .errors import translate
from .positions import BinlogPosition, check_available, parse_position
from .shapes import TableShapes

log = logging.getLogger(__name__)

# Pieces (of up to TRANSACTION_PIECE changes) and boundaries waiting for read(): bounds the
# stream's memory to a few pieces whatever the backlog.
QUEUE_ITEMS = 8
# Between transactions the latest boundary is queued at most this often (s), and on every heartbeat (the
# server is idle): not after every transaction, which would double the queue traffic of small ones.
BOUNDARY_INTERVAL = 0.2
# How long the reader thread waits on a full queue before checking whether it should stop (s).
PUT_POLL = 0.2
# How long close() waits for the reader thread (s).
CLOSE_WAIT = 10.0


class _QuietWhileClosing(logging.Filter):
    """The package logs a warning when its connection drops and it reconnects; close() drops the
    connection on purpose (to wake the reader), which is not worth a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread not in _CLOSING


_CLOSING: set[int | None] = set()  # reader threads whose stream is closing
logging.getLogger("pymysqlreplication").addFilter(_QuietWhileClosing())


@dataclass(frozen=True, slots=True)
class _Boundary:
    position: str


@dataclass(frozen=True, slots=True)
class _Failure:
    error: EngineError


class _Stopped(Exception):
    """The stream is closing: the reader thread leaves."""


class MySqlChangeStream(ChangeStream):
    def __init__(self, conninfo: ConnectionInfo, task_id: str, tables: Sequence[SourceTable], start: BinlogPosition,
                 *, server_id: int):
        self.conninfo = conninfo
        self.task_id = task_id
        self.server_id = server_id
        self.read_changes = 0
        self.read_bytes = 0
        self.heartbeat = binlog.heartbeat_seconds(conninfo)
        self._position = str(start)
        self._acknowledged: str | None = None
        self._queue: queue.Queue[Transaction | _Boundary | _Failure] = queue.Queue(QUEUE_ITEMS)
        self._stop = threading.Event()
        self._failed: EngineError | None = None
        self._catalog_conn: Connection | None = None
        self.shapes = TableShapes(tables, self._catalog_table)
        self.assembler = Assembler(start, self.shapes, self._put)
        self._reader = binlog.open_reader(conninfo, start, server_id=server_id, schemas=self.shapes.schemas or None,
                                          tables=self.shapes.names or None, heartbeat=self.heartbeat,
                                          report_as=binlog.replica_name(task_id), connector=self._connect)
        self._thread = threading.Thread(target=self._run, name=f"binlog-{task_id}", daemon=True)
        self._thread.start()
        log.info("Reading the binary log of %s:%s from %s as replica %d (%d table(s))", conninfo.host,
                 conninfo.port, start, server_id, len(self.shapes.announced))

    # -- ChangeStream ---------------------------------------------------------------------------
    @property
    def position(self) -> str:
        return self._position

    @property
    def acknowledged(self) -> str | None:
        return self._acknowledged

    @property
    def gtid(self) -> str | None:
        """The GTID of the latest transaction read, where the server writes GTIDs (informational)."""
        return self.assembler.gtid

    @property
    def heartbeats(self) -> int:
        """Heartbeats the server sent while the binary log was idle (every eventsPollInterval seconds)."""
        return self.assembler.heartbeats

    @property
    def notes(self) -> dict[str, int]:
        """Values changed on the way (zero_dates read as NULL), as full-load batches count them."""
        return dict(self.assembler.notes)

    def acknowledge(self, position: str) -> None:
        self._acknowledged = position  # nothing to tell the server: a replica keeps its own position

    def read(self, timeout: float) -> Transaction | None:
        if self._failed is not None:
            raise self._failed
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                return None
            if type(item) is _Boundary:
                self._position = item.position
                continue
            if type(item) is _Failure:
                self._failed = item.error
                raise item.error
            if item.complete:
                self._position = item.position
            return item

    def close(self) -> None:
        self._stop.set()
        _CLOSING.add(self._thread.ident)
        self._interrupt()
        self._thread.join(CLOSE_WAIT)
        _CLOSING.discard(self._thread.ident)
        try:
            self._reader.close()
        except (pymysql.MySQLError, OSError):
            pass
        self._close_catalog()

    # -- the reader thread ----------------------------------------------------------------------
    def _run(self) -> None:
        assembler = self.assembler
        last_boundary, last_put = assembler.boundary, 0.0
        try:
            while not self._stop.is_set():
                event = self._reader.fetchone()
                if event is None:  # only a non-blocking reader ends
                    break
                assembler.handle(event)
                self.read_changes, self.read_bytes = assembler.read_changes, assembler.read_bytes
                boundary = assembler.boundary
                if boundary != last_boundary:
                    now = time.monotonic()
                    if type(event) is HeartbeatLogEvent or now - last_put >= BOUNDARY_INTERVAL:
                        self._put(_Boundary(boundary))
                        last_boundary, last_put = boundary, now
        except _Stopped:
            return
        except BaseException as exc:  # handed to read(), which raises it in stream order
            if self._stop.is_set():
                return
            error = binlog.stream_error(exc, self.conninfo, f"reading the binary log after {self._position}")
            try:
                self._put(_Failure(error))
            except _Stopped:
                pass

    def _connect(self, **settings: Any) -> Connection:
        """The package's (re)connections: none once the stream is closing."""
        if self._stop.is_set():
            raise _Stopped()
        return binlog.connect(**settings)

    def _put(self, item: Transaction | _Boundary | _Failure) -> None:
        while True:
            try:
                self._queue.put(item, timeout=PUT_POLL)
                return
            except queue.Full:
                if self._stop.is_set():
                    raise _Stopped() from None

    def _interrupt(self) -> None:
        """Wake the reader thread out of a blocking socket read."""
        connection = getattr(self._reader, "_stream_connection", None)
        sock = getattr(connection, "_sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- catalog (reader thread) ----------------------------------------------------------------
    def _catalog_table(self, schema: str, table: str) -> SourceTable | None:
        try:
            if self._catalog_conn is None or not self._catalog_conn.open:
                self._catalog_conn = connect(self.conninfo)
            for found in catalog.list_tables(self._catalog_conn, [schema]):
                if found.name == table and found.kind == "table":
                    return found
            return None
        except (pymysql.MySQLError, OSError) as exc:
            raise translate(exc, self.conninfo, f"reading the definition of {schema}.{table}") from None

    def _close_catalog(self) -> None:
        if self._catalog_conn is not None:
            try:
                self._catalog_conn.close()
            except (pymysql.MySQLError, OSError):
                pass
            self._catalog_conn = None


def open_stream(conninfo: ConnectionInfo, task_id: str, tables: Sequence[SourceTable], start: str,
                options: Mapping[str, Any] | None = None) -> MySqlChangeStream:
    """The task's stream from `start` (a boundary or a transaction position; see positions.py)."""
    position = parse_position(start)
    raw = connect(conninfo)
    try:
        taken = binlog.ids_in_use(raw, task_id)
        check_available(raw, position)
    except (pymysql.MySQLError, OSError) as exc:
        raise translate(exc, conninfo, "opening the binary log stream") from None
    finally:
        raw.close()
    server_id = binlog.server_id_for(conninfo, task_id, taken=taken)
    return MySqlChangeStream(conninfo, task_id, tables, position, server_id=server_id)
