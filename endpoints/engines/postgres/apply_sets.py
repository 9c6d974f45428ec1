"""Set-based apply: runs cut into chunks one statement can apply, and the TEMP staging tables.

One UPDATE ... FROM staging sees the table as it was when the statement started, so it
cannot apply two changes of one row, nor a change of a row another change of the chunk
creates (a key moved to where the next change looks for it). `update_chunks` therefore
cuts a run where that would happen; the same row updated twice without a key change
keeps only its last image (a run shares one UNCHANGED mask, so the last update sets the
same columns, with the later values) and remembers how many changes it stands for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg._copy_base import format_row_text  # psycopg's own COPY row formatter (C); pinned in requirements
from psycopg.adapt import Transformer

from ..base import UNCHANGED, TargetChange
from ..plan import TablePlan
from . import apply_sql


@dataclass
class Chunk:
    changes: list[TargetChange] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)  # changes each entry stands for (>1: merged duplicates)
    moves_key: bool = False  # some change sets a new key

    @property
    def merged(self) -> bool:
        return len(self.counts) != sum(self.counts)

    def in_place(self, mask: Sequence[bool], key_positions: Sequence[int]) -> bool:
        """Every change finds its row by the key its new image carries (sent, and not moved): only the
        new rows need staging."""
        return not self.moves_key and not self.merged and not any(mask[p] for p in key_positions)


def new_key(change: TargetChange, positions: Sequence[int]) -> tuple:
    """The key of the row after the change (a key column the source did not send keeps its value)."""
    old = change.key
    return tuple(old[j] if change.row[p] is UNCHANGED else change.row[p] for j, p in enumerate(positions))


def update_chunks(changes: Sequence[TargetChange], key_positions: Sequence[int]) -> list[Chunk]:
    """Cut a run of keyed updates into chunks that one set statement applies exactly as the run would be
    applied change by change."""
    chunks: list[Chunk] = []
    current = Chunk()
    plain: dict[tuple, int] = {}  # key -> entry of an update that keeps its key
    touched: set[tuple] = set()  # every old and new key of the chunk
    single = key_positions[0] if len(key_positions) == 1 else None
    for change in changes:
        old = change.key
        new = (change.row[single],) if single is not None else tuple(change.row[p] for p in key_positions)
        if UNCHANGED in new:
            new = new_key(change, key_positions)
        if old == new:
            entry = plain.get(old)
            if entry is not None:
                current.changes[entry] = change
                current.counts[entry] += 1
                continue
            if old in touched:
                chunks.append(current)
                current, plain, touched = Chunk(), {}, set()
            plain[old] = len(current.changes)
            touched.add(old)
        else:
            if old in touched or new in touched:
                chunks.append(current)
                current, plain, touched = Chunk(), {}, set()
            touched.add(old)
            touched.add(new)
            current.moves_key = True
        current.changes.append(change)
        current.counts.append(1)
    if current.changes:
        chunks.append(current)
    return chunks


def keyless_update_chunks(changes: Sequence[TargetChange]) -> list[Chunk]:
    """Keyless updates: changes with the same old values update different rows (numbered), but a change
    looking for values an earlier change of the chunk produces goes to the next chunk."""
    chunks: list[Chunk] = []
    current = Chunk()
    produced: set[tuple] = set()
    for change in changes:
        old = change.key
        if old in produced:
            chunks.append(current)
            current, produced = Chunk(), set()
        produced.add(tuple(o if v is UNCHANGED else v for o, v in zip(old, change.row, strict=True)))
        current.changes.append(change)
        current.counts.append(1)
    if current.changes:
        chunks.append(current)
    return chunks


def last_per_key(rows: Sequence[tuple], key_positions: Sequence[int]) -> list[tuple]:
    """Rows with distinct keys, the last one winning (one INSERT ... ON CONFLICT may not touch a row twice)."""
    latest: dict[tuple, tuple] = {}
    for row in rows:
        key = tuple(row[p] for p in key_positions)
        latest.pop(key, None)  # re-insert so the order stays that of the last occurrence
        latest[key] = row
    return list(latest.values())


def blank_unchanged(values: Iterable[Any]) -> list[Any]:
    return [None if v is UNCHANGED else v for v in values]


def staged_updates(chunk: Chunk, masked: bool, in_place: bool) -> Iterator[Sequence[Any]]:
    """A chunk's rows for its staging table (a masked run's UNCHANGED values blanked: the statement
    does not set those columns): the new values for a chunk applied in place, else number, old key,
    new values."""
    if in_place:
        return (blank_unchanged(c.row) for c in chunk.changes) if masked else (c.row for c in chunk.changes)
    return ((n, *c.key, *(blank_unchanged(c.row) if masked else c.row)) for n, c in enumerate(chunk.changes))


@dataclass
class RenderedChunk:
    chunk: Chunk
    copy_data: bytes  # the staging rows as COPY text


@dataclass
class PreparedUpdate:
    """A run of keyed updates cut into chunks, each already rendered for COPY into staging."""

    mask: tuple[bool, ...]
    chunks: list[RenderedChunk]


class CopyRenderer:
    """Rows as COPY text, made away from the connection's thread: psycopg's own row formatter, with
    a transformer of its own built from the connection's adapters (which it only reads)."""

    def __init__(self, conn: psycopg.Connection):
        self.transformer = Transformer(conn)

    def render(self, rows: Iterable[Sequence[Any]]) -> bytes:
        out = bytearray()
        transformer = self.transformer
        for row in rows:
            format_row_text(row, transformer, out)
        return bytes(out)


