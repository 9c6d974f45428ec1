"""Decoding the pgoutput plugin's messages (logical replication protocol versions 1 and 2). Pure: bytes in,
records out. Version 2 adds the streaming of in-progress transactions: Stream Start/Stop/Commit/Abort,
and inside a stream block every change-carrying message has the (sub)transaction's xid after its type.

Formats: PostgreSQL documentation, "Logical Replication Message Formats". Integers are
big-endian; strings are NUL-terminated UTF-8 (the session's client_encoding); LSNs
are unsigned 64-bit integers; timestamps are microseconds since 2000-01-01 UTC.

Tuple data values decode to:
    None       'n'  SQL NULL
    UNCHANGED  'u'  an unchanged TOAST value the server did not send (keep the target's value)
    str        't'  the type's text output
    bytes      'b'  the type's binary send form (only sent when binary mode is requested)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..base import UNCHANGED

PG_EPOCH = datetime(2000, 1, 1)

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")
_BEGIN = struct.Struct("!QqI")  # final LSN, commit time, xid
_COMMIT = struct.Struct("!BQQq")  # flags, commit LSN, end LSN, commit time
_COLUMN_TYPE = struct.Struct("!Ii")
_STREAM_START = struct.Struct("!IB")  # xid, first segment (1) or not (0)
_STREAM_COMMIT = struct.Struct("!IBQQq")  # xid, flags, commit LSN, end LSN, commit time
_STREAM_ABORT = struct.Struct("!II")  # xid, subtransaction xid (the xid again when the whole transaction aborts)
# Messages that carry an xid inside a stream block: Insert, Update, Delete, Truncate, Relation, Type, Message.
STREAMED_WITH_XID = frozenset(b"IUDTRYM")  # type oid, type modifier

# Replica identity settings as pg_class.relreplident spells them.
REPLICA_IDENTITY = {"d": "default", "n": "nothing", "f": "full", "i": "index"}

TRUNCATE_CASCADE = 1
TRUNCATE_RESTART_IDENTITY = 2


class DecodeError(ValueError):
    """The bytes are not a well-formed pgoutput message of protocol version 1."""


@dataclass(slots=True)
class Begin:
    final_lsn: int  # the LSN of the transaction's commit record
    commit_time: datetime  # naive UTC
    xid: int


@dataclass(slots=True)
class Commit:
    commit_lsn: int
    end_lsn: int  # the end of the commit record: confirming it means "this transaction is done"
    commit_time: datetime
    flags: int = 0


@dataclass(slots=True)
class Origin:
    lsn: int  # the commit's LSN on the origin server
    name: str


@dataclass(slots=True)
class Column:
    name: str
    type_oid: int
    typmod: int  # -1 when the type has no modifier
    key: bool  # part of the replica identity (every column with REPLICA IDENTITY FULL)


@dataclass(slots=True)
class RelationMessage:
    relid: int
    schema: str
    table: str
    replica_identity: str  # d, n, f or i (pg_class.relreplident)
    columns: tuple[Column, ...]


@dataclass(slots=True)
class TypeMessage:
    type_oid: int
    schema: str
    name: str


@dataclass(slots=True)
class Insert:
    relid: int
    new: tuple


@dataclass(slots=True)
class Update:
    relid: int
    new: tuple
    old: tuple | None = None  # None: the key did not change and the identity is not FULL
    old_kind: str | None = None  # 'K': old key values only (others None), 'O': the whole old row


@dataclass(slots=True)
class Delete:
    relid: int
    old: tuple
    old_kind: str  # 'K' or 'O', as for Update


@dataclass(slots=True)
class Truncate:
    relids: tuple[int, ...]
    cascade: bool
    restart_identity: bool


@dataclass(slots=True)
class LogicalMessage:
    transactional: bool
    lsn: int
    prefix: str
    content: bytes


Message = (Begin | Commit | Origin | RelationMessage | TypeMessage | Insert | Update | Delete | Truncate
           | LogicalMessage)


def pg_time(microseconds: int) -> datetime:
    """A PostgreSQL TimestampTz (microseconds since 2000-01-01 UTC) as a naive UTC datetime."""
    seconds, micros = divmod(microseconds, 1_000_000)
    return PG_EPOCH + timedelta(0, seconds, micros)  # positional: half the cost of microseconds=, per transaction


def decode(data: bytes | bytearray | memoryview) -> Message:
    """One pgoutput message. Raises DecodeError for anything else (including truncated messages)."""
    buf = bytes(data)
    if not buf:
        raise DecodeError("empty message")
    handler = _HANDLERS.get(buf[0])
    if handler is None:
        raise DecodeError(f"unknown message type {chr(buf[0])!r} (0x{buf[0]:02x})")
    try:
        return handler(buf)
    except DecodeError as exc:
        if str(exc).startswith("malformed "):  # row_fields names the message itself
            raise
        raise DecodeError(f"malformed {chr(buf[0])!r} message: {exc}") from None
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise DecodeError(f"malformed {chr(buf[0])!r} message: {exc}") from None


def begin_fields(buf: bytes) -> tuple[int, int, int]:
    """A Begin message's (final LSN, commit time in PostgreSQL microseconds, xid), without building a
    Begin: a busy stream is mostly Begin, one row and Commit, and this is the cheap path for them."""
    try:
        return _BEGIN.unpack_from(buf, 1)
    except struct.error as exc:
        raise DecodeError(f"malformed 'B' message: {exc}") from None


def commit_fields(buf: bytes) -> tuple[int, int]:
    """A Commit message's (commit LSN, end LSN): see begin_fields."""
    try:
        _flags, commit_lsn, end_lsn, _time = _COMMIT.unpack_from(buf, 1)
    except struct.error as exc:
        raise DecodeError(f"malformed 'C' message: {exc}") from None
    return commit_lsn, end_lsn


