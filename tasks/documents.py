"""Checking a task before it is saved: endpoint roles, the two DMS documents, CDC positions.

The documents are checked by the engine itself (tasks.engine), so the console refuses
exactly what a run would refuse, with the same per-rule messages. The task-settings
document is stored enriched with DMS's defaults, as DMS echoes it back.
"""

from __future__ import annotations

from typing import Any

from tasks.engine.mapping_document import parse_table_mappings
from tasks.engine.settings import parse_task_settings
from tasks.engine.stop_position import parse_stop_position


def check_task(task: Any) -> dict[str, list[str]]:
    """Every problem of `task`, by field; enriches `task.task_settings` in place when it is valid."""
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    _check_endpoints(task, add)
    mappings = parse_table_mappings(task.table_mappings or "")
    for problem in mappings.errors:
        add("table_mappings", str(problem))
    settings = parse_task_settings(task.task_settings or None)
    for problem in settings.errors:
        add("task_settings", str(problem))
    if settings.ok:
        task.task_settings = settings.to_json_text()
    _check_cdc_points(task, add)
    return problems


def _check_endpoints(task: Any, add) -> None:
    source = task.source if task.source_id else None
    target = task.target if task.target_id else None
    if source is not None and source.endpoint_type != "source":
        add("source", f"Endpoint {source.identifier} is a target endpoint: choose a source endpoint as the source.")
    if target is not None and target.endpoint_type != "target":
        add("target", f"Endpoint {target.identifier} is a source endpoint: choose a target endpoint as the target.")
    if source is not None and target is not None and source.pk == target.pk:
        add("target", "The source and the target must be different endpoints.")


def _check_cdc_points(task: Any, add) -> None:
    with_cdc = task.migration_type in ("cdc", "full-load-and-cdc")
    if task.cdc_start_position and task.cdc_start_time:
        add("cdc_start_position", "Give either a CDC start time or a CDC start position, not both.")
    if (task.cdc_start_position or task.cdc_start_time) and not with_cdc:
        add("cdc_start_position", "A CDC start point applies only to tasks that replicate ongoing changes "
                                  "(cdc or full-load-and-cdc).")
    if task.cdc_start_time and task.source_id and task.source.engine == "postgres":
        add("cdc_start_time", "A CDC start time is not supported for PostgreSQL sources (PostgreSQL cannot map a "
                              "time to a log position): give a native start position (an LSN) instead.")
    if task.cdc_stop_position:
        if not with_cdc:
            add("cdc_stop_position", "A CDC stop position applies only to tasks that replicate ongoing changes.")
        try:
            parse_stop_position(task.cdc_stop_position)
        except ValueError as exc:
            add("cdc_stop_position", str(exc))
