"""The Table mappings step's guided editor: rules as form fields named by their JSON path.

Each guided field is named by where it lives in the table-mapping document
(`rules[2].object-locator.table-name`), so a posted form turns back into the document
by path, and every problem the engine reports (also by path) lands on its own field.
A rule keeps the keys the guided editor does not show (load-order, table-type,
primary-key-def, table-settings rules...) in a hidden copy of itself, so switching
between the guided editor and the JSON editor never loses anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tasks.engine.mapping_selection import OPERATOR_KEYS, OPERATORS
from tasks.engine.mapping_transformation import ACTIONS, DATA_TYPES, USES
from tasks.engine.problems import Problem

RAW = "__raw"
SELECTION_ACTIONS = [("include", "Include"), ("exclude", "Exclude"), ("explicit", "Explicit")]
TARGETS = [("schema", "Schema"), ("table", "Table"), ("column", "Column")]
ACTION_LABELS = {
    "rename": "Rename to", "convert-lowercase": "Make lowercase", "convert-uppercase": "Make uppercase",
    "add-prefix": "Add prefix", "remove-prefix": "Remove prefix", "replace-prefix": "Replace prefix",
    "add-suffix": "Add suffix", "remove-suffix": "Remove suffix", "replace-suffix": "Replace suffix",
    "define-primary-key": "Define primary key", "remove-column": "Remove column",
    "include-column": "Include column", "add-column": "Add column", "change-data-type": "Change data type",
}
VALUE_LABELS = {"rename": "New name", "add-column": "Column name", "add-prefix": "Prefix",
                "remove-prefix": "Prefix", "replace-prefix": "New prefix", "add-suffix": "Suffix",
                "remove-suffix": "Suffix", "replace-suffix": "New suffix"}
OPERATOR_LABELS = {"eq": "Equal to", "noteq": "Not equal to", "lte": "Less than or equal to",
                   "ste": "Less than or equal to (ste)", "gte": "Greater than or equal to", "between": "Between",
                   "notbetween": "Not between", "null": "Is null", "notnull": "Is not null"}
_PATH_TOKEN = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


class DocumentError(ValueError):
    """The JSON editor's text cannot be shown as rules (not JSON, or no rules array)."""


# ---- the document -------------------------------------------------------------------------------

