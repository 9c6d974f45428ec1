"""Table-mapping documents (DMS JSON): selection, transformation, filters, table-settings.

The public face of the mapping modules:

    parse_table_mappings(doc) -> TableMappings      check a document, collect every problem
    build_plan(tables, mappings, settings, *, target, source_engine) -> Plan
                                                      plan the selected tables (dry-run JSON: Plan.to_json())

How the work is split: `mapping_document` reads the document (with `mapping_selection`,
`mapping_transformation`, `mapping_table_settings`), `planner` builds the plan (with
`plan_columns`, `plan_segments`, `plan_rules`), `wildcards` matches names, and
`expressions` parses and evaluates add-column expressions.
"""

from __future__ import annotations

from .mapping_document import parse_table_mappings
from .mapping_rules import SelectionRule, TableMappings, TableSettingsRule, TransformationRule
from .planner import Plan, build_plan
from .problems import Problem

__all__ = ["Plan", "Problem", "SelectionRule", "TableMappings", "TableSettingsRule", "TransformationRule",
           "build_plan", "parse_table_mappings"]
