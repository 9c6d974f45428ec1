"""Shaping one table's target columns and key from the column and key rules.

In order: LOB columns are left out when SupportLobs is false, remove-column /
include-column decide which columns stay, name rules rename them, change-data-type
re-types them, add-column appends new ones, and define-primary-key sets the key.
Object locators name source columns (as in DMS), so every rule sees the source name
whatever other rules do to it.
"""

from __future__ import annotations

from dataclasses import replace

from endpoints.engines.catalog import SourceTable
from endpoints.engines.plan import ColumnPlan, TablePlan

from .mapping_rules import TransformationRule
from .plan_rules import MEMBERSHIP_ACTIONS, NAME_ACTIONS, PlanContext, renamed, winner
from .problems import show


def shape_columns(plan: TablePlan, table: SourceTable, context: PlanContext) -> TablePlan:
    columns = _without_lobs(list(plan.columns), table, context)
    rules = [r for r in context.mappings.transformations if r.target == "column" and r.matches_table(table)]
    columns = _kept(columns, table, rules, context)
    columns = [_shaped(c, table, rules, context) for c in columns]
    renames = {c.source: c.name for c in columns}
    _check_unique(columns, table, context)
    columns += _added(table, rules, columns, context)
    key, origin = _key(plan, table, columns, renames, context)
    return replace(plan, columns=tuple(columns), key=key, key_origin=origin)


def _column_matches(rule: TransformationRule, column: ColumnPlan) -> bool:
    if rule.column is None or column.source is None or not rule.column.matches(column.source):
        return False
    return rule.column_type is None or (column.source_dms_type is not None
                                        and column.source_dms_type.name == rule.column_type)


def _where(table: SourceTable, column: str) -> str:
    return f"column {table.schema}.{table.name}.{column}"


def _without_lobs(columns: list[ColumnPlan], table: SourceTable, context: PlanContext) -> list[ColumnPlan]:
    if context.settings.target_metadata.support_lobs:
        return columns
    kept = []
    for column in columns:
        if column.dms_type.is_lob:
            context.problems.warn("", f"{table.schema}.{table.name}.{column.name}: LOB column ({column.dms_type}) is "
                                  "left out because TargetMetadata.SupportLobs is false")
        else:
            kept.append(column)
    return kept


def _kept(columns: list[ColumnPlan], table: SourceTable, rules: list[TransformationRule],
          context: PlanContext) -> list[ColumnPlan]:
    membership = [r for r in rules if r.action in MEMBERSHIP_ACTIONS]
    # One include-column rule switches the table to "drop all columns, include the listed ones".
    include_mode = any(r.action == "include-column" and any(_column_matches(r, c) for c in columns)
                       for r in membership)
    kept = []
    for column in columns:
        matching = [r for r in membership if _column_matches(r, column)]
        rule = winner(matching, _where(table, column.source or column.name), context)
        if rule is None and not include_mode or rule is not None and rule.action == "include-column":
            kept.append(column)
    return kept


def _shaped(column: ColumnPlan, table: SourceTable, rules: list[TransformationRule],
            context: PlanContext) -> ColumnPlan:
    what = _where(table, column.source or column.name)
    name_rule = winner([r for r in rules if r.action in NAME_ACTIONS and _column_matches(r, column)], what, context)
    type_rule = winner([r for r in rules if r.action == "change-data-type" and _column_matches(r, column)], what,
                       context)
    column = replace(column, name=renamed(name_rule, column.name, what, context))
    if type_rule is not None and type_rule.data_type is not None:
        new_type = type_rule.data_type
        column = replace(column, dms_type=new_type, target_type=context.target.target_type(new_type, None, None))
    return column


def _added(table: SourceTable, rules: list[TransformationRule], columns: list[ColumnPlan],
           context: PlanContext) -> list[ColumnPlan]:
    added: list[ColumnPlan] = []
    taken = {c.name for c in columns}
    for rule in sorted((r for r in rules if r.action == "add-column"), key=lambda r: r.info.number):
        context.mark(rule.info.number)
        if rule.data_type is None or rule.value is None:
            continue
        if rule.value in taken:
            context.problems.error(f"{rule.info.path}.value", f"{table.schema}.{table.name} already has a target "
                                   f"column {show(rule.value)}; allowed: a name no other column of the table has",
                                   rule.info.ref)
            continue
        if rule.expression is not None and not _inputs_ok(rule, table, context):
            continue
        expression, constant = rule.expression, None
        if expression is not None and expression.ast[0] == "lit":
            constant, expression = expression.ast[1], None  # a literal needs no evaluation per row
        taken.add(rule.value)
        added.append(ColumnPlan(name=rule.value, dms_type=rule.data_type,
                                target_type=context.target.target_type(rule.data_type, None, None),
                                expression=expression, constant=constant, added=True))
    return added


def _inputs_ok(rule: TransformationRule, table: SourceTable, context: PlanContext) -> bool:
    """Every $COLUMN of the expression is a readable column of the source table."""
    assert rule.expression is not None
    by_name = {c.name: c for c in table.columns}
    ok = True
    for name in rule.expression.columns:
        column = by_name.get(name)
        if column is None:
            problem = f"${name} refers to no column of {table.schema}.{table.name}; columns: {', '.join(by_name)}"
        elif column.dms_type is None:
            problem = f"${name} has type {column.native_type}, which this engine cannot read"
        else:
            continue
        context.problems.error(f"{rule.info.path}.expression", problem, rule.info.ref)
        ok = False
    return ok


def _check_unique(columns: list[ColumnPlan], table: SourceTable, context: PlanContext) -> None:
    seen: dict[str, ColumnPlan] = {}
    for column in columns:
        other = seen.setdefault(column.name, column)
        if other is not column:
            context.problems.error("", f"{table.schema}.{table.name}: source columns {show(other.source)} and "
                                   f"{show(column.source)} both become target column {show(column.name)}; allowed: "
                                   "one column per target name")


def _key(plan: TablePlan, table: SourceTable, columns: list[ColumnPlan], renames: dict[str | None, str],
         context: PlanContext) -> tuple[tuple[str, ...], str]:
    rules = [r for r in context.rules("table", frozenset({"define-primary-key"})) if r.matches_table(table)]
    rule = winner(rules, f"table {table.schema}.{table.name}", context)
    if rule is not None and rule.primary_key is not None:
        return _defined_key(rule, table, columns, context), rule.primary_key.origin
    if not plan.key:
        return (), plan.key_origin
    missing = [name for name in plan.key if name not in renames]
    if missing:
        context.problems.warn("", f"{table.schema}.{table.name}: key column(s) {', '.join(missing)} are not "
                              "migrated, so the target table gets no key; define one with define-primary-key")
        return (), plan.key_origin
    return tuple(renames[name] for name in plan.key), plan.key_origin


def _defined_key(rule: TransformationRule, table: SourceTable, columns: list[ColumnPlan],
                 context: PlanContext) -> tuple[str, ...]:
    assert rule.primary_key is not None
    by_target = {c.name for c in columns}
    by_source = {c.source: c.name for c in columns if c.source}
    key = []
    for index, name in enumerate(rule.primary_key.columns):
        if name in by_target:
            key.append(name)
        elif name in by_source:
            key.append(by_source[name])
        else:
            context.problems.error(f"{rule.info.path}.primary-key-def.columns[{index}]",
                                   f"{table.schema}.{table.name} has no target column {show(name)}; columns: "
                                   f"{', '.join(c.name for c in columns)}", rule.info.ref)
    return tuple(key)
