"""MS-CDC set-up: is CDC enabled for the database and each table, the statements that enable it,
capture instances as cdc.change_tables describes them, and the ranges to read from each.

A table has at most two capture instances: after an ALTER TABLE the DBA creates a second
one with the new columns, and the reader switches to it at its first LSN. Everything here
is pure, fed with rows shaped as sql/cdc_*.sql return them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from ..catalog import SourceTable
from ..errors import EngineError, ErrorKind
from .lsn import ZERO, Lsn
from .sqltext import literal


@dataclass(frozen=True)
class CaptureInstance:
    name: str
    schema: str
    table: str
    min_lsn: Lsn  # low end of the validity interval
    columns: tuple[str, ...]  # captured columns, in ordinal order (the change rows' order)
    computed: frozenset[str] = frozenset()  # captured computed columns: always NULL in change rows
    create_date: datetime | None = None
    supports_net_changes: bool = False


def build_instances(rows: Iterable[Mapping[str, Any]]) -> list[CaptureInstance]:
    """Capture instances from sql/cdc_capture_instances.sql rows (one row per captured column)."""
    ordered = sorted(rows, key=lambda r: (r["capture_instance"], r["column_ordinal"]))
    instances = []
    for name, members in groupby(ordered, key=lambda r: r["capture_instance"]):
        members = list(members)
        first = members[0]
        raw_lsn = first["min_lsn"]
        instances.append(CaptureInstance(
            name=name,
            schema=first["schema_name"],
            table=first["table_name"],
            min_lsn=Lsn.from_bytes(bytes(raw_lsn)) if raw_lsn else ZERO,
            columns=tuple(m["column_name"] for m in members),
            computed=frozenset(m["column_name"] for m in members if m["is_computed"]),
            create_date=first["create_date"],
            supports_net_changes=bool(first["supports_net_changes"]),
        ))
    return instances


def by_table(instances: Iterable[CaptureInstance]) -> dict[tuple[str, str], list[CaptureInstance]]:
    """(schema, table) -> its capture instances, oldest first."""
    result: dict[tuple[str, str], list[CaptureInstance]] = {}
    for instance in instances:
        result.setdefault((instance.schema, instance.table), []).append(instance)
    for group in result.values():
        group.sort(key=lambda i: (i.min_lsn, i.create_date or datetime.min))
    return result


# ---- enabling ------------------------------------------------------------------------------------

def enable_database_statement() -> str:
    return "EXEC sys.sp_cdc_enable_db;"


def enable_table_statement(table: SourceTable, capture_instance: str | None = None) -> str:
    """sys.sp_cdc_enable_table for one table; net changes need a primary key (DMS's advice)."""
    parts = [f"@source_schema = {literal(table.schema)}", f"@source_name = {literal(table.name)}",
             "@role_name = NULL", f"@supports_net_changes = {1 if table.primary_key else 0}"]
    if capture_instance:
        parts.append(f"@capture_instance = {literal(capture_instance)}")
    return "EXEC sys.sp_cdc_enable_table " + ", ".join(parts) + ";"


def missing_statements(database_enabled: bool, tables: Sequence[SourceTable],
                       instances: Iterable[CaptureInstance]) -> list[str]:
    """The statements that would enable MS-CDC where it is missing (empty: all set)."""
    captured = {(i.schema, i.table) for i in instances}
    statements = [] if database_enabled else [enable_database_statement()]
    statements += [enable_table_statement(t) for t in tables if (t.schema, t.name) not in captured]
    return statements


def require_cdc(database: str, database_enabled: bool, tables: Sequence[SourceTable],
                instances: Iterable[CaptureInstance]) -> None:
    """Raise a CONFIGURATION error printing the exact statements to run when CDC is missing."""
    statements = missing_statements(database_enabled, tables, instances)
    if not statements:
        return
    missing_tables = len(statements) - (0 if database_enabled else 1)
    what = [] if database_enabled else [f"database {database!r}"]
    if missing_tables:
        what.append(f"{missing_tables} selected table{'s' if missing_tables > 1 else ''}")
    advice = (f"MS-CDC is not enabled for {' and '.join(what)}. In database {database!r}, run as sysadmin "
              "(db_owner is enough for the tables):\n" + "\n".join(statements))
    if not database_enabled:
        advice += f"\nOn Amazon RDS, enable the database with EXEC msdb.dbo.rds_cdc_enable_db {literal(database)};"
    advice += "\nOr set the extra connection attribute setUpMsCdcForTables=Y to let the task run them."
    raise EngineError(advice, kind=ErrorKind.CONFIGURATION)


# ---- capture instance changes (ALTER TABLE) ------------------------------------------------------

def capture_changes(table: SourceTable, instances: Sequence[CaptureInstance]) -> list[str]:
    """What a DBA should know about the table's capture instances, worded with the statements to run."""
    if not instances:
        return []
    notes = []
    newest = instances[-1]
    name = f"{table.schema}.{table.name}"
    if len(instances) > 1:
        oldest = instances[0]
        notes.append(f"Table {name} has two capture instances: changes are read from {oldest.name} until LSN "
                     f"{newest.min_lsn}, then from {newest.name}. Once the task has passed that LSN, drop the old "
                     f"one: EXEC sys.sp_cdc_disable_table @source_schema = {literal(table.schema)}, "
                     f"@source_name = {literal(table.name)}, @capture_instance = {literal(oldest.name)};")
    current = [c.name for c in table.columns]
    dropped = [c for c in newest.columns if c not in current]
    added = uncaptured_note(table, newest)
    if added:
        notes.append(added)
    if dropped:
        notes.append(f"Column{'s' if len(dropped) > 1 else ''} {', '.join(dropped)} captured by {newest.name} "
                     f"{'are' if len(dropped) > 1 else 'is'} no longer in table {name}: the change rows hold NULL "
                     "for them.")
    return notes


def uncaptured_note(table: SourceTable, newest: CaptureInstance) -> str | None:
    """The note on the table's columns its newest capture instance does not capture, if any."""
    added = [c.name for c in table.columns if c.name not in newest.columns]
    if not added:
        return None
    name = f"{table.schema}.{table.name}"
    statement = enable_table_statement(table, capture_instance=f"{table.schema}_{table.name}_v2")
    return (f"Column{'s' if len(added) > 1 else ''} {', '.join(added)} of table {name} "
            f"{'are' if len(added) > 1 else 'is'} not captured by capture instance {newest.name} (added "
            "after it was created): changes to them are not replicated. Create a new capture instance "
            f"(the task switches to it by itself): {statement}")


def require_captured_columns(tables: Sequence[SourceTable],
                             grouped: Mapping[tuple[str, str], Sequence[CaptureInstance]]) -> None:
    """Raise CONFIGURATION when a table has columns its newest capture instance misses: the stream would
    replicate the rows without them, and the target would silently drift."""
    notes = [note for t in tables if (instances := grouped.get((t.schema, t.name)))
             and (note := uncaptured_note(t, instances[-1])) is not None]
    if notes:
        raise EngineError("\n".join(notes), kind=ErrorKind.CONFIGURATION)


@dataclass(frozen=True)
class ReadRange:
    """Read `instance` from `start` to `end` (both included). `late` is True when the instance's
    validity interval starts after the requested position: changes before it are not available."""

    instance: CaptureInstance
    start: Lsn
    end: Lsn
    late: bool = False


def plan_reads(instances: Sequence[CaptureInstance], start: Lsn, end: Lsn) -> list[ReadRange]:
    """Which capture instance of one table to read for [start, end]: each instance until the next
    one's first LSN, the newest from then on."""
    ranges = []
    ordered = sorted(instances, key=lambda i: i.min_lsn)
    for index, instance in enumerate(ordered):
        low = max(start, instance.min_lsn)
        high = end if index == len(ordered) - 1 else min(end, ordered[index + 1].min_lsn.decrement())
        if low <= high:
            ranges.append(ReadRange(instance, low, high, late=index == 0 and instance.min_lsn > start))
    return ranges
