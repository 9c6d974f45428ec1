"""Selection rules: which schemas, tables and views a task migrates, and row filters."""

from __future__ import annotations

from typing import Any

from endpoints.engines.plan import ColumnFilter, FilterCondition, FilterOp

from .mapping_reader import Fields
from .mapping_rules import LocatedFilter, RuleInfo, SelectionRule
from .problems import json_kind, show
from .wildcards import compile_pattern, has_percent

SELECTION_KEYS = ("rule-type", "rule-id", "rule-name", "rule-action", "object-locator", "load-order", "filters")
LOCATOR_KEYS = ("schema-name", "table-name", "table-type")
FILTER_KEYS = ("filter-type", "column-name", "filter-conditions")
OPERATORS = tuple(op.value for op in FilterOp)
NEGATIVE = (FilterOp.NOTEQ, FilterOp.NOTBETWEEN, FilterOp.NOTNULL)
# The value keys each operator takes; any other is a mistake (e.g. value with between).
OPERATOR_KEYS: dict[FilterOp, tuple[str, ...]] = {
    FilterOp.BETWEEN: ("start-value", "end-value"),
    FilterOp.NOTBETWEEN: ("start-value", "end-value"),
    FilterOp.NULL: (),
    FilterOp.NOTNULL: (),
}
VALUE_KEYS = ("value", "start-value", "end-value")
VALUE_ALLOWED = 'a string such as "10", "tech" or "2024-01-31"'


def parse_selection(fields: Fields, info: RuleInfo | None) -> SelectionRule | None:
    fields.unknown_keys(SELECTION_KEYS, "a selection rule")
    action = fields.choice("rule-action", ("include", "exclude", "explicit"))
    locator = fields.child("object-locator", "an object with schema-name and table-name (% and _ are wildcards)")
    schema = table = None
    table_type = "table"
    if locator is not None:
        locator.unknown_keys(LOCATOR_KEYS, "a selection object-locator")
        name_allowed = "a schema name or pattern (% any run, _ one character)"
        schema = locator.text("schema-name", name_allowed)
        table = locator.text("table-name", name_allowed.replace("schema", "table"))
        table_type = locator.choice("table-type", ("table", "view", "all"), required=False, default="table") or "table"
        if action == "explicit":
            _check_exact(locator, "schema-name", schema)
            _check_exact(locator, "table-name", table)
    load_order = fields.integer("load-order", "an integer; tables with a higher load-order load first")
    filters = _filters(fields, action)
    if info is None or action is None or schema is None or table is None:
        return None
    return SelectionRule(info, action, compile_pattern(schema), compile_pattern(table), table_type,
                         load_order or 0, filters)


def _check_exact(locator: Fields, key: str, name: str | None) -> None:
    if name is not None and has_percent(name):
        kind = key.split("-")[0]
        locator.error(key, f"{show(name)} has the % wildcard, but an explicit selection names exactly one object; "
                      f"allowed: an exact {kind} name")


def _filters(fields: Fields, action: str | None) -> tuple[LocatedFilter, ...]:
    items = fields.array("filters", "an array of source filters", required=False, non_empty=False)
    if not items:
        return ()
    if action == "exclude":
        fields.error("filters", "an exclude rule selects no rows to filter; allowed: filters in include or "
                     "explicit selection rules only")
        return ()
    found = []
    for index, item in enumerate(items):
        entry = fields.item("filters", index, item, "a filter object with filter-type, column-name, "
                            "filter-conditions")
        parsed = _filter(entry) if entry is not None else None
        if parsed is not None:
            found.append(LocatedFilter(parsed, entry.path))
    return tuple(found)


def _filter(entry: Fields) -> ColumnFilter | None:
    entry.unknown_keys(FILTER_KEYS, "a filter")
    entry.choice("filter-type", ("source",))
    column = entry.text("column-name", "the exact name of a source column")
    if column is not None and has_percent(column):
        entry.error("column-name", f"{show(column)} has the % wildcard; allowed: the exact name of a source column")
        column = None
    items = entry.array("filter-conditions", "a non-empty array of {\"filter-operator\": ..., \"value\": ...}")
    if items is None:
        return None
    conditions = []
    for index, item in enumerate(items):
        condition = entry.item("filter-conditions", index, item, "a condition object with filter-operator")
        parsed = _condition(condition) if condition is not None else None
        if parsed is not None:
            conditions.append(parsed)
    negative = [c.op.value for c in conditions if c.op in NEGATIVE]
    if negative and len(items) > 1:
        entry.error("filter-conditions", f"{negative[0]} allows only one condition in its filter, got {len(items)}; "
                    "allowed: one condition in a filter that uses noteq, notbetween or notnull (put other "
                    "conditions in another filter)")
        return None
    if column is None or len(conditions) != len(items):
        return None
    return ColumnFilter(column, tuple(conditions))


def _condition(condition: Fields) -> FilterCondition | None:
    name = condition.choice("filter-operator", OPERATORS)
    if name is None:
        return None
    op = FilterOp(name)
    wanted = OPERATOR_KEYS.get(op, ("value",))
    ok = True
    for key in condition.data:
        if key != "filter-operator" and key not in wanted and condition.has(key):
            keys = ", ".join(("filter-operator",) + wanted)
            condition.error(key, f"is not used by {name}; allowed keys for {name}: {keys}")
            ok = False
    values = {}
    for key in wanted:
        values[key] = _value(condition, key, name, wanted)
        ok = ok and values[key] is not None
    if not ok:
        return None
    if op in (FilterOp.BETWEEN, FilterOp.NOTBETWEEN):
        return FilterCondition(op, start=values["start-value"], end=values["end-value"])
    return FilterCondition(op, value=values.get("value"))


def _value(condition: Fields, key: str, operator: str, wanted: tuple[str, ...]) -> str | None:
    value: Any = condition.data.get(key)
    if value is None:
        need = " and ".join(wanted)
        condition.error(key, f"is missing; {operator} needs {need}; allowed: {VALUE_ALLOWED}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        condition.error(key, f"got {show(value)} ({json_kind(value)}); allowed: {VALUE_ALLOWED}")
        return None
    return value if isinstance(value, str) else show(value)  # numbers keep their JSON spelling
