"""Reading a whole table-mapping document (DMS `TableMappings` JSON) into typed rules.

Checks are strict and complete: every rule is read to the end and every problem is
collected, each naming the rule (rule-id, rule-name), the JSON field and what is
allowed. A rule with an error is left out of the result; the document is unusable
while `errors` is non-empty.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .mapping_reader import Fields
from .mapping_rules import RuleInfo, TableMappings
from .mapping_selection import parse_selection
from .mapping_table_settings import parse_table_settings
from .mapping_transformation import parse_transformation
from .problems import Problems, RuleRef, json_kind, show

RULE_TYPES = ("selection", "transformation", "table-settings")
REFUSED_RULE_TYPES = {
    "object-mapping": "object-mapping rules are for DynamoDB, Kinesis and Kafka targets, not database targets",
    "post-processing": "post-processing rules are for Amazon S3 targets, not database targets",
}
DOCUMENT_ALLOWED = 'a JSON object {"rules": [...]}'
_RULE_ID = re.compile(r"^\d+$")
_PARSERS = {"selection": parse_selection, "transformation": parse_transformation,
            "table-settings": parse_table_settings}


def parse_table_mappings(doc: str | dict | Any) -> TableMappings:
    problems = Problems()
    result = TableMappings()
    rules = _rules(_load(doc, problems), problems)
    seen_ids: dict[int, tuple[int, str]] = {}
    seen_names: dict[str, int] = {}
    selection_rules = 0
    for index, raw in enumerate(rules or []):
        if isinstance(raw, dict) and raw.get("rule-type") == "selection":
            selection_rules += 1
        _read_rule(index, raw, result, problems, seen_ids, seen_names)
    if rules is not None and selection_rules == 0:
        problems.error("rules", 'no selection rule; allowed: at least one rule with "rule-type": "selection"')
    result.errors, result.warnings = problems.errors, problems.warnings
    return result


def _load(doc: Any, problems: Problems) -> dict[str, Any] | None:
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except json.JSONDecodeError as exc:
            problems.error("(document)", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
                           f"allowed: {DOCUMENT_ALLOWED}")
            return None
    if not isinstance(doc, dict):
        problems.error("(document)", f"got {json_kind(doc)}; allowed: {DOCUMENT_ALLOWED}")
        return None
    return doc


def _rules(doc: dict[str, Any] | None, problems: Problems) -> list[Any] | None:
    if doc is None:
        return None
    for key in doc:
        if key != "rules":
            problems.warn(key, "is not a table-mapping key; it is ignored. Known keys: rules")
    rules = doc.get("rules")
    if rules is None:
        problems.error("rules", "is missing; allowed: an array of rules with at least one selection rule")
        return None
    if not isinstance(rules, list):
        problems.error("rules", f"got {show(rules)} ({json_kind(rules)}); allowed: an array of rules")
        return None
    return rules


def _read_rule(index: int, raw: Any, result: TableMappings, problems: Problems,
               seen_ids: dict[int, tuple[int, str]], seen_names: dict[str, int]) -> None:
    path = f"rules[{index}]"
    if not isinstance(raw, dict):
        problems.error(path, f"got {show(raw)} ({json_kind(raw)}); allowed: a rule object with rule-type, rule-id "
                       "and rule-name")
        return
    fields = Fields(raw, path, _ref(raw), problems)
    before = len(problems.errors)
    rule_type = _rule_type(fields)
    info = _info(fields, index, seen_ids, seen_names)
    if rule_type is None:
        return
    rule = _PARSERS[rule_type](fields, info)
    if rule is None or len(problems.errors) > before:
        return
    if rule_type == "selection":
        result.selections.append(rule)
    elif rule_type == "transformation":
        result.transformations.append(rule)
    else:
        result.table_settings.append(rule)


def _ref(raw: dict[str, Any]) -> RuleRef:
    rule_id, name = raw.get("rule-id"), raw.get("rule-name")
    return RuleRef(str(rule_id) if isinstance(rule_id, str | int) and not isinstance(rule_id, bool) else None,
                   str(name) if isinstance(name, str | int) and not isinstance(name, bool) else None)


def _rule_type(fields: Fields) -> str | None:
    if fields.raw("rule-type") == "validation":
        fields.warn("rule-type", "validation rules (override-validation-function) are not implemented; the rule is "
                    "ignored")
        return None
    return fields.choice("rule-type", RULE_TYPES, refused=REFUSED_RULE_TYPES)


def _info(fields: Fields, index: int, seen_ids: dict[int, tuple[int, str]], seen_names: dict[str, int]) \
        -> RuleInfo | None:
    id_allowed = 'a numeric string such as "1", unique in the document'
    rule_id = fields.text("rule-id", id_allowed)
    if rule_id is not None and not _RULE_ID.match(rule_id):
        fields.error("rule-id", f"got {show(rule_id)}; allowed: {id_allowed}")
        rule_id = None
    if rule_id is not None:
        number = int(rule_id)
        if number in seen_ids:
            other_index, other_id = seen_ids[number]
            same = "is already" if other_id == rule_id else f'has the same number as "{other_id}",'
            fields.error("rule-id", f"{show(rule_id)} {same} the rule-id of rules[{other_index}]; allowed: "
                         "a rule-id used once")
            rule_id = None
        else:
            seen_ids[number] = (index, rule_id)
    name = fields.text("rule-name", "a non-empty string, unique in the document")
    if name is not None:
        if name in seen_names:
            fields.error("rule-name", f"{show(name)} is already the rule-name of rules[{seen_names[name]}]; "
                         "allowed: a rule-name used once")
            name = None
        else:
            seen_names[name] = index
    if rule_id is None or name is None:
        return None
    return RuleInfo(index, rule_id, int(rule_id), name)
