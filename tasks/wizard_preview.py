"""The Table mappings step's live preview (beyond DMS): the engine's dry run against the source catalog.

The same planner the runner uses (tasks.engine.planning.build_task_plan) reads the
source's tables (cached, see tasks.source_catalog) and applies the draft's documents:
which tables the rules select, the target schema.table each becomes, every column with
its source, intermediate and target type, and the columns that cannot be carried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from endpoints.engines import get_engine
from endpoints.engines.errors import EngineError
from tasks.engine.mapping_document import parse_table_mappings
from tasks.engine.planning import build_task_plan
from tasks.engine.problems import Problem
from tasks.engine.settings import parse_task_settings

from .source_catalog import CachedSource, CatalogUnavailable


@dataclass
class ColumnRow:
    name: str
    source: str | None
    source_type: str | None
    intermediate_type: str
    target_type: str
    key: bool
    renamed: bool
    added: bool
    converted_from: str | None


@dataclass
class TableRow:
    source: str
    target: str
    renamed: bool
    estimated_rows: int
    columns: list[ColumnRow]
    left_out: list[str]  # source columns the rules leave out (remove-column, include-column)
    unsupported: list[dict[str, str]]
    rules: list[str]
    kind: str


@dataclass
class Preview:
    tables: list[TableRow] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    catalog_error: str = ""  # the source could not be read: no preview, the documents alone were checked
    listed: int = 0  # source tables and views in the schemas the selection rules name
    ready: bool = False  # False: nothing to show yet (no source chosen)

    @property
    def not_selected(self) -> int:
        return max(self.listed - len(self.tables), 0)


def build_preview(source_endpoint: Any, target_endpoint: Any, mappings: str, settings: str) -> Preview:
    """The dry run for the draft's documents. Mapping-document problems come back without reading the
    source; a source that cannot be read leaves `catalog_error` set."""
    parsed = parse_table_mappings(mappings or "")
    if parsed.errors:
        return Preview(errors=list(parsed.errors), warnings=list(parsed.warnings), ready=True)
    if source_endpoint is None or target_endpoint is None:
        return Preview(warnings=list(parsed.warnings))
    source = CachedSource(source_endpoint)
    try:
        target = get_engine(target_endpoint.engine)(target_endpoint.connection_info())
        plan = build_task_plan(source, target, mappings, parse_task_settings(settings or None))
    except CatalogUnavailable as exc:
        return Preview(warnings=list(parsed.warnings), catalog_error=str(exc), ready=True)
    except EngineError as exc:
        return Preview(warnings=list(parsed.warnings), catalog_error=f"The preview failed: {exc}", ready=True)
    in_schemas = [t for t in source.read if any(rule.schema.matches(t.schema) for rule in parsed.selections)]
    return Preview(tables=[_table_row(t.to_json(), t) for t in plan.tables], errors=list(plan.errors),
                   warnings=list(plan.warnings), listed=len(in_schemas), ready=True)


def _table_row(shown: dict[str, Any], table: Any) -> TableRow:
    source, target = shown["source"], shown["target"]
    key = set(table.key)
    columns = [
        ColumnRow(name=c.name, source=c.source, source_type=c.source_type, intermediate_type=str(c.dms_type),
                  target_type=c.target_type, key=c.name in key, renamed=bool(c.source) and c.source != c.name,
                  added=c.added, converted_from=str(c.source_dms_type) if c.converts else None)
        for c in table.columns
    ]
    fed = {c.source for c in table.columns if c.source}
    unsupported = {u.column for u in table.unsupported}
    left_out = [c.name for c in table.source.columns if c.name not in fed and c.name not in unsupported]
    return TableRow(
        source=f"{source['schema']}.{source['table']}", target=f"{target['schema']}.{target['table']}",
        renamed=(source["schema"], source["table"]) != (target["schema"], target["table"]),
        estimated_rows=source.get("estimated_rows") or 0, columns=columns, left_out=left_out,
        unsupported=shown["unsupported_columns"], rules=list(table.rule_ids), kind=table.source.kind)
