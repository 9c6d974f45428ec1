"""Building a task's plan: which source tables go where, shaped how.

For each source table: the selection rules decide whether it is migrated (an exclude
rule wins over include rules), its target schema comes from TargetSchema (empty: the
source schema) and the schema rules, its target name from the table rules, its
columns and key from the column and key rules, its filters from the selection rules
that include it, and its segments and LOB handling from table-settings rules. Every
problem found is collected; nothing is dropped without a warning saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from endpoints.engines.catalog import SourceTable
from endpoints.engines.plan import ColumnFilter, TablePlan, identity_plan

from .mapping_document import parse_table_mappings
from .mapping_rules import SelectionRule, TableMappings
from .plan_columns import shape_columns
from .plan_rules import NAME_ACTIONS, PlanContext, renamed, winner
from .plan_segments import apply_table_settings
from .problems import Problem, Problems, show
from .settings import SettingsResult, lob_settings, parse_task_settings
from .settings_types import TaskSettings


@dataclass
class Plan:
    tables: list[TablePlan] = field(default_factory=list)  # by load-order (highest first), then source name
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        """The dry run's output: every selected table with its shape, then the problems."""
        return {
            "tables": [_table_json(table) for table in self.tables],
            "errors": [str(p) for p in self.errors],
            "warnings": [str(p) for p in self.warnings],
        }


def _table_json(table: TablePlan) -> dict[str, Any]:
    out = table.to_json()
    for column, shown in zip(table.columns, out["columns"], strict=True):
        if column.converts:  # change-data-type: show what the value is converted from
            shown["source_intermediate_type"] = str(column.source_dms_type)
        if column.added:
            shown["added"] = True
    out["rules"] = list(table.rule_ids)
    return out


def build_plan(tables: list[SourceTable], mappings: TableMappings | str | dict,
               settings: SettingsResult | TaskSettings | str | dict | None, *, target: Any,
               source_engine: str) -> Plan:
    """Plan every source table the mappings select. `target` names target types
    (`target_type(dms_type, source_column, source_engine)`) and its default schema.
    Problems of documents given as text or dicts are part of the plan's problems."""
    problems = Problems()
    if not isinstance(mappings, TableMappings):
        mappings = parse_table_mappings(mappings)
    problems.errors.extend(mappings.errors)
    problems.warnings.extend(mappings.warnings)
    context = PlanContext(mappings, _task_settings(settings, problems), target, source_engine, problems)
    plans = []
    for table in tables:
        including = _including(table, mappings, context)
        if including:
            plans.append(_plan_table(table, including, context))
    _check_one_source_per_target(plans, context)
    _check_something_selected(plans, mappings, context)
    _warn_unused_rules(mappings, context)
    plans.sort(key=lambda p: (-p.load_order, p.source_schema, p.source_table))
    return Plan(plans, _unique(problems.errors), _unique(problems.warnings))


def _task_settings(settings: Any, problems: Problems) -> TaskSettings:
    if isinstance(settings, TaskSettings):
        return settings
    if isinstance(settings, SettingsResult):
        return settings.settings
    result = parse_task_settings(settings)
    problems.errors.extend(result.errors)
    problems.warnings.extend(result.warnings)
    return result.settings


def _unique(problems: list[Problem]) -> list[Problem]:
    # Schema-wide rules are checked once per table; say each thing once.
    return list(dict.fromkeys(problems))


# ---- one table ------------------------------------------------------------------------------


def _including(table: SourceTable, mappings: TableMappings, context: PlanContext) -> list[SelectionRule]:
    """The include/explicit rules that select the table; empty when none does or an exclude rule matches."""
    matching = [r for r in mappings.selections if r.matches(table)]
    for rule in matching:
        context.used.add(rule.info.number)
    if any(r.action == "exclude" for r in matching):
        return []
    return sorted(matching, key=lambda r: r.info.number)


