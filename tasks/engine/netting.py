"""Batch apply (DMS BatchApplyEnabled): the changes of a window netted per table and key.

Within a window, every row's changes collapse to what the target needs at the end:

    insert, then updates          -> one insert of the merged row
    delete (then anything ending
      in a delete)                -> one delete of the row the window started with
    delete, then insert (+updates)-> delete of the old row, insert of the new one (an upsert)
    updates                       -> one update: later values win, a value the source did not send
                                     (UNCHANGED) is taken from an earlier image of the window;
                                     still UNCHANGED, the target's value is kept
    update moving the key         -> delete of the old key, insert at the new one, when the new
                                     image is complete
    insert, then delete           -> nothing

and comes out per table as runs: deletes, then inserts, then updates (grouped by UNCHANGED
mask, so each mask is one run). Tables come in the order they first appear; a TRUNCATE or a
DDL splits its table's window in two, each side netted on its own.

Some windows cannot be netted exactly, and are passed through as they came, in source order:
tables without a key (a "key" of every column cannot tell two equal rows apart; DMS only
batches their inserts, which the run cutter still does), a key moved by an update whose image
is incomplete (the moved row's unsent values are only on the target), and sequences the source
could not have produced (an insert of a key that exists, a change of a row that is gone) - so
the apply loop reports them exactly as it would without batching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from endpoints.engines.base import UNCHANGED, Op, TargetChange

from .apply_writer import Item, Run, runs
from .routing import Route


class _CannotNet(Exception):
    """This window of this table must be applied as it came."""


class _Split(Exception):
    """A TRUNCATE or a DDL cuts this table's changes in two: each side is netted on its own."""


@dataclass(slots=True)
class _Row:
    """A row alive at the end of the window so far, under its current key."""

    inserted: bool  # the window created it (else it existed before, at `origin`)
    row: tuple  # its values; UNCHANGED where no image of the window said
    origin: tuple | None  # key it had before the window (rows that existed before)
    item: Item  # the last change folded into it; given out as is when it alone makes the row


def net(items: Sequence[Item]) -> list[Item]:
    """The window's changes netted per table and key (see the module docstring), as items."""
    return [Item(run.route, change) for run in net_runs(items) for change in run.changes]


def net_runs(items: Sequence[Item]) -> list[Run]:
    """The window's changes netted per table and key, cut into the runs the writer applies. A netted
    run of updates is marked `distinct`: no two of its changes touch one row, and none moves its key."""
    tables: dict[int, tuple[Route, list[Item]]] = {}  # by route identity: one Route object per table
    last: Route | None = None
    bucket: list[Item] = []
    for item in items:
        if item.route is not last:
            last = item.route
            bucket = tables.setdefault(id(last), (last, []))[1]
        bucket.append(item)
    out: list[Run] = []
    for route, table_items in tables.values():
        if not route.plan.key:
            out.extend(runs(table_items))
            continue
        try:
            out.extend(_net_segment(route, table_items))
        except _Split:
            out.extend(_net_split(route, table_items))
    return out


def _net_split(route: Route, items: list[Item]) -> list[Run]:
    """A TRUNCATE or a DDL among a table's changes: the changes on each side of it netted on their own."""
    out: list[Run] = []
    start = 0
    for n, item in enumerate(items):
        op = item.change.op
        if op is Op.TRUNCATE or op is Op.DDL:
            out.extend(_net_segment(route, items[start:n]))
            out.extend(runs([item]))
            start = n + 1
    out.extend(_net_segment(route, items[start:]))
    return out


def _net_segment(route: Route, items: list[Item]) -> list[Run]:
    """The items netted, or as they came when they cannot be. Raises _Split when a TRUNCATE or a DDL is
    among them (_netted meets it on its way: the common window costs one pass, not two)."""
    if len(items) >= 2:
        try:
            return _netted(route, items)
        except (_CannotNet, TypeError):  # TypeError: a key value that cannot be hashed
            if any(item.change.op is Op.TRUNCATE or item.change.op is Op.DDL for item in items):
                raise _Split from None
    return list(runs(items))


