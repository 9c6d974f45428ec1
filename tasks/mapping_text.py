"""A table-mapping document in words, for the task page's Mapping rules tab."""

from __future__ import annotations

import json
from typing import Any

from .wizard_mappings import ACTION_LABELS, OPERATOR_LABELS


def _name(locator: dict[str, Any], *keys: str) -> str:
    return ".".join(str(locator.get(k, "?")) for k in keys)


def _condition(condition: dict[str, Any]) -> str:
    operator = condition.get("filter-operator", "?")
    label = OPERATOR_LABELS.get(operator, operator).lower()
    if "start-value" in condition or "end-value" in condition:
        return f"{label} {condition.get('start-value')!s} and {condition.get('end-value')!s}"
    if "value" in condition:
        return f"{label} {condition['value']!s}"
    return label


def _filters(rule: dict[str, Any]) -> str:
    parts = []
    for f in rule.get("filters") or []:
        if isinstance(f, dict):
            conditions = " or ".join(_condition(c) for c in f.get("filter-conditions") or [] if isinstance(c, dict))
            parts.append(f"{f.get('column-name', '?')} {conditions}")
    return "; rows where " + " and ".join(parts) if parts else ""


def describe_rule(rule: Any) -> dict[str, str]:
    if not isinstance(rule, dict):
        return {"id": "", "name": "", "type": "?", "action": "", "object": "", "detail": json.dumps(rule)}
    locator = rule.get("object-locator") if isinstance(rule.get("object-locator"), dict) else {}
    kind, action = str(rule.get("rule-type", "")), str(rule.get("rule-action", ""))
    row = {"id": str(rule.get("rule-id", "")), "name": str(rule.get("rule-name", "")), "type": kind,
           "action": action, "object": "", "detail": ""}
    if kind == "selection":
        row["object"] = _name(locator, "schema-name", "table-name")
        row["action"] = action.title()
        row["detail"] = _filters(rule).removeprefix("; ").capitalize()
    elif kind == "transformation":
        target = rule.get("rule-target", "")
        keys = {"schema": ("schema-name",), "table": ("schema-name", "table-name")}.get(
            str(target), ("schema-name", "table-name", "column-name"))
        row["object"] = f"{target} {_name(locator, *keys)}"
        row["action"] = ACTION_LABELS.get(action, action)
        if "value" in rule:
            row["detail"] = f"{rule.get('old-value', '')} → {rule['value']}" if "old-value" in rule \
                else str(rule["value"])
        if isinstance(rule.get("data-type"), dict):
            row["detail"] += f" ({', '.join(f'{k} {v}' for k, v in rule['data-type'].items())})"
    else:
        row["object"] = _name(locator, "schema-name", "table-name") if locator else ""
        row["detail"] = json.dumps({k: v for k, v in rule.items()
                                    if k not in ("rule-type", "rule-id", "rule-name", "object-locator")})
    return row


def describe_rules(text: str) -> list[dict[str, str]]:
    try:
        doc = json.loads(text or "{}")
    except ValueError:
        return []
    rules = doc.get("rules") if isinstance(doc, dict) else None
    return [describe_rule(r) for r in rules] if isinstance(rules, list) else []