def _plan_table(table: SourceTable, including: list[SelectionRule], context: PlanContext) -> TablePlan:
    context.touched = {r.info.number for r in including}
    plan = identity_plan(table, context.target, source_engine=context.source_engine,
                         target_schema=_target_schema(table, context), lob=lob_settings(context.settings))
    what = f"table {table.schema}.{table.name}"
    name_rule = winner([r for r in context.rules("table", NAME_ACTIONS) if r.matches_table(table)], what, context)
    plan = replace(plan, target_table=renamed(name_rule, table.name, what, context),
                   load_order=max(r.load_order for r in including),
                   filters=_filters(table, including, context))
    plan = shape_columns(plan, table, context)
    plan = apply_table_settings(plan, table, context)
    for column in plan.unsupported:
        context.problems.warn("", f"{table.schema}.{table.name}.{column.column}: type {show(column.native_type)} is "
                              f"not supported ({column.reason}); the column is not migrated")
    by_number = {r.info.number: r.info.rule_id for r in _all_rules(context.mappings)}
    return replace(plan, rule_ids=tuple(by_number[n] for n in sorted(context.touched)))


def _target_schema(table: SourceTable, context: PlanContext) -> str:
    # MySQL targets call a schema a database: TargetSchema then names the database.
    start = context.settings.target_metadata.target_schema or table.schema or context.target.default_schema()
    rules = [r for r in context.rules("schema", NAME_ACTIONS) if r.schema.matches(table.schema)]
    what = f"schema {table.schema}"
    return renamed(winner(rules, what, context), start, what, context)


def _filters(table: SourceTable, including: list[SelectionRule], context: PlanContext) -> tuple[ColumnFilter, ...]:
    by_name = {c.name: c for c in table.columns}
    found = []
    for rule in including:
        for located in rule.filters:
            name = located.filter.column
            column = by_name.get(name)
            if column is None:
                problem = f"{table.schema}.{table.name} has no column {show(name)}; columns: {', '.join(by_name)}"
            elif column.dms_type is None:
                problem = f"{show(name)} has type {column.native_type}, which this engine cannot read"
            elif column.dms_type.is_lob:
                problem = (f"{show(name)} is a LOB column ({column.dms_type}); allowed: filters on columns that are "
                           "not BLOB, CLOB or NCLOB")
            else:
                found.append(located.filter)
                continue
            context.problems.error(f"{located.path}.column-name", problem, rule.info.ref)
    return tuple(found)


# ---- across tables --------------------------------------------------------------------------


def _check_one_source_per_target(plans: list[TablePlan], context: PlanContext) -> None:
    owners: dict[tuple[str, str], TablePlan] = {}
    for plan in plans:
        key = (plan.target_schema, plan.target_table)
        first = owners.setdefault(key, plan)
        if first is not plan:
            context.problems.error("", f"{first.source.qualified} and {plan.source.qualified} both map to target "
                                   f"table {key[0]}.{key[1]}; allowed: one source table per target table (DMS does "
                                   "not merge tables)")


def _check_something_selected(plans: list[TablePlan], mappings: TableMappings, context: PlanContext) -> None:
    if plans or not mappings.selections:
        return  # no valid selection rule at all is already an error of the document
    message = "the selection rules match no table or view of the source"
    if context.settings.error_behavior.fail_on_no_tables_captured:
        context.problems.error("rules", f"{message}; allowed: rules that select at least one table (or "
                               "ErrorBehavior.FailOnNoTablesCaptured false to accept an empty task)")
    else:
        context.problems.warn("rules", message)


def _all_rules(mappings: TableMappings) -> list[Any]:
    return [*mappings.selections, *mappings.transformations, *mappings.table_settings]


def _warn_unused_rules(mappings: TableMappings, context: PlanContext) -> None:
    for rule in sorted(_all_rules(mappings), key=lambda r: r.info.index):
        if rule.info.number in context.used:
            continue
        if isinstance(rule, SelectionRule):
            verb = "excludes nothing: it matches" if rule.action == "exclude" else "matches"
            message = f"{verb} no {_kinds(rule.table_type)} of the source"
        elif hasattr(rule, "parallel_load"):
            message = f"names {rule.schema}.{rule.table}, which no selection rule includes; it is ignored"
        else:
            message = f"matches no {rule.target} of the selected tables; it changes nothing"
        context.problems.warn(rule.info.path, message, rule.info.ref)


def _kinds(table_type: str) -> str:
    return {"table": "table", "view": "view", "all": "table or view"}[table_type]