def _netted(route: Route, items: list[Item]) -> list[Run]:
    positions = route.key_indexes
    single = positions[0] if len(positions) == 1 else None
    # A row's first update that keeps its key is held as its Item (most rows of a window are just that:
    # no _Row to make); anything more becomes a _Row.
    live: dict[tuple, _Row | Item] = {}
    deletes: dict[tuple, Item] = {}  # key of a row the window started with and removed -> last change
    gone: set[tuple] = set()  # keys whose row the window removed (deleted or moved away)
    for item in items:
        change = item.change
        op = change.op
        if op is Op.UPDATE:
            old = change.key
            if single is not None and old not in live and old not in gone:
                new = change.row[single]
                if new is UNCHANGED or (new,) == old:  # the common case: a row's first update, key kept
                    live[old] = item
                    continue
            _update(live, deletes, gone, item, positions, single)
        elif op is Op.INSERT:
            row = change.row
            key = (row[single],) if single is not None else tuple(row[p] for p in positions)
            if key in live:
                raise _CannotNet  # a second row with one key
            live[key] = _Row(True, row, None, item)
            gone.discard(key)
        elif op is Op.DELETE:
            key = change.key
            found = _as_row(live.pop(key, None))
            if found is None:
                if key in gone:
                    raise _CannotNet  # the row is already gone: let the apply report it
                deletes[key] = item
            elif not found.inserted:
                deletes[found.origin] = item
            gone.add(key)
        elif op is Op.TRUNCATE or op is Op.DDL:
            raise _Split
        else:
            raise _CannotNet
    return _runs_of(route, deletes, live)


def _runs_of(route: Route, deletes: dict[tuple, Item], live: dict[tuple, _Row | Item]) -> list[Run]:
    """Deletes, then inserts, then updates: one run per UNCHANGED mask, the complete ones first."""
    removed = [item.change if item.change.op is Op.DELETE and item.change.key == key
               else TargetChange(Op.DELETE, key=key) for key, item in deletes.items()]
    inserts: list[TargetChange] = []
    complete: list[TargetChange] = []
    masked: dict[tuple, list[TargetChange]] = {}
    for r in live.values():
        if type(r) is Item:
            change = r.change
        elif r.inserted:
            change = r.item.change
            inserts.append(change if change.row is r.row and change.op is Op.INSERT
                           else TargetChange(Op.INSERT, row=r.row))
            continue
        else:
            change = r.item.change
            if change.row is not r.row or change.key != r.origin:
                change = TargetChange(Op.UPDATE, key=r.origin, row=r.row)
        row = change.row
        if UNCHANGED in row:
            masked.setdefault(tuple(v is UNCHANGED for v in row), []).append(change)
        else:
            complete.append(change)
    out = [Run(route, Op.DELETE, removed)] if removed else []
    if inserts:
        out.append(Run(route, Op.INSERT, inserts))
    if complete:
        out.append(Run(route, Op.UPDATE, complete, distinct=True))
    out.extend(Run(route, Op.UPDATE, masked[mask], distinct=True) for mask in sorted(masked))
    return out


def _as_row(found: _Row | Item | None) -> _Row | None:
    """A live entry as a _Row (a row's first update is held as its Item)."""
    if type(found) is Item:
        return _Row(False, found.change.row, found.change.key, found)
    return found


def _update(live: dict[tuple, _Row | Item], deletes: dict[tuple, Item], gone: set[tuple], item: Item,
            positions: Sequence[int], single: int | None) -> None:
    change = item.change
    old, row = change.key, change.row
    found = _as_row(live.pop(old, None))
    if found is None:
        if old in gone:
            raise _CannotNet  # an update of a row the window removed
        inserted, origin, merged = False, old, row
    else:
        inserted, origin = found.inserted, found.origin
        merged = tuple(p if v is UNCHANGED else v for p, v in zip(found.row, row, strict=True)) \
            if UNCHANGED in row else row
    new = (merged[single],) if single is not None else tuple(merged[p] for p in positions)
    if UNCHANGED in new:  # a key value not sent: the key did not change
        new = tuple(old[j] if merged[p] is UNCHANGED else merged[p] for j, p in enumerate(positions))
    if new == old:
        live[old] = _Row(inserted, merged, origin, item)
        return
    if new in live:
        raise _CannotNet  # moved onto a live key
    if not inserted:
        if UNCHANGED in merged:
            raise _CannotNet  # a moved row whose unsent values only the target has
        deletes[origin] = item
    gone.add(old)
    gone.discard(new)
    live[new] = _Row(True, merged, None, item)
