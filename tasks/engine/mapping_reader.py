"""Reading the fields of one JSON object of a table-mapping rule, recording every problem.

JSON null counts as absent: the DMS console writes `"value": null, "old-value": null`
into every transformation rule it exports.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .problems import Problems, RuleRef, json_kind, one_of, show

_ABSENT = object()
_DIGITS = re.compile(r"^-?\d+$")


class Fields:
    def __init__(self, data: dict[str, Any], path: str, rule: RuleRef | None, problems: Problems):
        self.data = data
        self.path = path
        self.rule = rule
        self.problems = problems

    def path_of(self, key: str) -> str:
        return f"{self.path}.{key}"

    def error(self, key: str, message: str) -> None:
        self.problems.error(self.path_of(key) if key else self.path, message, self.rule)

    def warn(self, key: str, message: str) -> None:
        self.problems.warn(self.path_of(key) if key else self.path, message, self.rule)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str) -> Any:
        value = self.data.get(key)
        return _ABSENT if value is None else value

    # -- typed getters: None when missing or wrong (and the problem is recorded) --------------------
    def text(self, key: str, allowed: str, *, required: bool = True, allow_empty: bool = False) -> str | None:
        value = self.raw(key)
        if value is _ABSENT:
            if required:
                self.error(key, f"is missing; allowed: {allowed}")
            return None
        if not isinstance(value, str):
            self.error(key, f"got {show(value)} ({json_kind(value)}); allowed: {allowed}")
            return None
        if not value and not allow_empty:
            self.error(key, f'got ""; allowed: {allowed}')
            return None
        return value

    def choice(self, key: str, values: Sequence[str], *, required: bool = True, default: str | None = None,
               refused: dict[str, str] | None = None) -> str | None:
        """One of `values`; `refused` maps DMS values this engine does not support to the reason."""
        allowed = one_of(list(values))
        value = self.raw(key)
        if value is _ABSENT:
            if required:
                self.error(key, f"is missing; allowed: {allowed}")
            return default
        if refused and value in refused:
            self.error(key, f"{show(value)} is not supported: {refused[value]}; allowed: {allowed}")
            return None
        if not isinstance(value, str) or value not in values:
            kind = "" if isinstance(value, str) else f" ({json_kind(value)})"
            self.error(key, f"got {show(value)}{kind}; allowed: {allowed}")
            return None
        return value

    def integer(self, key: str, allowed: str, *, low: int | None = None) -> int | None:
        """An integer written as a JSON number or a string of digits (DMS examples use both)."""
        value = self.raw(key)
        if value is _ABSENT:
            return None
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _DIGITS.match(value.strip()):
            number = int(value)
        if number is None or (low is not None and number < low):
            kind = "" if isinstance(value, int | str) and not isinstance(value, bool) else f" ({json_kind(value)})"
            self.error(key, f"got {show(value)}{kind}; allowed: {allowed}")
            return None
        return number

    def child(self, key: str, allowed: str, *, required: bool = True) -> Fields | None:
        value = self.raw(key)
        if value is _ABSENT:
            if required:
                self.error(key, f"is missing; allowed: {allowed}")
            return None
        if not isinstance(value, dict):
            self.error(key, f"got {show(value)} ({json_kind(value)}); allowed: {allowed}")
            return None
        return Fields(value, self.path_of(key), self.rule, self.problems)

    def array(self, key: str, allowed: str, *, required: bool = True, non_empty: bool = True) -> list[Any] | None:
        value = self.raw(key)
        if value is _ABSENT:
            if required:
                self.error(key, f"is missing; allowed: {allowed}")
            return None
        if not isinstance(value, list):
            self.error(key, f"got {show(value)} ({json_kind(value)}); allowed: {allowed}")
            return None
        if non_empty and not value:
            self.error(key, f"got []; allowed: {allowed}")
            return None
        return value

    def item(self, key: str, index: int, value: Any, allowed: str) -> Fields | None:
        """Element `index` of array `key` as an object."""
        path = f"{self.path_of(key)}[{index}]"
        if not isinstance(value, dict):
            self.problems.error(path, f"got {show(value)} ({json_kind(value)}); allowed: {allowed}", self.rule)
            return None
        return Fields(value, path, self.rule, self.problems)

    # -- key checks -------------------------------------------------------------------------------
    def unknown_keys(self, allowed: Sequence[str], what: str) -> None:
        """Unknown keys are errors: a misspelt key ("filter") would silently change what a rule does."""
        for key in self.data:
            if key not in allowed:
                self.error(key, f"is not a key of {what}; allowed: {one_of(list(allowed))}")

    def unused_keys(self, keys: Sequence[str], action: str, used: Sequence[str]) -> None:
        """Keys that the action does not read: a warning when set (null is fine, the console writes it)."""
        for key in keys:
            if key not in used and self.has(key):
                self.warn(key, f"is not used by {action}; it is ignored")
