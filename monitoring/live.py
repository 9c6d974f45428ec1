"""What the live pages show of a task, as cells with stable ids, and the out-of-band fragments that update them.

One source for the page and its live update: the templates render these cells
(templates/monitoring/), and the push sends the same cells' contents as htmx
out-of-band swaps (`hx-swap-oob="innerHTML"`, so the element, its attributes and
anything around it stay). Ids:

  task-<pk>-status, task-<pk>-progress, task-<pk>-tables, task-<pk>-latency   a task (page and list)
  tablestat-<pk>-<column>                                                     one cell of Table statistics
  task-<pk>-tablestats-rows                                                   the rows' tbody (new rows append)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape as _escape  # plain str out: the push path formats many cells (django's escape is slower)
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from .models import TableState, TableStatistics


@dataclass(frozen=True)
class Column:
    key: str  # the id suffix: tablestat-<pk>-<key>
    label: str
    numeric: bool = False


# DMS's Table statistics columns (dms.md section 4.3), in the console's order.
STAT_COLUMNS = [
    Column("schema", "Schema name"),
    Column("table", "Table name"),
    Column("state", "Load state"),
    Column("elapsed", "Elapsed load time", numeric=True),
    Column("inserts", "Inserts", numeric=True),
    Column("deletes", "Deletes", numeric=True),
    Column("updates", "Updates", numeric=True),
    Column("ddls", "DDLs", numeric=True),
    Column("full-load-rows", "Full load rows", numeric=True),
    Column("total", "Total rows", numeric=True),
    Column("full-load-start", "Full load start time"),
    Column("full-load-end", "Full load end time"),
    Column("last-updated", "Last updated"),
    Column("validation-state", "Validation state"),
]
_KEYS = [column.key for column in STAT_COLUMNS]
STAT_FIELDS = ("id", "schema_name", "table_name", "table_state", "inserts", "deletes", "updates", "ddls",
               "full_load_rows", "full_load_start_time", "full_load_end_time", "last_update_time",
               "validation_state", "full_load_reloaded", "state_message")


def _time(value: datetime | None) -> str:
    return value.astimezone(timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def stat_values(row: dict[str, Any], now: datetime | None = None) -> list[str]:
    """One Table statistics row's cells as HTML, in STAT_COLUMNS order. Total rows = full-load rows and the
    row changes captured since (inserts, deletes, updates; DDLs change no rows)."""
    total = row["full_load_rows"] + row["inserts"] + row["deletes"] + row["updates"]
    state = _escape(row["table_state"])
    if row["full_load_reloaded"]:
        state += ' <span class="badge">reloaded</span>'
    if row["state_message"] and row["table_state"] == TableState.ERROR:
        state += f'<div class="small error">{_escape(row["state_message"])}</div>'
    elapsed = "—"
    if row["full_load_start_time"] is not None:
        end = row["full_load_end_time"] or now or timezone.now()
        elapsed = f"{max((end - row['full_load_start_time']).total_seconds(), 0.0):.1f} s"
    return [_escape(row["schema_name"]), _escape(row["table_name"]), state, elapsed, str(row["inserts"]),
            str(row["deletes"]), str(row["updates"]), str(row["ddls"]), str(row["full_load_rows"]), str(total),
            _time(row["full_load_start_time"]), _time(row["full_load_end_time"]), _time(row["last_update_time"]),
            _escape(row["validation_state"])]


@dataclass
class Cell:
    id: str
    html: str  # escaped
    numeric: bool


def stat_cells(row: dict[str, Any]) -> list[Cell]:
    return [Cell(f"tablestat-{row['id']}-{c.key}", mark_safe(html), c.numeric)  # noqa: S308 - escaped above
            for c, html in zip(STAT_COLUMNS, stat_values(row), strict=True)]


def stat_rows(task_pk: int, *, after: int = 0) -> list[dict[str, Any]]:
    """The task's Table statistics rows as dicts (`after`: only rows created after that pk), with cells."""
    rows = list(TableStatistics.objects.filter(task_id=task_pk, pk__gt=after).order_by("schema_name", "table_name")
                .values(*STAT_FIELDS))
    for row in rows:
        row["pk"] = row["id"]
        row["cells"] = stat_cells(row)
    return rows