def stream_start_fields(buf: bytes) -> tuple[int, bool]:
    """A Stream Start message's (xid, whether this is the transaction's first block)."""
    try:
        xid, first = _STREAM_START.unpack_from(buf, 1)
    except struct.error as exc:
        raise DecodeError(f"malformed 'S' message: {exc}") from None
    return xid, first == 1


def stream_commit_fields(buf: bytes) -> tuple[int, int, int, int]:
    """A Stream Commit message's (xid, commit LSN, end LSN, commit time in PostgreSQL microseconds)."""
    try:
        xid, _flags, commit_lsn, end_lsn, commit_time = _STREAM_COMMIT.unpack_from(buf, 1)
    except struct.error as exc:
        raise DecodeError(f"malformed 'c' message: {exc}") from None
    return xid, commit_lsn, end_lsn, commit_time


def stream_abort_fields(buf: bytes) -> tuple[int, int]:
    """A Stream Abort message's (xid, subtransaction xid)."""
    try:
        return _STREAM_ABORT.unpack_from(buf, 1)
    except struct.error as exc:
        raise DecodeError(f"malformed 'A' message: {exc}") from None


def stream_xid(buf: bytes) -> int:
    """The xid a message from inside a stream block carries after its type byte."""
    if len(buf) < 5:
        raise DecodeError(f"malformed {chr(buf[0])!r} message in a stream: no xid")
    return _U32.unpack_from(buf, 1)[0]


def unstreamed(buf: bytes) -> bytes:
    """A message from inside a stream block as protocol version 1 lays it out (its xid taken out), so
    the rest of the decoder reads both the same way."""
    return buf[:1] + buf[5:]


def _begin(buf: bytes) -> Begin:
    final_lsn, commit_time, xid = _BEGIN.unpack_from(buf, 1)
    return Begin(final_lsn, pg_time(commit_time), xid)


def _commit(buf: bytes) -> Commit:
    flags, commit_lsn, end_lsn, commit_time = _COMMIT.unpack_from(buf, 1)
    return Commit(commit_lsn, end_lsn, pg_time(commit_time), flags)


def _origin(buf: bytes) -> Origin:
    (lsn,) = _U64.unpack_from(buf, 1)
    name, _ = _cstring(buf, 9)
    return Origin(lsn, name)


def _relation(buf: bytes) -> RelationMessage:
    (relid,) = _U32.unpack_from(buf, 1)
    schema, pos = _cstring(buf, 5)
    table, pos = _cstring(buf, pos)
    identity = chr(buf[pos])
    (count,) = _U16.unpack_from(buf, pos + 1)
    pos += 3
    columns = []
    for _ in range(count):
        flags = buf[pos]
        name, pos = _cstring(buf, pos + 1)
        type_oid, typmod = _COLUMN_TYPE.unpack_from(buf, pos)
        pos += 8
        columns.append(Column(name, type_oid, typmod, bool(flags & 1)))
    # pgoutput sends an empty namespace for pg_catalog to save space
    return RelationMessage(relid, schema or "pg_catalog", table, identity, tuple(columns))


def _type(buf: bytes) -> TypeMessage:
    (type_oid,) = _U32.unpack_from(buf, 1)
    schema, pos = _cstring(buf, 5)
    name, _ = _cstring(buf, pos)
    return TypeMessage(type_oid, schema or "pg_catalog", name)


