"""table-settings rules: parallel load of one table in segments, and its LOB handling."""

from __future__ import annotations

from .mapping_reader import Fields
from .mapping_rules import LobRule, ParallelLoad, RuleInfo, TableSettingsRule
from .problems import json_kind, show
from .wildcards import has_percent

TABLE_SETTINGS_KEYS = ("rule-type", "rule-id", "rule-name", "object-locator", "parallel-load", "lob-settings")
EXACT_NAMES = "Exact schema and table name required when using table settings rule"
MAX_RANGE_COLUMNS = 10
PARALLEL_TYPES = ("ranges", "partitions-auto", "none")
REFUSED_PARALLEL = {
    "partitions-list": "this engine splits by key ranges or by every partition (partitions-auto), not by a list",
    "subpartitions-auto": "subpartitions are an Oracle feature",
}
MONGODB_KEYS = ("number-of-partitions", "collection-count-from-metadata", "max-records-skip-per-page", "batch-size")
PARALLEL_KEYS = ("type", "columns", "boundaries", "partitions", "subpartitions") + MONGODB_KEYS


def parse_table_settings(fields: Fields, info: RuleInfo | None) -> TableSettingsRule | None:
    fields.unknown_keys(TABLE_SETTINGS_KEYS, "a table-settings rule")
    locator = fields.child("object-locator", "an object with the exact schema-name and table-name")
    schema = table = None
    if locator is not None:
        locator.unknown_keys(("schema-name", "table-name"), "a table-settings object-locator")
        schema = _exact(locator, "schema-name")
        table = _exact(locator, "table-name")
    parallel = _parallel_load(fields)
    lob = _lob_settings(fields)
    if not fields.has("parallel-load") and not fields.has("lob-settings"):
        fields.warn("", "has neither parallel-load nor lob-settings; it changes nothing")
    if info is None or schema is None or table is None:
        return None
    return TableSettingsRule(info, schema, table, parallel, lob)


def _exact(locator: Fields, key: str) -> str | None:
    name = locator.text(key, f"the exact {key.split('-')[0]} name")
    if name is not None and has_percent(name):
        locator.error(key, f"{EXACT_NAMES}; got {show(name)}; allowed: the exact name, without %")
        return None
    return name


def _parallel_load(fields: Fields) -> ParallelLoad | None:
    spec = fields.child("parallel-load", '{"type": "ranges", "columns": [...], "boundaries": [[...], ...]}',
                        required=False)
    if spec is None:
        return None
    spec.unknown_keys(PARALLEL_KEYS, "parallel-load")
    kind = spec.choice("type", PARALLEL_TYPES, refused=REFUSED_PARALLEL)
    for key in MONGODB_KEYS:
        if spec.has(key):
            spec.warn(key, "applies to MongoDB and Amazon DocumentDB sources only; it is ignored")
    if kind != "ranges":
        for key in ("columns", "boundaries", "partitions", "subpartitions"):
            if spec.has(key) and kind is not None:
                spec.warn(key, f"is not used by parallel-load type {kind}; it is ignored")
        return ParallelLoad(kind) if kind is not None else None
    columns = _range_columns(spec)
    boundaries = _boundaries(spec, columns)
    if columns is None or boundaries is None:
        return None
    return ParallelLoad(kind, columns, boundaries)


def _range_columns(spec: Fields) -> tuple[str, ...] | None:
    allowed = f"an array of 1 to {MAX_RANGE_COLUMNS} source column names"
    columns = spec.array("columns", allowed)
    if columns is None:
        return None
    if len(columns) > MAX_RANGE_COLUMNS:
        spec.error("columns", f"got {len(columns)} columns; allowed: {allowed}")
        return None
    seen: list[str] = []
    for index, column in enumerate(columns):
        path = f"{spec.path_of('columns')}[{index}]"
        if not isinstance(column, str) or not column:
            spec.problems.error(path, f"got {show(column)}; allowed: a source column name", spec.rule)
        elif column in seen:
            spec.problems.error(path, f"{show(column)} is listed twice; allowed: each column once", spec.rule)
        else:
            seen.append(column)
    return tuple(seen) if len(seen) == len(columns) else None


def _boundaries(spec: Fields, columns: tuple[str, ...] | None) -> tuple[tuple[str, ...], ...] | None:
    rows = spec.array("boundaries", "a non-empty array of boundaries, each an array with one value per column")
    if rows is None:
        return None
    found = []
    ok = True
    for index, row in enumerate(rows):
        path = f"{spec.path_of('boundaries')}[{index}]"
        if not isinstance(row, list):
            spec.problems.error(path, f"got {show(row)} ({json_kind(row)}); allowed: an array with one value per "
                                "column", spec.rule)
            ok = False
            continue
        if columns is not None and len(row) != len(columns):
            plural = "value" if len(row) == 1 else "values"
            spec.problems.error(path, f"has {len(row)} {plural} for {len(columns)} columns; allowed: one value per "
                                f"column ({', '.join(columns)})", spec.rule)
            ok = False
            continue
        values = []
        for position, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                spec.problems.error(f"{path}[{position}]", f"got {show(value)} ({json_kind(value)}); allowed: a "
                                    "string such as \"1000\" or \"2024-01-01\"", spec.rule)
                ok = False
            else:
                values.append(value if isinstance(value, str) else show(value))
        found.append(tuple(values))
    return tuple(found) if ok else None


def _lob_settings(fields: Fields) -> LobRule | None:
    spec = fields.child("lob-settings", '{"mode": "limited" | "unlimited" | "none", "bulk-max-size": <KB>}',
                        required=False)
    if spec is None:
        return None
    spec.unknown_keys(("mode", "bulk-max-size"), "lob-settings")
    mode = spec.choice("mode", ("limited", "unlimited", "none"))
    size = spec.integer("bulk-max-size", "a size in KB: an integer of at least 0 (0 or absent with unlimited)",
                        low=0)
    if mode == "limited" and size == 0:
        spec.error("bulk-max-size", "got 0 in limited mode, which would cut every LOB to nothing; allowed: a size "
                   "in KB of at least 1")
        return None
    return LobRule(mode, size) if mode is not None else None
