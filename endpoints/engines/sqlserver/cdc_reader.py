"""One read of the MS-CDC change tables for a task, through one cursor.

Per poll: the bounds (sys.fn_cdc_get_max_lsn and the server's UTC offset), the capture
instances of the task's tables, the LSN range to read from each (cdc_setup.plan_reads), the
change rows page by page, the ALTER TABLE statements of cdc.ddl_history, and commit times;
cdc_changes merges and groups them into Transactions. Every result is fetched whole before
the next statement runs, so one connection serves every capture instance (no MARS needed),
and memory holds at most a page per capture instance.

Commit times come from cdc.lsn_time_mapping.tran_end_time, the value sys.fn_cdc_map_lsn_to_time
returns, read a page of commits at a time instead of one function call per transaction. They
are the server's local time: the reader subtracts the server's current UTC offset
(DATEPART(TZOFFSET, SYSDATETIMEOFFSET()), read at each poll). Commits from before a daylight
saving change are therefore off by the change until the change tables no longer hold them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..base import Transaction
from ..catalog import SourceTable
from ..errors import EngineError, ErrorKind
from .catalog import fetch_dicts
from .cdc_changes import (
    DDL_STREAM,
    Commit,
    change_page_query,
    commits_from_rows,
    ddl_row,
    first_page_after,
    merge_rows,
    transactions,
)
from .cdc_setup import CaptureInstance, ReadRange, build_instances, by_table, enable_table_statement, plan_reads
from .lsn import ZERO, Lsn
from .sqlfiles import sql

# Rows per page of one capture instance. A page per instance is the reader's memory bound; 2000 rows
# keep round trips few for busy tables without holding much of a LOB-heavy table (not measured: no
# server here).
PAGE_ROWS = 2000
COMMIT_PAGE_ROWS = 1000  # cdc.lsn_time_mapping rows per read: small fixed-width rows


@dataclass(frozen=True)
class Bounds:
    """What one poll may read: changes up to `end` (None: the capture job has not run yet)."""

    end: Lsn | None
    utc_offset: timedelta  # server local time minus UTC


class CommitTimes:
    """Commit LSN -> Commit with its time in UTC, read a page of cdc.lsn_time_mapping at a time.

    Transactions are looked up in commit order, so each page starts at the LSN asked for."""

    def __init__(self, cursor: Any, end: Lsn, utc_offset: timedelta, page_rows: int = COMMIT_PAGE_ROWS):
        self.cursor = cursor
        self.end = end.to_bytes()
        self.utc_offset = utc_offset
        self.page_rows = page_rows
        self.cache: dict[bytes, Commit] = {}
        self.covered: tuple[bytes, bytes] | None = None  # the LSN range the cache holds every commit of

    def __call__(self, lsn: bytes) -> Commit | None:
        found = self.cache.get(lsn)
        if found is not None or (self.covered and self.covered[0] <= lsn <= self.covered[1]):
            return found
        rows = fetch_dicts(self.cursor, sql("cdc_commit_page"), (self.page_rows, lsn, self.end))
        found_rows = commits_from_rows(rows)
        self.cache = {key: Commit(c.end_time - self.utc_offset, c.tran_id) for key, c in found_rows.items()}
        high = max(self.cache) if len(rows) >= self.page_rows else self.end
        self.covered = (lsn, high)
        return self.cache.get(lsn)


class ChangeReader:
    """Reads the task's tables from the change tables. `opened_at` is the position the stream was opened
    at: a capture instance that starts after it is accepted on the first read only when it was created
    after that position (nothing was lost: the table was not captured before); later, a capture instance
    starting after the position asked for means the cleanup job removed changes the task still needed."""

    def __init__(self, cursor: Any, tables: Sequence[SourceTable], opened_at: Lsn, *, trim_char: bool = True,
                 page_rows: int = PAGE_ROWS):
        self.cursor = cursor
        self.tables = {(t.schema, t.name): t for t in tables}
        self.opened_at = opened_at
        self.trim_char = trim_char
        self.page_rows = page_rows
        self.accepted: dict[str, Lsn] | None = None  # late capture instances accepted on the first read
        self._queries: dict[tuple[str, tuple[str, ...]], str] = {}
        self._opened_time: tuple[datetime | None] | None = None  # fn_cdc_map_lsn_to_time(opened_at), once

    def bounds(self) -> Bounds:
        raw, offset = self.cursor.execute(sql("cdc_poll")).fetchone()
        return Bounds(Lsn.from_bytes(bytes(raw)) if raw else None, timedelta(minutes=int(offset or 0)))

    def instances(self) -> dict[str, CaptureInstance]:
        """The capture instances of the task's tables, by name."""
        rows = fetch_dicts(self.cursor, sql("cdc_capture_instances"))
        return {i.name: i for i in build_instances(rows) if (i.schema, i.table) in self.tables}

    def transactions(self, start: Lsn, bounds: Bounds) -> Iterator[Transaction]:
        """Committed transactions with commit LSN in [start, bounds.end], in commit order. The capture
        instances, ranges and DDL are read now; change rows page by page as the result is iterated."""
        assert bounds.end is not None
        instances = self.instances()
        ranges = self._ranges(instances, start, bounds.end)
        streams: dict[str, Any] = {r.instance.name: self._pages(r) for r in ranges}
        streams[DDL_STREAM] = self._ddl_rows(start, bounds.end, bounds.utc_offset)
        commits = CommitTimes(self.cursor, bounds.end, bounds.utc_offset)
        return transactions(merge_rows(streams), instances, self.tables, commits)

    # -- which capture instance, from where ---------------------------------------------------------
    def _ranges(self, instances: Mapping[str, CaptureInstance], start: Lsn, end: Lsn) -> list[ReadRange]:
        grouped = by_table(instances.values())
        first = self.accepted is None
        accepted: dict[str, Lsn] = {} if first else dict(self.accepted or {})
        ranges = []
        for key, table in self.tables.items():
            mine = grouped.get(key)
            if not mine:
                raise EngineError(f"Table {table.qualified} has no MS-CDC capture instance any more: CDC was disabled "
                                  "on it while the task ran (sys.sp_cdc_disable_table). Enable it again, then reload "
                                  f"the table: {enable_table_statement(table)}", kind=ErrorKind.CONFIGURATION)
            for read in plan_reads(mine, start, end):
                if read.late and not self._late_is_fine(read, first, accepted):
                    raise EngineError(
                        f"Changes to table {table.qualified} from LSN {start} on are no longer all in capture "
                        f"instance {read.instance.name}: it holds changes from LSN {read.instance.min_lsn} on. The "
                        "MS-CDC cleanup job removed older ones after its retention, or the capture instance was "
                        "dropped and created again. Reload the table, and raise the retention: EXEC "
                        "sys.sp_cdc_change_job @job_type = N'cleanup', @retention = <minutes>;",
                        kind=ErrorKind.CONFIGURATION)
                ranges.append(read)
        self.accepted = accepted
        return ranges

    def _late_is_fine(self, read: ReadRange, first: bool, accepted: dict[str, Lsn]) -> bool:
        instance = read.instance
        if accepted.get(instance.name) == instance.min_lsn:
            return True  # accepted on the first read and not cleaned up since
        if not first:
            return False
        if self.opened_at == ZERO:
            fine = True  # the stream starts at the beginning of what MS-CDC holds
        else:
            if self._opened_time is None:
                self._opened_time = (self._commit_time(self.opened_at),)
            opened = self._opened_time[0]
            fine = instance.create_date is not None and opened is not None and instance.create_date > opened
        if fine:
            accepted[instance.name] = instance.min_lsn
        return fine

    def _commit_time(self, lsn: Lsn) -> datetime | None:
        """sys.fn_cdc_map_lsn_to_time: server local time, compared with cdc.change_tables.create_date (local too)."""
        row = self.cursor.execute(sql("cdc_lsn_to_time"), lsn.to_bytes()).fetchone()
        return row[0] if row else None

    # -- rows -----------------------------------------------------------------------------------------
    def _page_query(self, instance: CaptureInstance) -> str:
        key = (instance.name, instance.columns)  # a name dropped and created again may capture others
        if key not in self._queries:
            table = self.tables.get((instance.schema, instance.table))
            self._queries[key] = change_page_query(instance, table, trim_char=self.trim_char)
        return self._queries[key]

    def _pages(self, read: ReadRange) -> Iterator[tuple]:
        """The range's change rows, one page in memory at a time."""
        query = self._page_query(read.instance)
        after = first_page_after(read.start)
        low, high = read.start.to_bytes(), read.end.to_bytes()
        while True:
            rows = self.cursor.execute(query, self.page_rows, low, high, after[0], after[0], after[1], after[1],
                                       after[2]).fetchall()
            for row in rows:
                yield tuple(row)
            if len(rows) < self.page_rows:
                return
            last = rows[-1]
            after = (bytes(last[0]), bytes(last[1]), int(last[2]))
            low = after[0]  # the function's range starts at the last commit read: an index seek

    def _ddl_rows(self, start: Lsn, end: Lsn, utc_offset: timedelta) -> list[tuple]:
        """The task's tables' ALTER TABLE statements in the range, once each (ddl_history has one row per
        capture instance), as DDL_STREAM rows with their time in UTC."""
        rows = fetch_dicts(self.cursor, sql("cdc_ddl_history"), (start.to_bytes(), end.to_bytes()))
        seen: set[tuple] = set()
        result = []
        for row in rows:
            key = (row["schema_name"], row["table_name"])
            lsn = bytes(row["ddl_lsn"])
            if key not in self.tables or (key, lsn, row["ddl_command"]) in seen:
                continue
            seen.add((key, lsn, row["ddl_command"]))
            result.append(ddl_row(lsn, key[0], key[1], row["ddl_command"], row["ddl_time"] - utc_offset))
        return result
