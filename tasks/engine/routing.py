"""From a captured row change to a change of the target table, per the table's plan."""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import StrEnum

from endpoints.engines.base import UNCHANGED, Op, RowChange, TableSyncState, TargetChange
from endpoints.engines.plan import TablePlan

from .reporting import TableKey
from .shaping import RowShaper


class RouteStatus(StrEnum):
    PENDING = "pending"  # not loaded yet: changes are cached
    LOADING = "loading"  # being loaded: changes are cached
    REPLICATING = "replicating"  # loaded and caught up: changes are applied
    SUSPENDED = "suspended"  # Table error: changes are dropped and counted


class Route:
    """One replicated table: its plan, how to shape its changes, and how far it has got."""

    def __init__(self, plan: TablePlan, status: RouteStatus = RouteStatus.PENDING):
        self.key = TableKey(plan.source_schema, plan.source_table)
        self.use_plan(plan)
        self.status = status
        self.sync = TableSyncState(state="pending")
        self.idempotent = False  # cached changes of a table loaded without an exact snapshot position
        self.suspended_changes = 0

    def use_plan(self, plan: TablePlan) -> None:
        """Shape changes by this plan from now on (after a source DDL changed the table)."""
        self.plan = plan
        self.shaper = RowShaper(plan)
        names = [c.name for c in plan.columns]
        self.key_indexes = tuple(names.index(k) for k in plan.key) if plan.key else tuple(range(len(names)))
        self._pick_key = self.shaper.picker(self.key_indexes)
        self._single_key = self.key_indexes[0] if len(self.key_indexes) == 1 else None
        self._layouts: dict[tuple[str, ...], tuple[int, ...] | None] = {}
        # The stream repeats one column list for change after change: compared by identity before hashing.
        self._last_columns: tuple[str, ...] | None = None
        self._last_reorder = _same

    def converter(self, columns: tuple[str, ...]) -> Callable[[RowChange], TargetChange]:
        """to_target for the changes of one relation (its column list), for a loop over many of them:
        the common update (the plan's columns as they come, one key column, no transformation) skips
        every test to_target makes per change. Fetch it again after use_plan()."""
        if self._layout(columns) is not _same or self._single_key is None or not self.shaper.identity:
            return self.to_target
        return functools.partial(_plain_update, self._single_key, self.to_target)

    def to_target(self, change: RowChange) -> TargetChange:
        columns = change.relation.columns
        if columns is self._last_columns:
            reorder = self._last_reorder
        else:
            reorder = self._last_reorder = self._layout(columns)
            self._last_columns = columns
        op = change.op
        if reorder is _same and self._single_key is not None and op is Op.UPDATE and self.shaper.identity:
            # The common case, kept short: same columns as the plan, no transformations, one key column.
            return _plain_update(self._single_key, self._unsent_key, change)
        if op is Op.INSERT:
            return TargetChange(Op.INSERT, row=self.shaper.shape(reorder(change.after)))
        if op is Op.UPDATE:
            after = reorder(change.after)
            before = reorder(change.before) if change.before is not None else after
            return TargetChange(Op.UPDATE, key=self._key(before), row=self.shaper.shape(after))
        if op is Op.DELETE:
            return TargetChange(Op.DELETE, key=self._key(reorder(change.before)))
        if op is Op.DDL:
            return TargetChange(Op.DDL, row=(change,))  # the applier's DDL handler needs the source change
        return TargetChange(op)

    def _layout(self, columns: tuple[str, ...]):
        """How to turn a change's values (in the stream's column order) into the plan's read order.
        Worked out once per column list: the stream repeats the same one for every change."""
        try:
            order = self._layouts[columns]
        except KeyError:
            read = self.shaper.read_columns
            position = {name: i for i, name in enumerate(columns)}
            order = tuple(position.get(name, -1) for name in read)
            if order == tuple(range(len(columns))):
                order = None  # same columns, same order: use the values as they come
            self._layouts[columns] = order
        if order is None:
            return _same
        return lambda values: tuple(values[i] if i >= 0 else None for i in order)

    def _unsent_key(self, change: RowChange) -> TargetChange:
        """_plain_update's way out for an update whose key value the source did not send."""
        raise ValueError(f"table {self.key}: the source sent no value for a key column")

    def _key(self, values: tuple) -> tuple:
        key = self._pick_key(values)
        if UNCHANGED in key:
            raise ValueError(f"table {self.key}: the source sent no value for a key column")
        return key


def _same(values: tuple) -> tuple:
    return values


def _plain_update(key: int, general: Callable[[RowChange], TargetChange], change: RowChange) -> TargetChange:
    """The common update of a relation whose columns are the plan's (one key column, no transformation):
    to_target's shortcut, and what Route.converter gives the take loops. Anything else, and an update
    without its key value, goes to `general`."""
    if change.op is Op.UPDATE:
        after = change.after
        before = change.before
        value = (after if before is None else before)[key]
        if value is not UNCHANGED:
            return TargetChange(Op.UPDATE, (value,), tuple(after))
    return general(change)
