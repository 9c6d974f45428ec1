"""Writing a group of changes to the target inside one target transaction, with DMS's error policies.

Changes are cut into runs (consecutive changes of one kind on one table) and each
run goes to the target in one bulk call. That is the fast path. When the target
refuses something, the group is replayed in careful mode: each run under a
savepoint and, if the run fails, each change alone, so the failing change is
found and handled as ErrorBehavior says (ignore, log to awsdms_apply_exceptions,
suspend the table, stop the task, or upsert/insert instead). No failed change is
ever dropped without a log line and a count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from endpoints.engines.base import UNCHANGED, Applier, Op, RowChange, TargetChange
from endpoints.engines.errors import EngineError, ErrorKind

from .reporting import Component, Reporter, Severity, TableCounts, TableKey, TableState
from .routing import Route, RouteStatus


class Policy(StrEnum):
    IGNORE_RECORD = "IGNORE_RECORD"
    LOG_ERROR = "LOG_ERROR"
    SUSPEND_TABLE = "SUSPEND_TABLE"
    STOP_TASK = "STOP_TASK"
    INSERT_RECORD = "INSERT_RECORD"
    UPDATE_RECORD = "UPDATE_RECORD"


@dataclass(frozen=True)
class ErrorPolicies:
    """ErrorBehavior's apply-related settings, with DMS's defaults."""

    insert: Policy = Policy.LOG_ERROR  # ApplyErrorInsertPolicy: the row already exists
    update: Policy = Policy.LOG_ERROR  # ApplyErrorUpdatePolicy: no row to update
    delete: Policy = Policy.IGNORE_RECORD  # ApplyErrorDeletePolicy: no row to delete
    data: Policy = Policy.LOG_ERROR  # DataErrorPolicy: a value the target refused
    escalation: Policy = Policy.LOG_ERROR  # ApplyErrorEscalationPolicy
    escalation_count: int = 0  # ApplyErrorEscalationCount (0: never escalate)


class StopTask(Exception):
    """An error policy says STOP_TASK."""


class RetryCarefully(Exception):
    """The fast path hit an error: roll back and replay the group in careful mode."""


@dataclass(slots=True)
class Item:
    route: Route
    change: TargetChange


@dataclass
class Run:
    route: Route
    op: Op
    changes: list[TargetChange] = field(default_factory=list)
    prepared: object | None = None  # the applier's prepare_update() of the changes (fast path only)
    distinct: bool = False  # no two changes touch one row and none moves its key (netted updates)


def runs(items: list[Item]) -> Iterator[Run]:
    current: Run | None = None
    mask: tuple | None = None
    route = op = None
    append = None
    for item in items:
        change = item.change
        change_op = change.op
        if change_op is Op.UPDATE:
            row = change.row
            change_mask = () if UNCHANGED not in row else tuple(v is UNCHANGED for v in row)
        else:
            change_mask = None
        if item.route is not route or change_op is not op or change_mask != mask \
                or change_op is Op.TRUNCATE or change_op is Op.DDL:
            if current is not None:
                yield current
            current = Run(item.route, change_op)
            route, op, mask, append = item.route, change_op, change_mask, current.changes.append
        append(change)
    if current is not None:
        yield current


class GroupWriter:
    def __init__(self, applier: Applier, policies: ErrorPolicies, task_id: str, reporter: Reporter,
                 on_ddl: Callable[[Route, RowChange], None] | None = None):
        self.applier = applier
        self.on_ddl = on_ddl
        self.policies = policies
        self.task_id = task_id
        self.reporter = reporter
        self.counts: dict[TableKey, TableCounts] = {}
        self.errors = 0

    def prepare(self, prepared: list[Run]) -> list[Run]:
        """The runs with the connection-free part of their updates done: called on the apply loop's
        thread, so the writer thread spends its time waiting on the target, not on Python."""
        for run in prepared:
            if run.op is Op.UPDATE and run.route.status is not RouteStatus.SUSPENDED:
                run.prepared = self.applier.prepare_update(run.route.plan, run.changes, distinct=run.distinct)
        return prepared

    def write(self, items: list[Item], *, careful: bool) -> None:
        self.write_runs(runs(items), careful=careful)

    def write_runs(self, prepared: Iterable[Run], *, careful: bool) -> None:
        for run in prepared:
            if run.route.status is RouteStatus.SUSPENDED:
                run.route.suspended_changes += len(run.changes)
                continue
            if careful:
                self._careful(run)
            else:
                self._fast(run)

    # -- fast path -----------------------------------------------------------------------------
    def _fast(self, run: Run) -> None:
        try:
            missing = self._bulk(run)
        except EngineError as exc:
            if exc.kind in (ErrorKind.DATA, ErrorKind.DUPLICATE):
                raise RetryCarefully(str(exc)) from exc
            raise
        if missing and self._policy_for_missing(run) is not Policy.IGNORE_RECORD:
            if run.op is Op.UPDATE:
                self._one_by_one(run)  # updates are idempotent: redoing them finds the missing rows
            else:
                raise RetryCarefully(f"{missing} row(s) to delete were not found in {_name(run.route)}")
        else:
            self._count(run.route, run.op, len(run.changes) - missing)

    def _bulk(self, run: Run) -> int:
        """Apply a run in one call; returns how many changes found no row."""
        plan, changes = run.route.plan, run.changes
        if run.op is Op.INSERT:
            self.applier.insert(plan, [c.row for c in changes], upsert=run.route.idempotent)
            return 0
        if run.op is Op.UPDATE:
            if run.prepared is not None:
                return len(changes) - self.applier.update_prepared(plan, changes, run.prepared)
            return len(changes) - self.applier.update(plan, changes)
        if run.op is Op.DELETE:
            return len(changes) - self.applier.delete(plan, [c.key for c in changes])
        if run.op is Op.TRUNCATE:
            self.applier.truncate(plan)
            self.reporter.log(Component.TARGET_APPLY, Severity.INFO, f"Table {_name(run.route)} truncated")
            return 0
        if run.op is Op.DDL and self.on_ddl is not None:
            for change in changes:
                self.on_ddl(run.route, change.row[0])
            return 0
        raise ValueError(f"cannot apply {run.op}")

    def _policy_for_missing(self, run: Run) -> Policy:
        if run.route.idempotent:
            return Policy.IGNORE_RECORD  # FullLoadIgnoreConflicts: the load may already hold the change
        return self.policies.update if run.op is Op.UPDATE else self.policies.delete

    # -- careful path --------------------------------------------------------------------------
    def _careful(self, run: Run) -> None:
        if run.op in (Op.UPDATE, Op.DELETE) and self._policy_for_missing(run) is not Policy.IGNORE_RECORD:
            self._one_by_one(run)
            return
        self.applier.savepoint()
        try:
            missing = self._bulk(run)
        except EngineError as exc:
            if exc.kind not in (ErrorKind.DATA, ErrorKind.DUPLICATE):
                raise
            self.applier.rollback_to_savepoint()
            self._one_by_one(run)
            return
        self._count(run.route, run.op, len(run.changes) - missing)

    def _one_by_one(self, run: Run) -> None:
        for change in run.changes:
            if run.route.status is RouteStatus.SUSPENDED:
                run.route.suspended_changes += 1
                continue
            single = Run(run.route, run.op, [change])
            self.applier.savepoint()
            try:
                missing = self._bulk(single)
            except EngineError as exc:
                if exc.kind not in (ErrorKind.DATA, ErrorKind.DUPLICATE):
                    raise
                self.applier.rollback_to_savepoint()
                self._refused(single, change, exc)
                continue
            if missing:
                self._missing(single, change)
            else:
                self._count(run.route, run.op, 1)

    # -- policies ------------------------------------------------------------------------------
    def _refused(self, run: Run, change: TargetChange, exc: EngineError) -> None:
        route = run.route
        if exc.kind is ErrorKind.DUPLICATE and run.op is Op.INSERT:
            policy = self.policies.insert
            if policy is Policy.INSERT_RECORD:
                self.applier.insert(route.plan, [change.row], upsert=True)
                self._count(route, Op.INSERT, 1)
                return
        else:
            policy = self.policies.data
        self._handle(route, policy, change, f"{exc}")

    def _missing(self, run: Run, change: TargetChange) -> None:
        route = run.route
        policy = self._policy_for_missing(run)
        if run.op is Op.UPDATE and policy is Policy.UPDATE_RECORD:
            if not any(v is UNCHANGED for v in change.row):
                self.applier.insert(route.plan, [change.row], upsert=True)
                self._count(route, Op.UPDATE, 1)
                return
            policy = Policy.LOG_ERROR  # cannot insert a row whose unchanged values we never received
        what = "update" if run.op is Op.UPDATE else "delete"
        self._handle(route, policy, change, f"0 rows affected: no row to {what} with key {change.key!r}")

    def _handle(self, route: Route, policy: Policy, change: TargetChange, error: str) -> None:
        self.errors += 1
        if self.policies.escalation_count and self.errors >= self.policies.escalation_count:
            policy = max(policy, self.policies.escalation, key=_severity)
        statement = describe(route, change)
        if policy is Policy.IGNORE_RECORD:
            return
        self.reporter.log(Component.TARGET_APPLY, Severity.WARNING if policy is Policy.LOG_ERROR else Severity.ERROR,
                          f"Failed to apply a change to {_name(route)}: {error}. Change: {statement}")
        if policy is Policy.STOP_TASK:
            raise StopTask(f"Applying a change to {_name(route)} failed and the error policy is STOP_TASK: {error}")
        self.applier.log_exception(self.task_id, route.plan, statement, error)
        if policy is Policy.SUSPEND_TABLE:
            route.status = RouteStatus.SUSPENDED
            self.reporter.table_state(route.key, TableState.ERROR,
                                      message=f"Suspended after an apply error: {error}")

    def _count(self, route: Route, op: Op, n: int) -> None:
        if n <= 0:
            return
        counts = self.counts.setdefault(route.key, TableCounts())
        if op is Op.INSERT:
            counts.inserts += n
        elif op is Op.UPDATE:
            counts.updates += n
        elif op is Op.DELETE:
            counts.deletes += n
        else:
            counts.ddls += n

    def take_counts(self) -> dict[TableKey, TableCounts]:
        counts, self.counts = self.counts, {}
        return counts


_ORDER = [Policy.IGNORE_RECORD, Policy.LOG_ERROR, Policy.INSERT_RECORD, Policy.UPDATE_RECORD,
          Policy.SUSPEND_TABLE, Policy.STOP_TASK]


def _severity(policy: Policy) -> int:
    return _ORDER.index(policy)


def _name(route: Route) -> str:
    return f"{route.plan.target_schema}.{route.plan.target_table}"


def describe(route: Route, change: TargetChange) -> str:
    """A readable statement for logs and awsdms_apply_exceptions (values shown, never executed)."""
    plan = route.plan
    table = f"{plan.target_schema}.{plan.target_table}"
    names = [c.name for c in plan.columns]
    key_names = plan.key or tuple(names)
    where = " AND ".join(f"{k} = {_show(v)}" for k, v in zip(key_names, change.key or (), strict=False))
    if change.op is Op.INSERT:
        values = ", ".join(_show(v) for v in change.row)
        return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({values})"  # noqa: S608 - shown, never run
    if change.op is Op.UPDATE:
        sets = ", ".join(f"{n} = {_show(v)}" for n, v in zip(names, change.row, strict=True) if v is not UNCHANGED)
        return f"UPDATE {table} SET {sets} WHERE {where}"  # noqa: S608 - shown, never run
    if change.op is Op.DELETE:
        return f"DELETE FROM {table} WHERE {where}"  # noqa: S608 - shown, never run
    return f"{change.op} {table}"


def _show(value: object) -> str:
    if value is None:
        return "NULL"
    text = repr(value) if not isinstance(value, str) else "'" + value.replace("'", "''") + "'"
    return text if len(text) <= 200 else text[:197] + "..."
