"""The on-disk change buffer on the worker.

The capture appends records (transaction pieces and idle-position markers) as
fast as the source gives them; the applier reads them in order, as fast as the
target takes them. The spool is what lets the capture run ahead of a slow or
unreachable target without holding changes in memory and without re-reading
the source log.

Records are held in memory up to a small budget (no serialisation while the
target keeps up) and beyond it written as length-prefixed pickles to segment
files of SEGMENT_BYTES; a segment is deleted once the applier has committed
everything in it. The spool
is bounded: an append that would exceed `limit_bytes` raises SpoolFull, which
stops the task with a clear error (nothing is acknowledged to the source
beyond what the target committed, so nothing is lost).
"""

from __future__ import annotations

import os
import pickle
import shutil
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from endpoints.engines.base import StreamEvent

SEGMENT_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct("<I")


class SpoolFull(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Marker:
    """The stream moved to `position` with no data for us (idle source, heartbeat)."""

    position: str


@dataclass(frozen=True, slots=True)
class SpoolPosition:
    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class _InMemory:
    record: Any
    size: int  # estimated bytes
    changes: int


def _measure(record: Any) -> tuple[int, int]:
    """(bytes the record takes in memory, roughly; its changes). The bytes are its changes' size in the
    source log three times over for Python's objects, and never less than a few hundred a change."""
    if isinstance(record, Marker):
        return 100, 0
    if isinstance(record, StreamEvent):
        return 3 * record.source_bytes + 200 + 300 * len(record.changes), len(record.changes)
    transactions = record if isinstance(record, list) else [record]
    changes = sum(len(t.changes) for t in transactions)
    return sum(3 * t.source_bytes + 200 for t in transactions) + 300 * changes, changes


class Spool:
    """One writer thread, one reader thread.

    Records are numbered in append order. With a memory budget, a record is kept as the object
    itself while the unreleased records in memory fit the budget, and pickled to a segment file
    otherwise: a target that keeps up costs no serialisation at all, one that falls behind or goes
    away costs disk, not memory. Either way a record stays until release(), so rewind() can replay
    it, and records are never mutated once appended."""

    def __init__(self, directory: Path, limit_bytes: int, memory_bytes: int = 0):
        self.directory = Path(directory)
        self.limit_bytes = limit_bytes
        self.memory_bytes = memory_bytes
        shutil.rmtree(self.directory, ignore_errors=True)  # a spool never outlives its run
        self.directory.mkdir(parents=True)
        self._cond = threading.Condition()
        self._write_segment = 0
        self._write_file = self._open_segment(0)
        self._written = 0  # bytes written to segment files in total
        self._released = 0  # bytes of deleted segments
        self._segment_sizes: dict[int, int] = {0: 0}
        self._in_memory_records: dict[int, _InMemory] = {}  # record number -> record, until released
        self._in_memory = 0  # estimated bytes of the records held in memory
        self._changes_in_memory = 0
        self._disk_read = SpoolPosition(0, 0)  # the next unread record of those on disk (they are in order)
        self.records_written = 0
        self.records_read = 0
        self._read_file: Any = None
        self._read_file_segment = -1
        self._closed = False

    # -- writer side ---------------------------------------------------------------------------
    def append(self, record: Any) -> None:
        size, changes = _measure(record)
        with self._cond:
            keep = self._in_memory + size <= self.memory_bytes
            if keep and self.bytes_on_disk + self._in_memory + size > self.limit_bytes:
                raise self._full()
            if keep:
                self._in_memory += size
                self._changes_in_memory += changes
        if keep:
            self._publish(_InMemory(record, size, changes))
            return
        self._write(record)
        self._publish(None)

    def _write(self, record: Any) -> None:
        # Only the counters are shared with the reader: the file I/O runs outside the lock, so a busy
        # capture and a busy applier do not wait for each other.
        data = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        size = _HEADER.size + len(data)
        with self._cond:
            if self.bytes_on_disk + self._in_memory + size > self.limit_bytes:
                raise self._full()
            current = self._segment_sizes[self._write_segment]
        if current and current + size > SEGMENT_BYTES:
            self._rotate()
        self._write_file.write(_HEADER.pack(len(data)))
        self._write_file.write(data)
        self._write_file.flush()
        with self._cond:
            self._segment_sizes[self._write_segment] += size
            self._written += size

    def _full(self) -> SpoolFull:
        used = self.bytes_on_disk + self._in_memory
        return SpoolFull(
            f"The change spool is full ({used / 2**20:.0f} MB of {self.limit_bytes / 2**20:.0f} MB): the target is "
            "not keeping up or is unreachable. Raise the replication instance's allocated storage, or fix the "
            "target, then resume the task.")

    def _publish(self, entry: _InMemory | None) -> None:
        """Make the record visible to the reader (None: it is the next one on disk)."""
        with self._cond:
            if entry is not None:
                self._in_memory_records[self.records_written] = entry
            self.records_written += 1
            self._cond.notify_all()

    def _rotate(self) -> None:
        new_file = self._open_segment(self._write_segment + 1)
        self._write_file.close()
        self._write_file = new_file
        with self._cond:
            self._write_segment += 1
            self._segment_sizes[self._write_segment] = 0

    def _open_segment(self, number: int) -> Any:
        return open(self._path(number), "ab", buffering=1024 * 1024)  # noqa: SIM115 - kept open across calls

    def _path(self, number: int) -> Path:
        return self.directory / f"{number:08d}.spool"

    # -- reader side ---------------------------------------------------------------------------
    def read(self, timeout: float) -> Any | None:
        """The next record, or None if none arrives within `timeout` seconds."""
        with self._cond:
            if not self._has_unread():
                self._cond.wait(timeout)
                if not self._has_unread():
                    return None
            entry = self._in_memory_records.get(self.records_read)
            if entry is None:
                position = self._disk_read
                if position.segment != self._write_segment and \
                        position.offset >= self._segment_sizes[position.segment]:
                    position = SpoolPosition(position.segment + 1, 0)
            self.records_read += 1
        if entry is not None:
            return entry.record
        record, size = self._read_at(position)
        with self._cond:
            self._disk_read = SpoolPosition(position.segment, position.offset + size)
        return record

    def mark(self) -> SpoolPosition:
        """Where the next read() would start on disk; rewind() returns there (records are kept until
        release())."""
        with self._cond:
            return self._disk_read

    def rewind(self, position: SpoolPosition, records_read: int) -> None:
        """Read again from a mark taken after `records_read` records had been read."""
        with self._cond:
            self._disk_read = position
            self.records_read = records_read

    def drain(self) -> Iterator[Any]:
        """Every record currently unread, without waiting."""
        while True:
            record = self.read(0)
            if record is None:
                return
            yield record

    def _has_unread(self) -> bool:
        return self.records_read < self.records_written

    def _read_at(self, position: SpoolPosition) -> tuple[Any, int]:
        if self._read_file_segment != position.segment:
            if self._read_file is not None:
                self._read_file.close()
            self._read_file = open(self._path(position.segment), "rb")  # noqa: SIM115
            self._read_file_segment = position.segment
        self._read_file.seek(position.offset)
        (length,) = _HEADER.unpack(self._read_file.read(_HEADER.size))
        return pickle.loads(self._read_file.read(length)), _HEADER.size + length

    def release(self) -> None:
        """Called after the applier committed everything read so far: forget those records and delete
        the segment files that hold nothing unread."""
        with self._cond:
            first_kept = self.records_read
            for number in [n for n in self._in_memory_records if n < first_kept]:
                entry = self._in_memory_records.pop(number)
                self._in_memory -= entry.size
                self._changes_in_memory -= entry.changes
            current = self._disk_read.segment
            for number in [n for n in self._segment_sizes if n < current]:
                self._released += self._segment_sizes.pop(number)
                if self._read_file_segment == number and self._read_file is not None:
                    self._read_file.close()
                    self._read_file, self._read_file_segment = None, -1
                try:
                    os.unlink(self._path(number))
                except FileNotFoundError:
                    pass

    # -- state ---------------------------------------------------------------------------------
    @property
    def bytes_on_disk(self) -> int:
        return self._written - self._released

    @property
    def changes_in_memory(self) -> int:
        """Changes held in memory, not yet committed to the target (DMS's CDCChangesMemoryTarget)."""
        return self._changes_in_memory

    @property
    def backlog(self) -> int:
        """Records written but not yet read."""
        return self.records_written - self.records_read

    def close(self, *, delete: bool = True) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._write_file.close()
            if self._read_file is not None:
                self._read_file.close()
        if delete:
            shutil.rmtree(self.directory, ignore_errors=True)