class Staging:
    """The session's TEMP staging tables, one per table shape and kind, created on first use.

    Tables are ON COMMIT DELETE ROWS, so they start every transaction empty; one used earlier in
    the same transaction is truncated before it is filled again. A table created in a transaction
    (or after a savepoint) that is rolled back no longer exists, and is forgotten here too."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self.tables: dict[tuple, str] = {}
        self.created_in_transaction: set[str] = set()
        self.created_since_savepoint: set[str] = set()
        self.used: set[str] = set()  # may hold rows of this transaction
        self.counter = 0

    def fill(self, plan: TablePlan, shape: tuple, kind: str, rows: Iterable[Sequence[Any]] | None = None,
             copy_data: bytes | None = None, columns: Sequence[str] | None = None) -> str:
        """Create (when needed) and fill the staging table of `kind` for the plan, from rows or from
        their COPY text (of `columns`, else of all the table's columns); returns its name."""
        name = self.tables.get((shape, kind))
        with self.conn.cursor() as cur:
            if name is None:
                self.counter += 1
                name = f"awsdms_apply_{self.counter}"
                cur.execute(apply_sql.create_staging(plan, kind, name))
                self.tables[(shape, kind)] = name
                self.created_in_transaction.add(name)
                self.created_since_savepoint.add(name)
            elif name in self.used:
                cur.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(name)))
            self.used.add(name)
            with cur.copy(apply_sql.copy_into(name, columns)) as copy:
                if copy_data is not None:
                    copy.write(copy_data)
                else:
                    for row in rows:
                        copy.write_row(row)
        return name

    def committed(self) -> None:
        self.created_in_transaction.clear()
        self.created_since_savepoint.clear()
        self.used.clear()

    def rolled_back(self) -> None:
        self._forget(self.created_in_transaction)
        self.created_in_transaction.clear()
        self.created_since_savepoint.clear()
        self.used.clear()

    def savepoint(self) -> None:
        self.created_since_savepoint.clear()

    def rolled_back_to_savepoint(self) -> None:
        # Rows written before the savepoint may still be there: `used` stays as it is.
        self._forget(self.created_since_savepoint)
        self.created_in_transaction -= self.created_since_savepoint
        self.created_since_savepoint.clear()

    def _forget(self, names: set[str]) -> None:
        if not names:
            return
        self.tables = {k: v for k, v in self.tables.items() if v not in names}
        self.used -= names
