"""Applying table-settings rules to one table: parallel-load segments and LOB handling.

`ranges` with N boundaries gives N+1 segments, each bounded by the boundary values
as given (strings); the last segment also takes rows whose range columns are NULL
(plan.Segment's contract), where DMS would leave them behind. `partitions-auto`
gives one segment per source partition.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation

from endpoints.engines.catalog import SourceTable
from endpoints.engines.plan import LobMode, LobSettings, Segment, TablePlan
from endpoints.engines.types import INTEGER_TYPES, T

from .mapping_rules import ParallelLoad, TableSettingsRule
from .plan_rules import PlanContext
from .problems import show

NOT_RANGE_TYPES = frozenset({T.REAL4, T.REAL8, T.BLOB, T.CLOB, T.NCLOB})
NUMBER_TYPES = INTEGER_TYPES | {T.NUMERIC}


def apply_table_settings(plan: TablePlan, table: SourceTable, context: PlanContext) -> TablePlan:
    rules = [r for r in context.mappings.table_settings if (r.schema, r.table) == (table.schema, table.name)]
    for rule in rules:
        context.mark(rule.info.number)
    parallel = _first([r for r in rules if r.parallel_load is not None], "parallel-load", table, context)
    lob = _first([r for r in rules if r.lob is not None], "lob-settings", table, context)
    if parallel is not None and parallel.parallel_load is not None:
        plan = replace(plan, segments=_segments(parallel, parallel.parallel_load, table, context))
    if lob is not None:
        plan = replace(plan, lob=_lob(lob, plan.lob, table, context))
    return plan


def _first(rules: list[TableSettingsRule], what: str, table: SourceTable,
           context: PlanContext) -> TableSettingsRule | None:
    if not rules:
        return None
    ordered = sorted(rules, key=lambda r: r.info.number)
    for loser in ordered[1:]:
        context.problems.warn(loser.info.path, f"also sets {what} of {table.schema}.{table.name}, where rule-id "
                              f"\"{ordered[0].info.rule_id}\" has the lower rule-id and wins; it is not applied",
                              loser.info.ref)
    return ordered[0]


def _segments(rule: TableSettingsRule, spec: ParallelLoad, table: SourceTable,
              context: PlanContext) -> tuple[Segment, ...]:
    if spec.kind == "partitions-auto":
        return _partitions(rule, table, context)
    if spec.kind != "ranges" or not _range_columns_ok(rule, spec, table, context):
        return ()
    if not _ascending(rule, spec, table, context):
        return ()
    bounds = [tuple(b) for b in spec.boundaries]
    nullable = any(table.column(name).nullable for name in spec.columns)
    segments = []
    for index in range(len(bounds) + 1):
        segments.append(Segment(index=index, columns=spec.columns,
                                lower=bounds[index - 1] if index > 0 else None,
                                upper=bounds[index] if index < len(bounds) else None,
                                include_nulls=nullable and index == len(bounds)))
    return tuple(segments)


def _partitions(rule: TableSettingsRule, table: SourceTable, context: PlanContext) -> tuple[Segment, ...]:
    path = f"{rule.info.path}.parallel-load.type"
    if context.source_engine == "postgres":
        context.problems.error(path, "partitions-auto is not supported for PostgreSQL sources (DMS splits them by "
                               "ranges only); allowed: ranges, none", rule.info.ref)
        return ()
    if not table.partitions:
        context.problems.warn(path, f"{table.schema}.{table.name} has no partitions; it loads as one segment",
                              rule.info.ref)
        return ()
    return tuple(Segment(index=i, columns=(), partition=name) for i, name in enumerate(table.partitions))


def _range_columns_ok(rule: TableSettingsRule, spec: ParallelLoad, table: SourceTable,
                      context: PlanContext) -> bool:
    by_name = {c.name: c for c in table.columns}
    ok = True
    for index, name in enumerate(spec.columns):
        path = f"{rule.info.path}.parallel-load.columns[{index}]"
        column = by_name.get(name)
        if column is None:
            problem = f"{table.schema}.{table.name} has no column {show(name)}; columns: {', '.join(by_name)}"
        elif column.dms_type is None:
            problem = f"{show(name)} has type {column.native_type}, which this engine cannot read"
        elif column.dms_type.name in NOT_RANGE_TYPES:
            problem = (f"{show(name)} is {column.dms_type.name}; allowed: range columns of any type but REAL4, "
                       "REAL8, BLOB, CLOB and NCLOB")
        else:
            continue
        context.problems.error(path, problem, rule.info.ref)
        ok = False
    return ok


def _ascending(rule: TableSettingsRule, spec: ParallelLoad, table: SourceTable, context: PlanContext) -> bool:
    """Boundaries on number columns must rise; out of order they would make empty or overlapping segments."""
    types = [table.column(name).dms_type for name in spec.columns]
    if not all(t is not None and t.name in NUMBER_TYPES for t in types):
        return True  # text and dates compare in the source's collation: left to the source
    previous: tuple[Decimal, ...] | None = None
    for index, bound in enumerate(spec.boundaries):
        path = f"{rule.info.path}.parallel-load.boundaries[{index}]"
        try:
            numbers = tuple(Decimal(value) for value in bound)
        except InvalidOperation:
            context.problems.error(path, f"{show(list(bound))} is not all numbers; allowed: numbers for the number "
                                   f"columns {', '.join(spec.columns)}", rule.info.ref)
            return False
        if previous is not None and numbers <= previous:
            context.problems.error(path, f"{show(list(bound))} is not above the boundary before it "
                                   f"{show(list(spec.boundaries[index - 1]))}; allowed: boundaries in ascending "
                                   "order", rule.info.ref)
            return False
        previous = numbers
    return True


def _lob(rule: TableSettingsRule, task_lob: LobSettings, table: SourceTable, context: PlanContext) -> LobSettings:
    assert rule.lob is not None
    path = f"{rule.info.path}.lob-settings"
    if rule.lob.mode == "none":
        return task_lob  # "none": the task settings decide
    if task_lob.mode is LobMode.NONE:
        context.problems.warn(path, f"is ignored for {table.schema}.{table.name}: TargetMetadata.SupportLobs is "
                              "false, so LOB columns are left out", rule.info.ref)
        return task_lob
    if rule.lob.mode == "limited":
        size = rule.lob.bulk_max_size
        return LobSettings(LobMode.LIMITED, size * 1024 if size else task_lob.max_bytes)
    if rule.lob.bulk_max_size:
        context.problems.warn(f"{path}.bulk-max-size", "unlimited mode with a bulk-max-size (DMS's combination "
                              "mode) is not implemented; every LOB is carried whole", rule.info.ref)
    return LobSettings(LobMode.FULL, task_lob.max_bytes)