def stat_raw(task_pk: int) -> dict[int, tuple]:
    """{row id: the row's values (STAT_FIELDS)} of the task's Table statistics."""
    return {row[0]: row for row in TableStatistics.objects.filter(task_id=task_pk).values_list(*STAT_FIELDS)}


def raw_cells(values: tuple, now: datetime | None = None) -> dict[str, str]:
    """{cell id: html} of one row's cells."""
    prefix = f"tablestat-{values[0]}-"
    htmls = stat_values(dict(zip(STAT_FIELDS, values, strict=True)), now)
    return {prefix + key: html for key, html in zip(_KEYS, htmls, strict=True)}


def is_loading(values: tuple) -> bool:
    """A loading table's elapsed load time changes without its row changing."""
    return values[STAT_FIELDS.index("full_load_start_time")] is not None and \
        values[STAT_FIELDS.index("full_load_end_time")] is None


def stat_cell_texts(task_pk: int) -> dict[str, str]:
    """{cell id: html} of every Table statistics cell of the task."""
    texts: dict[str, str] = {}
    now = timezone.now()
    for values in stat_raw(task_pk).values():
        texts.update(raw_cells(values, now))
    return texts


# -- a task's own cells ------------------------------------------------------------------------------------
TASK_FIELDS = ("id", "identifier", "status", "stop_reason", "migration_type", "full_load_finish_date",
               "full_load_progress_percent", "tables_loaded", "tables_loading", "tables_queued", "tables_errored",
               "latest_metrics")


def task_rows(pks: list[int] | None = None) -> list[Any]:
    from tasks.models import ReplicationTask

    tasks = ReplicationTask.objects.only(*TASK_FIELDS)
    return list(tasks.filter(pk__in=pks) if pks is not None else tasks)


def task_key(task: Any) -> tuple:
    """What the task's cells are rendered from: equal keys, equal cells."""
    return tuple(getattr(task, name) for name in TASK_FIELDS if name != "latest_metrics") + (latency_of(task),)


def task_cell_texts(task: Any) -> dict[str, str]:
    """{id: html} of the task's status, progress, table counters and CDC latency (the task page and the
    tasks list show them; templates/monitoring/_task_cells.html renders the same partials)."""
    context = {"task": task, "latency": latency_of(task)}
    return {f"task-{task.pk}-{name}": render_to_string(f"monitoring/_task_cells.html#{name}", context).strip()
            for name in ("status", "progress", "tables", "latency")}


def latency_of(task: Any) -> float | None:
    """The task's total CDC lag in seconds (CDCLatencyTarget; DMS: total lag is about the target latency)."""
    value = (task.latest_metrics or {}).get("CDCLatencyTarget")
    if value is None or task.migration_type == "full-load":
        return None
    return float(value)


# -- out-of-band fragments ---------------------------------------------------------------------------------
def oob(cells: dict[str, str]) -> str:
    """Swap each element's content in place (its attributes, and a checkbox beside it, stay)."""
    return "".join(f'<div id="{cell_id}" hx-swap-oob="innerHTML">{html}</div>' for cell_id, html in cells.items())


def appended_rows(task_pk: int, rows: list[dict[str, Any]], *, selectable: bool) -> str:
    """New Table statistics rows appended to the table (a row already there, after a reconnect, is replaced)."""
    if not rows:
        return ""
    removed = "".join(f'<tr id="tablestat-{row["pk"]}" hx-swap-oob="delete"></tr>' for row in rows)
    body = "".join(render_to_string("monitoring/_table_statistics.html#stat-row",
                                    {"row": row, "selectable": selectable}) for row in rows)
    return (removed + f'<tr id="task-{task_pk}-tablestats-empty" hx-swap-oob="delete"></tr>'
            f'<tbody id="task-{task_pk}-tablestats-rows" hx-swap-oob="beforeend">{body}</tbody>')


def removed_rows(pks: list[int]) -> str:
    return "".join(f'<tr id="tablestat-{pk}" hx-swap-oob="delete"></tr>' for pk in pks)
