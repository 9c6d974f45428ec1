"""From a captured row change to a change of the target table, per the table's plan."""

from __future__ import annotations

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

    def to_target(self, change: RowChange) -> TargetChange:
        names = change.relation.columns
        if change.op is Op.INSERT:
            return TargetChange(Op.INSERT, row=self.shaper.shape_named(dict(zip(names, change.after, strict=True))))
        if change.op is Op.UPDATE:
            after = dict(zip(names, change.after, strict=True))
            before = dict(zip(names, change.before, strict=True)) if change.before is not None else after
            return TargetChange(Op.UPDATE, key=self._key(before), row=self.shaper.shape_named(after))
        if change.op is Op.DELETE:
            return TargetChange(Op.DELETE, key=self._key(dict(zip(names, change.before, strict=True))))
        if change.op is Op.DDL:
            return TargetChange(Op.DDL, row=(change,))  # the applier's DDL handler needs the source change
        return TargetChange(change.op)

    def _key(self, values: dict) -> tuple:
        key = self.shaper.pick_named(values, self.key_indexes)
        if any(v is UNCHANGED for v in key):
            raise ValueError(f"table {self.key}: the source sent no value for a key column")
        return key
