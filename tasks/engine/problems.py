"""Errors and warnings found in a user's documents (table mappings, task settings) and plans.

Every problem names where it is (a JSON path such as `rules[2].object-locator.table-name`
or `TargetMetadata.LobMaxSize`), the rule it belongs to when there is one, what is wrong
and what is allowed. Checks collect problems instead of raising, so a user sees every
mistake of a document at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RuleRef:
    """The rule a problem belongs to, as the user wrote it (either part may be missing)."""

    rule_id: str | None
    rule_name: str | None

    def __str__(self) -> str:
        rule_id = f'rule-id "{self.rule_id}"' if self.rule_id is not None else "rule-id missing"
        rule_name = f'rule-name "{self.rule_name}"' if self.rule_name is not None else "rule-name missing"
        return f"{rule_id}, {rule_name}"


@dataclass(frozen=True)
class Problem:
    path: str
    message: str  # what is wrong, then what is allowed
    rule: RuleRef | None = None

    def __str__(self) -> str:
        if self.rule is not None:
            return f"{self.path} ({self.rule}): {self.message}"
        if self.path:
            return f"{self.path}: {self.message}"
        return self.message

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "message": str(self)}
        if self.rule is not None:
            out["rule_id"] = self.rule.rule_id
            out["rule_name"] = self.rule.rule_name
        return out


@dataclass
class Problems:
    """A collector of errors and warnings."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def error(self, path: str, message: str, rule: RuleRef | None = None) -> None:
        self.errors.append(Problem(path, message, rule))

    def warn(self, path: str, message: str, rule: RuleRef | None = None) -> None:
        self.warnings.append(Problem(path, message, rule))

    def extend(self, other: Problems) -> None:
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)


def show(value: Any) -> str:
    """A value as the user wrote it in JSON, shortened for messages."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def json_kind(value: Any) -> str:
    """The JSON name of a value's type, for 'got a string' style messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def one_of(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(values)
