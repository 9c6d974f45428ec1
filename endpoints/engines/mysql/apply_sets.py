"""Cutting runs for set-based apply: which updates one joined UPDATE may apply, and statement batches.

MySQL applies a multi-table UPDATE row by row and checks unique keys at every row, so a
joined UPDATE that moves keys can fail on a key another change of the same statement frees
later (1 -> 2 while 2 -> 3 is still to come), or meet a row it already moved. Only updates
that keep their key go into a staged chunk; an update that moves its key ends the chunk
and is applied alone, in its place in the run. Within a chunk, the same row updated twice
keeps only its last image (a run shares one UNCHANGED mask, so the later update sets the
same columns with the later values), and the entry remembers how many changes it stands for.

Keys are told apart as Python values. A key column whose collation folds case or trailing
spaces (not one this engine creates: text keys get a binary no-pad collation) could make
two entries one row, updated once with either image, and the count of rows found then
comes out low (the apply loop treats it as a missing row).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from ..base import UNCHANGED, TargetChange


@dataclass
class Chunk:
    """Updates of distinct rows that keep their keys: one staged UPDATE applies them."""

    changes: list[TargetChange] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)  # changes each entry stands for (>1: merged duplicates)

    @property
    def merged(self) -> bool:
        return any(w != 1 for w in self.weights)


def new_key(change: TargetChange, positions: Sequence[int]) -> tuple:
    """The key of the row after the change (a key column the source did not send keeps its value)."""
    return tuple(old if change.row[p] is UNCHANGED else change.row[p]
                 for old, p in zip(change.key, positions, strict=True))


def update_steps(changes: Sequence[TargetChange], key_positions: Sequence[int]) -> Iterator[Chunk | TargetChange]:
    """The run as staged chunks and single key-moving changes, in an order that gives exactly what
    applying the run change by change gives."""
    current = Chunk()
    entries: dict[tuple, int] = {}  # key -> entry in the current chunk
    for change in changes:
        old = change.key
        if new_key(change, key_positions) != old:
            if current.changes:
                yield current
                current, entries = Chunk(), {}
            yield change
            continue
        entry = entries.get(old)
        if entry is not None:
            current.changes[entry] = change
            current.weights[entry] += 1
            continue
        entries[old] = len(current.changes)
        current.changes.append(change)
        current.weights.append(1)
    if current.changes:
        yield current


def staged_row(change: TargetChange, n: int, weight: int, key_positions: Sequence[int]) -> tuple:
    """(n, w, c0..): the row's values with the old key in the key columns (the same as the new key in a
    chunk) and NULL for values the source did not send (never read: the UPDATE does not set them)."""
    values = [None if v is UNCHANGED else v for v in change.row]
    for old, p in zip(change.key, key_positions, strict=True):
        values[p] = old
    return (n, weight, *values)


def counted_keys(keys: Iterable[tuple]) -> dict[tuple, int]:
    """Distinct keys with how often each occurs, in first-seen order. Deletes of one run commute, so
    k deletes of equal rows of a keyless table are one DELETE ... LIMIT k."""
    counts: dict[tuple, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return counts


def batches(literals: Iterable[str], max_bytes: int, max_items: int) -> Iterator[list[str]]:
    """Escaped literals grouped so one statement stays under max_bytes (and max_items)."""
    batch: list[str] = []
    size = 0
    for text in literals:
        if batch and (size + len(text) + 1 > max_bytes or len(batch) >= max_items):
            yield batch
            batch, size = [], 0
        batch.append(text)
        size += len(text) + 1
    if batch:
        yield batch
