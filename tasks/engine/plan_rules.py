"""What the planner shares while it shapes tables: the rules, the settings, the target,
the problems found, and which rules matched something. Also DMS's precedence rule
(the lower rule-id wins for one object) and the name-changing actions.

Precedence is applied per property of an object: its name (rename, case, prefix,
suffix), whether a column is kept (remove-column / include-column), its type
(change-data-type) and a table's key (define-primary-key). Rules that set different
properties of the same object all apply; of the rules setting the same property only
the lowest rule-id does, and every other one is reported, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .mapping_rules import TableMappings, TransformationRule
from .problems import Problems
from .settings_types import TaskSettings

NAME_ACTIONS = frozenset({"rename", "convert-lowercase", "convert-uppercase", "add-prefix", "remove-prefix",
                          "replace-prefix", "add-suffix", "remove-suffix", "replace-suffix"})
MEMBERSHIP_ACTIONS = frozenset({"remove-column", "include-column"})


@dataclass
class PlanContext:
    mappings: TableMappings
    settings: TaskSettings
    target: Any  # the target Engine: target_type(), default_schema()
    source_engine: str
    problems: Problems = field(default_factory=Problems)
    used: set[int] = field(default_factory=set)  # rule numbers that matched at least one object
    touched: set[int] = field(default_factory=set)  # rule numbers that matched the table being planned

    def mark(self, number: int) -> None:
        self.used.add(number)
        self.touched.add(number)

    def rules(self, target: str, actions: frozenset[str]) -> list[TransformationRule]:
        return [r for r in self.mappings.transformations if r.target == target and r.action in actions]


def winner(rules: list[TransformationRule], what: str, context: PlanContext) -> TransformationRule | None:
    """The lowest rule-id among `rules`, which all match the object `what`; the others are reported."""
    if not rules:
        return None
    ordered = sorted(rules, key=lambda r: r.info.number)
    first = ordered[0]
    for rule in ordered:
        context.mark(rule.info.number)
    for loser in ordered[1:]:
        context.problems.warn(loser.info.path, f"also matches {what}, where rule-id \"{first.info.rule_id}\" "
                              f"({first.action}) has the lower rule-id and wins; {loser.action} is not applied there",
                              loser.info.ref)
    return first


def transform_name(rule: TransformationRule, name: str) -> str:
    """A name after one of the name actions (rename, case, prefix, suffix)."""
    action, value, old = rule.action, rule.value or "", rule.old_value or ""
    if action == "rename":
        return value
    if action == "convert-lowercase":
        return name.lower()
    if action == "convert-uppercase":
        return name.upper()
    if action == "add-prefix":
        return value + name
    if action == "add-suffix":
        return name + value
    if action == "remove-prefix":
        return name[len(value):] if name.startswith(value) else name
    if action == "remove-suffix":
        return name[:-len(value)] if value and name.endswith(value) else name
    if action == "replace-prefix":
        return value + name[len(old):] if name.startswith(old) else name
    if action == "replace-suffix":
        return name[:-len(old)] + value if old and name.endswith(old) else name
    raise ValueError(f"{action} is not a name action")


def renamed(rule: TransformationRule | None, name: str, what: str, context: PlanContext) -> str:
    """`name` after the winning name rule, refusing a rule that would leave no name at all."""
    if rule is None:
        return name
    new = transform_name(rule, name)
    if not new:
        context.problems.error(rule.info.path, f"{rule.action} leaves {what} with an empty name; allowed: a rule "
                               "that leaves at least one character", rule.info.ref)
        return name
    return new