def row_fields(buf: bytes) -> tuple[int, int, tuple | None, str | None, tuple | None]:
    """An Insert, Update or Delete message as (type byte, relid, old tuple, old kind, new tuple), without
    building a message object: the capture's path for every row change. Raises DecodeError."""
    try:
        kind = buf[0]
        (relid,) = _U32.unpack_from(buf, 1)
        marker = buf[5]
        if kind == 0x49:  # 'I'
            if marker != 0x4E:  # 'N'
                raise DecodeError(f"insert: expected 'N' before the new tuple, got {buf[5:6]!r}")
            return kind, relid, None, None, read_tuple(buf, 6)[0]
        if kind == 0x55:  # 'U'
            old = old_kind = None
            pos = 6
            if marker == 0x4B or marker == 0x4F:  # 'K', 'O'
                old, pos = read_tuple(buf, pos)
                old_kind = chr(marker)
                marker = buf[pos]
                pos += 1
            if marker != 0x4E:
                raise DecodeError(f"update: expected 'N' before the new tuple, got {bytes([marker])!r}")
            return kind, relid, old, old_kind, read_tuple(buf, pos)[0]
        if kind == 0x44:  # 'D'
            if marker != 0x4B and marker != 0x4F:
                raise DecodeError(f"delete: expected 'K' or 'O' before the old tuple, got {buf[5:6]!r}")
            return kind, relid, read_tuple(buf, 6)[0], chr(marker), None
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise DecodeError(f"malformed {chr(buf[0])!r} message: {exc}") from None
    except DecodeError as exc:
        raise DecodeError(f"malformed {chr(buf[0])!r} message: {exc}") from None
    raise DecodeError(f"not a row change message: {chr(buf[0])!r}")


def _insert(buf: bytes) -> Insert:
    _, relid, _, _, new = row_fields(buf)
    return Insert(relid, new)


def _update(buf: bytes) -> Update:
    _, relid, old, old_kind, new = row_fields(buf)
    return Update(relid, new, old, old_kind)


def _delete(buf: bytes) -> Delete:
    _, relid, old, old_kind, _ = row_fields(buf)
    return Delete(relid, old, old_kind)


def _truncate(buf: bytes) -> Truncate:
    (count,) = _U32.unpack_from(buf, 1)
    flags = buf[5]
    relids = struct.unpack_from(f"!{count}I", buf, 6)
    return Truncate(tuple(relids), bool(flags & TRUNCATE_CASCADE), bool(flags & TRUNCATE_RESTART_IDENTITY))


def _message(buf: bytes) -> LogicalMessage:
    flags = buf[1]
    (lsn,) = _U64.unpack_from(buf, 2)
    prefix, pos = _cstring(buf, 10)
    (length,) = _U32.unpack_from(buf, pos)
    content = buf[pos + 4:pos + 4 + length]
    if len(content) != length:
        raise DecodeError(f"message content: {length} bytes announced, {len(content)} present")
    return LogicalMessage(bool(flags & 1), lsn, prefix, content)


def read_tuple(buf: bytes, pos: int) -> tuple[tuple, int]:
    """TupleData at `pos`: (values, position after it). The hot path of decoding: kept flat."""
    (count,) = _U16.unpack_from(buf, pos)
    pos += 2
    values: list = [None] * count
    unpack = _U32.unpack_from
    for i in range(count):
        kind = buf[pos]
        if kind == 0x74:  # 't'
            length = unpack(buf, pos + 1)[0]
            pos += 5
            values[i] = buf[pos:pos + length].decode()
            pos += length
        elif kind == 0x6E:  # 'n': the list already holds None
            pos += 1
        elif kind == 0x75:  # 'u'
            values[i] = UNCHANGED
            pos += 1
        elif kind == 0x62:  # 'b'
            length = unpack(buf, pos + 1)[0]
            pos += 5
            values[i] = buf[pos:pos + length]
            pos += length
        else:
            raise DecodeError(f"unknown tuple value kind {chr(kind)!r}")
    if pos > len(buf):  # a slice past the end is silently short: the lengths tell
        raise DecodeError(f"tuple values run past the end of the message ({pos} > {len(buf)} bytes)")
    return tuple(values), pos


def _cstring(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.find(b"\x00", pos)
    if end < 0:
        raise DecodeError(f"string at byte {pos} has no terminating NUL")
    return buf[pos:end].decode("utf-8"), end + 1


_HANDLERS = {
    ord("B"): _begin,
    ord("C"): _commit,
    ord("O"): _origin,
    ord("R"): _relation,
    ord("Y"): _type,
    ord("I"): _insert,
    ord("U"): _update,
    ord("D"): _delete,
    ord("T"): _truncate,
    ord("M"): _message,
}