def rules_of(text: str) -> list[dict[str, Any]]:
    """The rules of a table-mapping document; raises DocumentError when they cannot be edited as rules."""
    try:
        doc = json.loads(text or '{"rules": []}')
    except json.JSONDecodeError as exc:
        raise DocumentError(f"Not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}. Fix it in the "
                            "JSON editor first.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise DocumentError('The document must be an object {"rules": [...]} to be edited as rules.')
    return doc["rules"]


def document_text(rules: list[Any]) -> str:
    return json.dumps({"rules": rules}, indent=2, ensure_ascii=False)


def default_rules(schema: str) -> list[dict[str, Any]]:
    """What a new task starts with: every table of the source's default schema."""
    return [new_rule("selection", 1, schema)]


def new_rule(kind: str, number: int, schema: str) -> dict[str, Any]:
    base = {"rule-type": kind, "rule-id": str(number), "rule-name": str(number)}
    if kind == "selection":
        return {**base, "object-locator": {"schema-name": schema or "%", "table-name": "%"}, "rule-action": "include"}
    return {**base, "rule-target": "table", "object-locator": {"schema-name": schema or "%", "table-name": "%"},
            "rule-action": "rename", "value": ""}


def next_number(rules: Iterable[Any]) -> int:
    numbers = [int(r["rule-id"]) for r in rules if isinstance(r, dict) and str(r.get("rule-id", "")).isdigit()]
    return max(numbers, default=0) + 1


# ---- from the posted form -----------------------------------------------------------------------

def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for name, indexes in _PATH_TOKEN.findall(path):
        steps.append(name)
        steps.extend(int(i) for i in re.findall(r"\d+", indexes))
    return steps


def _posted_tree(post: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    """rules[i]... keys into {i: nested dicts}, list positions kept as dict keys for now."""
    tree: dict[int, dict[str, Any]] = {}
    for key in post:
        if not key.startswith("rules["):
            continue
        steps = _steps(key)
        if len(steps) < 3 or not isinstance(steps[1], int):
            continue
        node = tree.setdefault(steps[1], {})
        for step in steps[2:-1]:
            node = node.setdefault(step, {})
        node[steps[-1]] = post.get(key)
    return tree


def _listed(node: Any) -> list[Any]:
    return [node[i] for i in sorted(k for k in node if isinstance(k, int))] if isinstance(node, dict) else []


def rules_from_post(post: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rules a guided editor posted, each rebuilt on its hidden copy."""
    rules = []
    for _, posted in sorted(_posted_tree(post).items()):
        try:
            raw = json.loads(posted.get(RAW) or "{}")
        except json.JSONDecodeError:
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        kind = raw.get("rule-type")
        if kind == "selection":
            rules.append(_selection(raw, posted))
        elif kind == "transformation":
            rules.append(_transformation(raw, posted))
        else:
            rules.append(raw)
    return rules


def _text(posted: dict[str, Any], key: str, default: str = "") -> str:
    value = posted.get(key, default)
    return value.strip() if isinstance(value, str) else default


def _locator(raw: dict[str, Any], posted: dict[str, Any], keys: tuple[str, ...], drop: tuple[str, ...]) -> dict:
    old = raw.get("object-locator") if isinstance(raw.get("object-locator"), dict) else {}
    given = posted.get("object-locator") if isinstance(posted.get("object-locator"), dict) else {}
    locator = {k: _text(given, k, old.get(k, "") if isinstance(old.get(k), str) else "") for k in keys}
    locator.update({k: v for k, v in old.items() if k not in keys and k not in drop})
    return locator


def _ordered(raw: dict[str, Any], head: dict[str, Any], managed: tuple[str, ...]) -> dict[str, Any]:
    out = {k: raw[k] for k in ("rule-type", "rule-id", "rule-name") if k in raw}
    out.update(head)
    out.update({k: v for k, v in raw.items() if k not in out and k not in managed})
    return out


def _selection(raw: dict[str, Any], posted: dict[str, Any]) -> dict[str, Any]:
    head: dict[str, Any] = {
        "object-locator": _locator(raw, posted, ("schema-name", "table-name"), ()),
        "rule-action": _text(posted, "rule-action", raw.get("rule-action", "include")),
    }
    filters = []
    for given in _listed(posted.get("filters")):
        conditions = []
        for cond in _listed(given.get("filter-conditions")):
            operator = _text(cond, "filter-operator", "eq")
            condition: dict[str, Any] = {"filter-operator": operator}
            for key in OPERATOR_KEYS.get(operator, ("value",)):  # type: ignore[call-overload]
                condition[key] = _text(cond, key)
            conditions.append(condition)
        filters.append({"filter-type": "source", "column-name": _text(given, "column-name"),
                        "filter-conditions": conditions})
    if filters:
        head["filters"] = filters
    return _ordered(raw, head, ("object-locator", "rule-action", "filters"))


def _transformation(raw: dict[str, Any], posted: dict[str, Any]) -> dict[str, Any]:
    target = _text(posted, "rule-target", raw.get("rule-target", "table"))
    action = _text(posted, "rule-action", raw.get("rule-action", "rename"))
    keys = {"schema": ("schema-name",), "table": ("schema-name", "table-name")}.get(
        target, ("schema-name", "table-name") if action == "add-column" else ("schema-name", "table-name",
                                                                              "column-name"))
    head: dict[str, Any] = {
        "rule-target": target,
        "object-locator": _locator(raw, posted, keys, ("schema-name", "table-name", "column-name")),
        "rule-action": action,
    }
    uses = USES.get(action, ())
    if "value" in uses:
        head["value"] = _text(posted, "value", raw.get("value", "") if isinstance(raw.get("value"), str) else "")
    if "old-value" in uses:
        head["old-value"] = _text(posted, "old-value", raw.get("old-value", "")
                                  if isinstance(raw.get("old-value"), str) else "")
    if "data-type" in uses:
        given = posted.get("data-type") if isinstance(posted.get("data-type"), dict) else {}
        old = raw.get("data-type") if isinstance(raw.get("data-type"), dict) else {}
        data_type: dict[str, Any] = {"type": _text(given, "type", old.get("type", "string"))}
        for key in ("length", "precision", "scale"):
            text = _text(given, key, str(old.get(key, "")) if key in old else "")
            if text:
                data_type[key] = int(text) if text.isdigit() else text
        head["data-type"] = data_type
    if action == "add-column":
        expression = _text(posted, "expression", raw.get("expression", "") if isinstance(raw.get("expression"),
                                                                                          str) else "")
        if expression:
            head["expression"] = expression
    return _ordered(raw, head, ("rule-target", "object-locator", "rule-action", "value", "old-value", "data-type",
                                "expression"))


# ---- editing operations (the guided editor's buttons) --------------------------------------------

def apply_op(rules: list[dict[str, Any]], op: str, schema: str) -> list[dict[str, Any]]:
    """add-selection, add-transformation, remove-rule:i, add-filter:i, remove-filter:i:j,
    add-condition:i:j, remove-condition:i:j:k. Unknown or stale operations change nothing."""
    name, *parts = op.split(":")
    try:
        at = [int(p) for p in parts]
    except ValueError:
        return rules
    rules = json.loads(json.dumps(rules))  # a copy

    def filters_of(i: int) -> list[dict[str, Any]]:
        return rules[i].setdefault("filters", [])

    try:
        if name == "add-selection":
            rules.append(new_rule("selection", next_number(rules), schema))
        elif name == "add-transformation":
            rules.append(new_rule("transformation", next_number(rules), schema))
        elif name == "remove-rule":
            del rules[at[0]]
        elif name == "add-filter":
            filters_of(at[0]).append({"filter-type": "source", "column-name": "",
                                      "filter-conditions": [{"filter-operator": "eq", "value": ""}]})
        elif name == "remove-filter":
            del filters_of(at[0])[at[1]]
            if not rules[at[0]]["filters"]:
                del rules[at[0]]["filters"]
        elif name == "add-condition":
            filters_of(at[0])[at[1]]["filter-conditions"].append({"filter-operator": "eq", "value": ""})
        elif name == "remove-condition":
            del filters_of(at[0])[at[1]]["filter-conditions"][at[2]]
    except (IndexError, KeyError, TypeError, AttributeError):
        pass
    return rules


# ---- what the template shows ----------------------------------------------------------------------

@dataclass
class FieldView:
    path: str
    label: str
    value: str = ""
    choices: list[tuple[str, str]] | None = None  # a select when set
    errors: list[str] = field(default_factory=list)
    size: str = ""  # a CSS width hint

    @property
    def html_id(self) -> str:
        return "m-" + re.sub(r"[^A-Za-z0-9]+", "-", self.path).strip("-")


@dataclass
class ConditionView:
    fields: list[FieldView]
    remove_op: str


@dataclass
class FilterView:
    column: FieldView
    conditions: list[ConditionView]
    add_condition_op: str
    remove_op: str


@dataclass
class RuleView:
    index: int
    kind: str
    rule_id: str
    rule_name: str
    raw: str
    fields: list[FieldView] = field(default_factory=list)
    filters: list[FilterView] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the rule's problems not shown at a field
    editable: bool = True

    @property
    def all_fields(self) -> list[FieldView]:
        return _all_fields(self)

    @property
    def title(self) -> str:
        return {"selection": "Selection rule", "transformation": "Transformation rule"}.get(
            self.kind, f"{self.kind or 'Unknown'} rule (edit it in the JSON editor)")


def _choices(options: list[tuple[str, str]], current: str) -> list[tuple[str, str]]:
    if current and current not in dict(options):  # shown as written, so its error has a place
        return options + [(current, f"{current} (not valid)")]
    return options


def _value_at(node: Any, *keys: str) -> str:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return "" if node is None else str(node)


def editor_rules(rules: list[Any], problems: Iterable[Problem]) -> tuple[list[RuleView], list[str]]:
    """The rules as the guided editor shows them, each problem at its field (or its rule); returns the
    views and the problems that belong to no rule."""
    views = [_rule_view(i, rule) for i, rule in enumerate(rules)]
    by_path = {f.path: f for v in views for f in _all_fields(v)}
    general: list[str] = []
    for problem in problems:
        shown = problem.message if problem.path in by_path else str(problem)
        if problem.path in by_path:
            by_path[problem.path].errors.append(shown)
            continue
        match = re.match(r"rules\[(\d+)\]", problem.path)
        if match and int(match.group(1)) < len(views):
            views[int(match.group(1))].errors.append(shown)
        else:
            general.append(shown)
    return views, general


def _all_fields(view: RuleView) -> list[FieldView]:
    found = list(view.fields)
    for f in view.filters:
        found.append(f.column)
        for c in f.conditions:
            found.extend(c.fields)
    return found


def _rule_view(index: int, rule: Any) -> RuleView:
    p = f"rules[{index}]"
    if not isinstance(rule, dict):
        return RuleView(index, "", "", "", json.dumps(rule), editable=False)
    kind = rule.get("rule-type")
    view = RuleView(index, kind if isinstance(kind, str) else "", str(rule.get("rule-id", "")),
                    str(rule.get("rule-name", "")), json.dumps(rule, ensure_ascii=False))
    if kind == "selection":
        view.fields = [
            FieldView(f"{p}.object-locator.schema-name", "Schema name", _value_at(rule, "object-locator",
                                                                                   "schema-name")),
            FieldView(f"{p}.object-locator.table-name", "Source table name", _value_at(rule, "object-locator",
                                                                                        "table-name")),
            FieldView(f"{p}.rule-action", "Action", _value_at(rule, "rule-action"),
                      _choices(SELECTION_ACTIONS, _value_at(rule, "rule-action"))),
        ]
        view.filters = [_filter_view(p, index, j, f) for j, f in enumerate(rule.get("filters") or [])
                        if isinstance(f, dict)]
    elif kind == "transformation":
        view.fields = _transformation_fields(p, rule)
    else:
        view.editable = False
    return view


def _filter_view(p: str, i: int, j: int, given: dict[str, Any]) -> FilterView:
    fp = f"{p}.filters[{j}]"
    conditions = []
    for k, cond in enumerate(given.get("filter-conditions") or []):
        if not isinstance(cond, dict):
            continue
        cp = f"{fp}.filter-conditions[{k}]"
        operator = _value_at(cond, "filter-operator")
        options = [(o, OPERATOR_LABELS.get(o, o)) for o in OPERATORS if o != "ste" or operator == "ste"]
        fields = [FieldView(f"{cp}.filter-operator", "Condition", operator, _choices(options, operator))]
        for key in OPERATOR_KEYS.get(operator, ("value",)):  # type: ignore[call-overload]
            label = {"value": "Value", "start-value": "From", "end-value": "To"}[key]
            fields.append(FieldView(f"{cp}.{key}", label, _value_at(cond, key), size="short"))
        conditions.append(ConditionView(fields, f"remove-condition:{i}:{j}:{k}"))
    column = FieldView(f"{fp}.column-name", "Column name", _value_at(given, "column-name"))
    return FilterView(column, conditions, f"add-condition:{i}:{j}", f"remove-filter:{i}:{j}")


def _transformation_fields(p: str, rule: dict[str, Any]) -> list[FieldView]:
    target = _value_at(rule, "rule-target")
    action = _value_at(rule, "rule-action")
    actions = ACTIONS.get(target, ACTIONS["column"])
    fields = [
        FieldView(f"{p}.rule-target", "Target", target, _choices(TARGETS, target)),
        FieldView(f"{p}.object-locator.schema-name", "Schema name", _value_at(rule, "object-locator",
                                                                               "schema-name")),
    ]
    if target in ("table", "column"):
        fields.append(FieldView(f"{p}.object-locator.table-name", "Table name",
                                _value_at(rule, "object-locator", "table-name")))
    if target == "column" and action != "add-column":
        fields.append(FieldView(f"{p}.object-locator.column-name", "Column name",
                                _value_at(rule, "object-locator", "column-name")))
    fields.append(FieldView(f"{p}.rule-action", "Action", action,
                            _choices([(a, ACTION_LABELS.get(a, a)) for a in actions], action)))
    uses = USES.get(action, ())
    if "old-value" in uses:
        fields.append(FieldView(f"{p}.old-value", "Old value", _value_at(rule, "old-value")))
    if "value" in uses:
        fields.append(FieldView(f"{p}.value", VALUE_LABELS.get(action, "Value"), _value_at(rule, "value")))
    if "data-type" in uses:
        current = _value_at(rule, "data-type", "type")
        fields.append(FieldView(f"{p}.data-type.type", "Data type", current,
                                _choices([(t, t) for t in DATA_TYPES if t not in ("set", "list", "map", "tuple")],
                                         current)))
        for key in ("length", "precision", "scale"):
            fields.append(FieldView(f"{p}.data-type.{key}", key.title(), _value_at(rule, "data-type", key),
                                    size="short"))
    if action == "add-column":
        fields.append(FieldView(f"{p}.expression", "Expression (optional)", _value_at(rule, "expression")))
    return fields


def problem_lines(problems: Iterable[Problem]) -> list[str]:
    return [str(p) for p in problems]
