"""Reading one-column text result rows straight off the MySQL wire.

PyMySQL spends about 15 Python calls on every row packet (header, sequence check,
packet object, length-coded string, decoding); for the COPY path, whose rows are one
finished line each, that was most of the client's time (profiled: 20 of 24 s for 1M
rows under cProfile). After PyMySQL has sent the query and read the column
definitions (SSCursor.execute), this module reads the row packets from the same
buffered socket itself, a few byte operations per row, and hands PyMySQL back a
connection positioned after the EOF packet, as its own reader would have left it.

Text protocol, without CLIENT_DEPRECATE_EOF (PyMySQL 1.2.4 does not ask for it):
    packet   = 3-byte little-endian payload length, 1-byte sequence id, payload
    row      = one length-encoded string per column (0xFB: NULL)
    EOF      = payload starting 0xFE and shorter than 9 bytes: warnings, status flags
    error    = payload starting 0xFF
A payload of 0xFFFFFF bytes continues in the next packet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pymysql
from pymysql.connections import Connection

MAX_PAYLOAD = 0xFFFFFF
_READ_SIZE = 256 * 1024


class PacketReader:
    """Row payloads from a `read1`-like function, keeping track of sequence ids."""

    def __init__(self, read: Callable[[int], bytes], next_seq: int):
        self._read = read
        self._buf = b""
        self._pos = 0
        self.next_seq = next_seq
        self.done = False  # the EOF packet was read
        self.status = 0  # its server status flags

    def _fill(self, needed: int) -> None:
        """Make at least `needed` bytes available after the read position."""
        parts = [self._buf[self._pos:]]
        have = len(parts[0])
        while have < needed:
            chunk = self._read(max(_READ_SIZE, needed - have))
            if not chunk:
                raise pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")
            parts.append(chunk)
            have += len(chunk)
        self._buf = b"".join(parts)
        self._pos = 0

    def lines(self, limit: int) -> list[bytes]:
        """Up to `limit` first-column values (NULL as b''); fewer only when the rows ended (`done`)."""
        out: list[bytes] = []
        append = out.append
        buf, pos, seq = self._buf, self._pos, self.next_seq
        while len(out) < limit:
            if len(buf) - pos < 5:
                self._buf, self._pos = buf, pos
                self._fill(5)
                buf, pos = self._buf, 0
            size = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
            end = pos + 4 + size
            first = buf[pos + 4]
            if first < 0xFB and end <= len(buf) and size < MAX_PAYLOAD and buf[pos + 3] == seq:
                append(buf[pos + 5:end])  # the common case: a short length prefix, whole packet buffered
                seq = (seq + 1) & 0xFF
                pos = end
                continue
            self._buf, self._pos, self.next_seq = buf, pos, seq
            value = self._slow_row()
            if self.done:
                break
            append(value)
            buf, pos, seq = self._buf, self._pos, self.next_seq
        if not self.done:
            self._buf, self._pos, self.next_seq = buf, pos, seq
        return out

    def _slow_row(self) -> bytes:
        """The first column of the row at the read position, whatever its shape; sets `done` on EOF."""
        payload = self._whole_payload()
        first = payload[0]
        if first == 0xFE and len(payload) < 9:
            self.done = True
            self.status = int.from_bytes(payload[3:5], "little") if len(payload) >= 5 else 0
            return b""
        if first == 0xFF:
            pymysql.err.raise_mysql_exception(payload)
        if first == 0xFB:
            return b""
        if first < 0xFB:
            return payload[1:1 + first]
        width = {0xFC: 2, 0xFD: 3, 0xFE: 8}[first]
        length = int.from_bytes(payload[1:1 + width], "little")
        return payload[1 + width:1 + width + length]

    def _whole_payload(self) -> bytes:
        """The payload at the read position, joined across 0xFFFFFF-byte continuation packets."""
        parts = []
        while True:
            self._fill(4)
            header = self._buf[0:4]
            size = header[0] | header[1] << 8 | header[2] << 16
            if header[3] != self.next_seq:
                raise pymysql.err.InternalError(f"Packet sequence number wrong - got {header[3]} "
                                                f"expected {self.next_seq}")
            self.next_seq = (self.next_seq + 1) & 0xFF
            self._fill(4 + size)
            parts.append(self._buf[4:4 + size])
            self._pos = 4 + size
            if size < MAX_PAYLOAD:
                return b"".join(parts)


def stream_first_column(raw: Connection, batch_rows: int) -> Iterator[list[bytes]]:
    """Batches of the first column of the result an SSCursor has just started (after execute()).

    Every batch but the last has exactly batch_rows values; on return PyMySQL's state is
    as after its own reading of the EOF packet, so the connection can run the next query."""
    result = raw._result
    if result is None or not result.unbuffered_active:
        return  # no rows to read (an OK packet, not a result set)
    reader = PacketReader(raw._rfile.read1, raw._next_seq_id)
    try:
        while not reader.done:
            lines = reader.lines(batch_rows)
            if reader.done:
                raw._next_seq_id = reader.next_seq
                raw.server_status = reader.status
                result.unbuffered_active = False
                result.connection = None
                result.rows = None
            if lines:
                yield lines
    except BaseException:
        if not reader.done:
            # Stopped mid-result: skipping the rest would mean reading it all, so the connection goes.
            result.unbuffered_active = False
            raw._force_close()
        raise
