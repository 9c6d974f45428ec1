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

from .apply_writer import Item
from .reporting import TableKey
from .routing import Route


class _CannotNet(Exception):
    """This window of this table must be applied as it came."""


@dataclass(slots=True)
class _Row:
    """A row alive at the end of the window so far, under its current key."""

    inserted: bool  # the window created it (else it existed before, at `origin`)
    row: tuple  # its values; UNCHANGED where no image of the window said
    origin: tuple | None  # key it had before the window (rows that existed before)
    position: str  # the last change folded into it


def net(items: Sequence[Item]) -> list[Item]:
    """The window's changes netted per table and key (see the module docstring)."""
    tables: dict[TableKey, list[Item]] = {}
    routes: dict[TableKey, Route] = {}
    for item in items:
        tables.setdefault(item.route.key, []).append(item)
        routes[item.route.key] = item.route
    out: list[Item] = []
    for key, table_items in tables.items():
        route = routes[key]
        if not route.plan.key:
            out.extend(table_items)
            continue
        segment: list[Item] = []
        for item in table_items:
            if item.change.op in (Op.TRUNCATE, Op.DDL):
                out.extend(_net_segment(route, segment))
                out.append(item)
                segment = []
            else:
                segment.append(item)
        out.extend(_net_segment(route, segment))
    return out


def _net_segment(route: Route, items: list[Item]) -> list[Item]:
    if len(items) < 2:
        return list(items)
    try:
        return _netted(route, items)
    except (_CannotNet, TypeError):  # TypeError: a key value that cannot be hashed
        return list(items)


def _netted(route: Route, items: list[Item]) -> list[Item]:
    positions = route.key_indexes
    live: dict[tuple, _Row] = {}
    deletes: dict[tuple, str] = {}  # key of a row the window started with and removed -> position
    gone: set[tuple] = set()  # keys whose row the window removed (deleted or moved away)
    for item in items:
        change = item.change
        if change.op is Op.INSERT:
            key = tuple(change.row[p] for p in positions)
            if key in live:
                raise _CannotNet  # a second row with one key
            live[key] = _Row(True, change.row, None, item.position)
            gone.discard(key)
        elif change.op is Op.UPDATE:
            _update(live, deletes, gone, change, item.position, positions)
        elif change.op is Op.DELETE:
            key = change.key
            found = live.pop(key, None)
            if found is None:
                if key in gone:
                    raise _CannotNet  # the row is already gone: let the apply report it
                deletes[key] = item.position
            elif not found.inserted:
                deletes[found.origin] = item.position
            gone.add(key)
        else:
            raise _CannotNet
    out = [Item(route, TargetChange(Op.DELETE, key=key), position) for key, position in deletes.items()]
    out += [Item(route, TargetChange(Op.INSERT, row=r.row), r.position) for r in live.values() if r.inserted]
    updates = [Item(route, TargetChange(Op.UPDATE, key=r.origin, row=r.row), r.position)
               for r in live.values() if not r.inserted]
    out += sorted(updates, key=lambda i: tuple(v is UNCHANGED for v in i.change.row))  # stable: one run per mask
    return out


def _update(live: dict[tuple, _Row], deletes: dict[tuple, str], gone: set[tuple], change: TargetChange,
            position: str, positions: Sequence[int]) -> None:
    old = change.key
    found = live.pop(old, None)
    if found is None:
        if old in gone:
            raise _CannotNet  # an update of a row the window removed
        found = _Row(False, (UNCHANGED,) * len(change.row), old, position)
    merged = tuple(p if v is UNCHANGED else v for p, v in zip(found.row, change.row, strict=True))
    new = tuple(old[j] if merged[p] is UNCHANGED else merged[p] for j, p in enumerate(positions))
    if new == old:
        live[old] = _Row(found.inserted, merged, found.origin, position)
        return
    if new in live:
        raise _CannotNet  # moved onto a live key
    if not found.inserted:
        if UNCHANGED in merged:
            raise _CannotNet  # a moved row whose unsent values only the target has
        deletes[found.origin] = position
    gone.add(old)
    gone.discard(new)
    live[new] = _Row(True, merged, None, position)
