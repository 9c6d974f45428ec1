"""A task's plan from live endpoints: read the source catalog, then apply the documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from endpoints.engines.base import Engine

from .mapping_document import parse_table_mappings
from .mapping_rules import TableMappings
from .planner import Plan, build_plan
from .problems import Problem
from .settings import SettingsResult


class PlanError(Exception):
    """A document or the plan is invalid: nothing may run. Carries every problem found."""

    def __init__(self, problems: Sequence[Problem | str]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def build_task_plan(source: Engine, target: Engine, mappings: str | dict, settings: SettingsResult) -> Plan:
    """Read only the schemas the selection rules can match, then build the plan."""
    parsed = parse_table_mappings(mappings)
    if parsed.errors:
        return Plan(errors=list(parsed.errors), warnings=list(parsed.warnings))
    tables = source.list_tables(_schemas(parsed))
    return build_plan(tables, parsed, settings, target=target, source_engine=source.name)


def _schemas(mappings: TableMappings) -> list[str] | None:
    """The schema names to introspect, or None (all) when an include rule uses a wildcard."""
    names: list[str] = []
    for rule in mappings.selections:
        if rule.action == "exclude":
            continue
        if not rule.schema.literal:
            return None
        names.append(rule.schema.text)
    return sorted(set(names)) or None


__all__: list[Any] = ["PlanError", "build_task_plan", "Plan"]
