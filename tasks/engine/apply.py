"""Applying captured transactions to the target: the applier side of CDC.

Reads the spool in order. A change for a table that is not loaded yet goes to
that table's cache; a change for a replicating table is applied unless the
target already has it (its position is at or before the table's snapshot or
applied position, or the task's checkpoint). Several small source transactions
share one target transaction; a source transaction is never split over two.
Every target commit carries the checkpoint and the per-table states in the same
transaction (Applier.save_state); only then is the source acknowledged.

When the target is unreachable the group is rolled back, the spool is rewound
to the group's start and the same records are applied again after a backoff:
the capture keeps filling the spool meanwhile, and the source is not re-read.
"""

from __future__ import annotations

import functools
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from endpoints.engines import get_engine
from endpoints.engines.base import (
    Applier,
    Op,
    Relation,
    RowChange,
    StreamEvent,
    StreamKind,
    TableSyncState,
    Transaction,
    seconds_since,
)
from endpoints.engines.catalog import SourceTable
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError
from endpoints.engines.plan import TablePlan

from .apply_writer import ErrorPolicies, GroupWriter, Item, RetryCarefully, Run, runs
from .capture import Solo
from .netting import net_runs
from .reporting import Component, Reporter, Severity, TableCounts, TableKey, TableState
from .routing import Route, RouteStatus
from .spool import Marker, Spool
from .streamed import Deferred, Replay, Unspeculate, only_row_changes

PositionKey = Callable[[str], tuple]

# What the group does with a StreamEvent (compared by identity).
_AHEAD, _AHEAD_END, _KEPT, _REPLAY, _COMMIT_FIRST = "ahead", "ahead-end", "kept", "replay", "commit-first"

# What _take does with a relation's changes (compared by identity).
_SKIP, _CACHE, _SUSPENDED, _APPLY = "skip", "cache", "suspended", "apply"

# Changes written to the target at a time (the group's transaction stays open between writes), so a
# huge transaction or window never sits whole in memory. Batch apply nets what it holds, so it holds
# more: 50,000 changes are ~25 MB.
WRITE_ITEMS = 1000  # small enough that the writer thread works on one chunk while the next is prepared
BATCH_WRITE_ITEMS = 50_000
# ...but batch apply hands over a smaller chunk when the writer has nothing to do: the target then
# works while the window fills instead of all at its end (the last chunk is what a drain waits for).
BATCH_EAGER_ITEMS = 5000
# Batch apply gathers a window for at least BatchApplyTimeoutMin and applies it when nothing more is
# ready. While a backlog drains (the last transaction committed at the source more than
# BatchApplyTimeoutMin ago) a window instead stays open until the stream pauses this long (or
# BatchApplyTimeoutMax): a draining stream stops short now and then, and closing the window in such a
# gap costs one more commit. The pause is also what the end of every drain waits before its last commit:
# 0.1 s was 7% of bench/cdc.py's (a) drain with batch apply.
BACKLOG_PAUSE = 0.02


@dataclass(frozen=True)
class ApplyOptions:
    policies: ErrorPolicies = field(default_factory=ErrorPolicies)
    min_transaction_size: int = 1000  # MinTransactionSize: changes gathered before a commit when backlogged
    commit_timeout: float = 1.0  # CommitTimeout: longest a group stays open while backlogged
    handle_truncate: bool = True  # ChangeProcessingDdlHandlingPolicy.HandleSourceTableTruncated
    handle_altered: bool = True  # ChangeProcessingDdlHandlingPolicy.HandleSourceTableAltered
    retry_interval: float = 5.0  # RecoverableErrorInterval
    retry_max_interval: float = 1800.0  # RecoverableErrorThrottlingMax
    retry_limit: int = -1  # RecoverableErrorCount (-1: forever)
    stop_after_commit_time: datetime | None = None  # CdcStopPosition commit_time:... (naive UTC)
    batch_apply: bool = False  # TargetMetadata.BatchApplyEnabled: net each window per key, apply in bulk
    batch_timeout_min: float = 1.0  # BatchApplyTimeoutMin: least time between the openings of two windows
    batch_timeout_max: float = 30.0  # BatchApplyTimeoutMax: and at most this long
    backlog_pause: float = BACKLOG_PAUSE  # a draining backlog's window closes when its stream pauses this long


@dataclass
class Checkpoint:
    """What the target knows of the stream: serialised into awsdms_txn_state.CHECKPOINT."""

    phase: str  # "full-load" until every table replicates, then "cdc"
    start: str  # where the stream must restart while some table still needs older changes
    position: str | None = None  # the last source transaction applied in the cdc phase

    def dumps(self) -> str:
        return json.dumps({"v": 1, "phase": self.phase, "start": self.start, "position": self.position})

    @classmethod
    def loads(cls, text: str) -> Checkpoint:
        data = json.loads(text)
        return cls(phase=data["phase"], start=data["start"], position=data.get("position"))

    @property
    def resume_from(self) -> str:
        return self.position if self.phase == "cdc" and self.position else self.start


class _Pipe:
    """Target writes run on a second thread, so the Python work on the next changes (reading the
    spool, routing, shaping) overlaps the target's work on the previous ones. Jobs run in order; the
    first error skips the jobs after it and is raised by the next wait() or submit()."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="apply-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    job()
            except BaseException as exc:  # handed to the loop thread at its next wait()
                self._error = exc
            finally:
                self._queue.task_done()

    def submit(self, job: Callable[[], None]) -> None:
        if self._error is not None:
            self.wait()
        self._queue.put(job)

    @property
    def idle(self) -> bool:
        """No job is queued or running."""
        return not self._queue.unfinished_tasks

    def wait(self, *, swallow: bool = False) -> None:
        self._queue.join()
        error, self._error = self._error, None
        if error is not None and not swallow:
            raise error

    def close(self) -> None:
        self._queue.put(None)


class PositionKeys:
    """position_key with a bounded memory of the positions seen, including keys the capture supplied
    (Transaction.order), so a position is parsed at most once however often it is compared."""

    LIMIT = 65536

    def __init__(self, position_key: PositionKey):
        self.position_key = position_key
        self.known: dict[str, tuple] = {}

    def __call__(self, position: str) -> tuple:
        key = self.known.get(position)
        if key is None:
            key = self.remember(position, self.position_key(position))
        return key

    def remember(self, position: str, key: tuple) -> tuple:
        known = self.known
        if len(known) >= self.LIMIT:
            known.clear()  # positions only move on: the ones still compared come back at once
        known[position] = key
        return key


# The group's `last` while it applies a streamed transaction ahead of its commit: not complete, so the
# group goes on reading until the transaction ends.
_AHEAD_PIECE = Transaction("", "", None, [], complete=False)


class StopRequested(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ApplyLoop:
    """Runs on one thread. The runner talks to it through `table_loaded` and `stop`."""

    def __init__(self, *, target: ConnectionInfo, control_schema: str, task_id: str, routes: dict[TableKey, Route],
                 checkpoint: Checkpoint, options: ApplyOptions, reporter: Reporter, position_key: PositionKey,
                 spool: Spool, cache_dir: Path, cache_limit: int, acknowledge: Callable[[str], None],
                 capture_error: Callable[[], BaseException | None], stop: threading.Event,
                 replan: Callable[[SourceTable], TablePlan | None] | None = None):
        self.target = target
        self.control_schema = control_schema
        self.task_id = task_id
        self.routes = routes
        # Routes by (schema, table) as changes name them: a TableKey per change would cost more than the lookup.
        self._by_name = {(key.schema, key.table): route for key, route in routes.items()}
        self.checkpoint = checkpoint
        self.options = options
        self.reporter = reporter
        self.key = PositionKeys(position_key)  # the same positions compare many times
        self.spool = spool
        self.cache_dir = cache_dir
        self.cache_limit = cache_limit
        self.acknowledge = acknowledge
        self.capture_error = capture_error
        self.stop = stop
        self.replan = replan
        # Whether the target still needs a transaction, decided on its first piece for each table:
        # later pieces share its position and must follow the same decision. Keyed by main/cache.
        self._decided: dict[bool, tuple[str, dict[Route, bool]]] = {}  # by Route: identity hashes cheaply
        self.caches: dict[TableKey, Spool] = {}
        self._cached_open: dict[TableKey, str] = {}  # tables whose cache holds an unfinished transaction
        self.events: queue.Queue[Callable[[], None]] = queue.Queue()
        self.stop_reason_override: str | None = None
        self.applier: Applier | None = None
        self.writer: GroupWriter | None = None
        self.last_commit_time: datetime | None = None
        self.applied_changes = 0
        self.group_open = False
        self._careful = False
        self._last_window: float | None = None  # when the last batch window opened
        self.pipe = _Pipe()
        self.last_read_position: str | None = None
        self.all_replicating = threading.Event()
        # Streamed (in-progress) source transactions: the one applied ahead of its commit, the tables it
        # touched, and those kept aside until their commit (tasks/engine/streamed.py).
        self._ahead: str | None = None
        self._ahead_routes: set[Route] = set()
        self._deferred: dict[str, Deferred] = {}
        self._replaying = False
        self._kept_streams = 0

    # -- control from the runner ---------------------------------------------------------------
    def table_loaded(self, key: TableKey, snapshot_position: str | None, exact: bool, *, drain: bool = True) -> None:
        """Called (from any thread) when a table's full load committed. `exact`: the snapshot position
        is exact, so cached changes at or before it are skipped; else they apply idempotently.
        drain=False only records the table as loaded (StopTaskCachedChangesNotApplied): a resume
        then applies its changes from the stream."""
        self.events.put(lambda: self._table_loaded(key, snapshot_position, exact, drain))

    def begin_reload(self, keys: list[TableKey]) -> threading.Event:
        """Start caching these tables' changes (Reload tables). The returned event is set once the
        applier has switched them, so a snapshot taken afterwards misses none of their changes."""
        switched = threading.Event()

        def switch() -> None:
            for key in keys:
                route = self.routes[key]
                route.status = RouteStatus.LOADING
                route.sync = TableSyncState(state="loading")
                route.idempotent = False
                self.reporter.table_state(key, TableState.RELOADING)
            self._save_states_now()
            switched.set()

        self.events.put(switch)
        return switched

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        self._connect()
        try:
            self._update_phase()
            while True:
                self._raise_capture_error()
                self._take_events()
                if self.stop.is_set():
                    raise StopRequested("Stop Reason NORMAL")
                self._apply_group(self.spool, main=True)
        finally:
            self.pipe.wait(swallow=True)
            self.pipe.close()
            self._close()
            for deferred in self._deferred.values():
                deferred.close()

    def _apply_group(self, spool: Spool, *, main: bool) -> bool:
        """Read and apply one group of transactions from `spool`, retrying it until it commits.
        Returns False when the spool had nothing to apply."""
        attempt = 0
        careful = False
        while True:
            mark, read_before = spool.mark(), spool.records_read
            saved = {key: (replace(route.sync), route.plan) for key, route in self.routes.items()}
            saved_checkpoint = replace(self.checkpoint)
            try:
                return self._group(spool, main, careful)
            except Unspeculate as exc:
                self._abandon(spool, mark, read_before, saved, saved_checkpoint)
                if exc.xid not in self._deferred:
                    self._deferred[exc.xid] = self._new_deferred(exc.xid)
                self.reporter.log(Component.TARGET_APPLY, Severity.INFO,
                                  f"Source transaction {exc.xid}, written ahead of its commit, is rolled back "
                                  f"({exc.why}); it is kept on the worker and applied when the source commits it")
            except RetryCarefully as exc:
                self._abandon(spool, mark, read_before, saved, saved_checkpoint)
                self.reporter.log(Component.TARGET_APPLY, Severity.INFO,
                                  f"Replaying a group of changes one by one to find the failing change: {exc}")
                careful = True
            except EngineError as exc:
                if exc.permanent:
                    raise
                tried = self.checkpoint.position
                counts = self._abandon(spool, mark, read_before, saved, saved_checkpoint)
                attempt += 1
                self._backoff(attempt, exc)
                self._reload_state()
                if tried != saved_checkpoint.position and self.checkpoint.position == tried:
                    self._report_counts(counts)  # the group did commit: only the answer was lost

    def _group(self, spool: Spool, main: bool, careful: bool) -> bool:
        self._careful = careful
        items: list[Item] = []
        opened = time.monotonic()
        window_from = self._window_from(opened, main)
        changes = 0
        last: Transaction | None = None
        while True:
            before = (spool.mark(), spool.records_read)
            record = spool.read(timeout=self._read_timeout(last, window_from, main))
            if isinstance(record, Solo) and last is not None and last.complete:
                spool.rewind(*before)  # a DDL starts its own group: commit what came before it first
                break
            if record is None:
                if last is None or (last.complete and not self._window_open(window_from, main, last)):
                    break  # nothing more ready: commit what we have now (latency before batching)
                self._raise_capture_error()
                if self.stop.is_set():
                    raise StopRequested("Stop Reason NORMAL")  # mid-transaction: roll back, source replays it
                if items and self.options.batch_apply and not careful and self.pipe.idle:
                    self._write(items, careful)  # the target works while the window stays open
                    items = []
                continue
            if isinstance(record, Marker):
                if last is None:
                    self._commit_marker(spool, record)
                    return True
                continue
            if type(record) is StreamEvent:
                step = self._stream_step(record, before[1] + 1, last, careful)
                if step is _COMMIT_FIRST:
                    spool.rewind(*before)
                    break
                if step is _AHEAD:
                    changes += self._take_ahead(record, items)
                    last = _AHEAD_PIECE
                    items = self._write_if_full(items, careful)
                elif step is _AHEAD_END:
                    return self._end_ahead(spool, record, items, careful)
                elif step is _REPLAY:
                    self._replay(record)
                    return True
                continue
            if self._ahead is not None:
                raise Unspeculate(self._ahead, "another transaction arrived")
            past_stop = False
            # The capture batches the transactions ready together: one pass over them all where it can.
            taken = self._take_all(record, items, main) if type(record) is list and len(record) > 1 else None
            if taken is not None:
                changes += taken
                last = record[-1]
                items = self._write_if_full(items, careful)
            else:
                for txn in record if isinstance(record, list) else (record,):
                    if main and self._past_stop_time(txn):
                        past_stop = True
                        break
                    changes += self._take(txn, items, main)
                    items = self._write_if_full(items, careful)
                    last = txn
            if past_stop or (last is not None and last.complete and self._group_full(changes, opened)):
                break
        if last is None:
            return False
        self._write(items, careful)
        self._commit(spool, last, main)
        if main:
            self._last_window = opened
        return True

    # -- streamed transactions (tasks/engine/streamed.py) ----------------------------------------
    def _stream_step(self, event: StreamEvent, number: int, last: Transaction | None, careful: bool) -> str:
        """What the group does with a StreamEvent; `number` is its record's number in the main spool."""
        xid = event.xid
        if self._ahead is not None:
            if xid != self._ahead:
                raise Unspeculate(self._ahead, "another streamed transaction arrived")
            if event.kind == StreamKind.PIECE:
                if event.subtransactions or not only_row_changes(event):
                    raise Unspeculate(xid, "a subtransaction's changes or a DDL")
                return _AHEAD
            if event.kind == StreamKind.ABORT and event.discard is not None:
                raise Unspeculate(xid, "a subtransaction aborted")
            return _AHEAD_END
        deferred = self._deferred.get(xid)
        if deferred is None:
            if event.kind != StreamKind.PIECE:
                return _KEPT  # its pieces were rolled back and dropped already (it aborted)
            if event.first == 0 and self._can_apply_ahead(event, careful):
                if last is not None:
                    return _COMMIT_FIRST
                self._ahead = xid
                return _AHEAD
            deferred = self._deferred[xid] = self._new_deferred(xid, complete_start=event.first == 0)
        if event.kind == StreamKind.COMMIT:
            return _COMMIT_FIRST if last is not None else _REPLAY
        if event.kind == StreamKind.ABORT and event.discard is None:
            self._deferred.pop(xid).close()
            return _KEPT
        deferred.keep(event, number)
        return _KEPT

    def _can_apply_ahead(self, event: StreamEvent, careful: bool) -> bool:
        return (not careful and not event.subtransactions and self.checkpoint.phase == "cdc"
                and self.options.stop_after_commit_time is None
                and not any(r.status in (RouteStatus.PENDING, RouteStatus.LOADING) for r in self.routes.values())
                and only_row_changes(event))

    def _take_ahead(self, event: StreamEvent, items: list[Item]) -> int:
        """Queue a piece of the transaction applied ahead of its commit (every table replicates)."""
        append = items.append
        touched = self._ahead_routes
        taken = 0
        last_relation, route, convert = None, None, None
        for change in event.changes:
            relation = change.relation
            if relation is not last_relation:
                last_relation = relation
                route = self._by_name.get((relation.schema, relation.table))
                if route is not None:
                    touched.add(route)
                    convert = route.converter(relation.columns)
            if route is None:
                continue
            if route.status is RouteStatus.SUSPENDED:
                route.suspended_changes += 1
                continue
            append(Item(route, convert(change)))
            taken += 1
        return taken

    def _end_ahead(self, spool: Spool, event: StreamEvent, items: list[Item], careful: bool) -> bool:
        """The source committed or aborted the transaction applied ahead of its commit."""
        xid = self._ahead
        if event.kind == StreamKind.ABORT:
            self.pipe.wait(swallow=True)
            self._rollback()
            self.writer.take_counts()
            self._ahead, self._ahead_routes = None, set()
            spool.release()
            return True
        position = event.position
        checkpoint = self.checkpoint.position
        if ((checkpoint is not None and self.key.remember(position, event.order) <= self.key(checkpoint))
                or not all(self._needed(route, position, True, event.order) for route in self._ahead_routes)):
            raise Unspeculate(xid, "the target may hold some of it already")  # decided per table at its commit
        for route in self._ahead_routes:
            route.sync.applied_position = position
        self.last_read_position = position
        self._write(items, careful)
        self._commit(spool, Transaction(xid, position, event.commit_time, [], complete=True, order=event.order),
                     True)
        self._ahead, self._ahead_routes = None, set()
        return True

    def _replay(self, commit: StreamEvent) -> None:
        """Apply a kept transaction at its commit, in its own target transaction(s) as any other."""
        deferred = self._deferred.pop(commit.xid)
        try:
            if not deferred.complete_start:
                raise EngineError(f"Source transaction {commit.xid} committed, but its first changes were not "
                                  "kept: stopping without applying it; resuming the task reads it again.",
                                  permanent=True)
            replay = Replay(deferred, commit)
            self._replaying = True
            while self._apply_group(replay, main=True):
                pass
        except EngineError as exc:
            # Its pieces are gone from the main spool's view: a retry there would find only the commit. Stop;
            # the source sends the whole transaction again on resume.
            if not exc.permanent:
                raise EngineError(str(exc), kind=exc.kind, permanent=True) from exc
            raise
        finally:
            self._replaying = False
            deferred.close()

    def _new_deferred(self, xid: str, *, complete_start: bool = True) -> Deferred:
        self._kept_streams += 1
        return Deferred(self.cache_dir / f"stream-{self._kept_streams:04d}", self.cache_limit,
                        complete_start=complete_start)

    def _take(self, txn: Transaction, items: list[Item], main: bool) -> int:
        """Route one transaction piece: cache it per loading table, or queue its changes for apply.
        The hot loop of the applier: what to do with a table's changes is decided once per relation
        object (a piece repeats the same one), and row changes take the shortest path."""
        cached: dict[TableKey, list] = {}
        verdicts: dict[int, tuple[str, Route | None]] = {}  # id(relation) -> verdict, for this piece only
        position = txn.position
        applied: set[Route] = set()
        append = items.append
        taken = 0
        last_relation = None
        verdict, route, convert = _SKIP, None, None
        for change in txn.changes:
            relation = change.relation
            if relation is not last_relation:
                last_relation = relation
                found = verdicts.get(id(relation))
                if found is None:
                    found = verdicts[id(relation)] = self._verdict(relation, position, txn.order, main)
                verdict, route = found
                if verdict is _APPLY:
                    convert = route.converter(relation.columns)
            if verdict is _APPLY:
                op = change.op
                if op is Op.UPDATE or op is Op.INSERT or op is Op.DELETE:
                    append(Item(route, convert(change)))
                    applied.add(route)
                    taken += 1
                else:
                    if self._take_special(route, change, position, items):
                        taken += 1
                    last_relation = None  # a DDL may have given the table a new plan: fetch its converter again
            elif verdict is _CACHE:
                cached.setdefault(route.key, []).append(change)
            elif verdict is _SUSPENDED:
                route.suspended_changes += 1
        for done in applied:
            done.sync.applied_position = position
        for key, table_changes in cached.items():
            self._cache(key).append(Transaction(txn.xid, txn.position, txn.commit_time, table_changes,
                                                complete=txn.complete, order=txn.order))
            if not txn.complete:
                self._cached_open[key] = txn.position
        # A large transaction's last piece may not touch a table that got earlier pieces: close it there
        # too, or draining that cache would wait for the end of the transaction forever.
        if txn.complete and self._cached_open:
            for key in [k for k, position in self._cached_open.items() if position == txn.position]:
                del self._cached_open[key]
                if key not in cached and key in self.caches:
                    self.caches[key].append(Transaction(txn.xid, txn.position, txn.commit_time, [], complete=True,
                                                        order=txn.order))
        if main:
            self.last_read_position = txn.position
        return taken

    def _take_all(self, record: list[Transaction], items: list[Item], main: bool) -> int | None:
        """Queue a whole record of complete transactions at once, when every one of them goes the same
        way: only row changes, of tables applied now, none of them already on the target. Transactions
        follow in commit order, so when the first is needed for a table, so are the rest. Returns None,
        having queued nothing, when the record must be taken transaction by transaction (a table loading
        or suspended, a transaction the target may already hold, a TRUNCATE, a CdcStopPosition time)."""
        if self._cached_open or (main and self.options.stop_after_commit_time is not None):
            return None
        first = record[0]
        position, order = first.position, first.order
        start = len(items)
        append = items.append
        verdicts: dict[int, tuple[str, Route | None]] = {}
        applied: set[Route] = set()
        update, insert, delete = Op.UPDATE, Op.INSERT, Op.DELETE
        last_relation = None
        verdict, route, convert = _SKIP, None, None
        for txn in record:
            if not txn.complete:
                del items[start:]
                return None
            for change in txn.changes:
                relation = change.relation
                if relation is not last_relation:
                    last_relation = relation
                    found = verdicts.get(id(relation))
                    if found is None:
                        found = verdicts[id(relation)] = self._verdict(relation, position, order, main)
                        if found[0] is not _APPLY and found[1] is not None:
                            del items[start:]  # caching, suspended, or already applied: decide per transaction
                            return None
                    verdict, route = found
                    if verdict is _APPLY:
                        convert = route.converter(relation.columns)
                        applied.add(route)
                if verdict is _APPLY:
                    op = change.op
                    if op is not update and op is not insert and op is not delete:
                        del items[start:]
                        return None
                    append(Item(route, convert(change)))
        last = record[-1].position
        for done in applied:
            done.sync.applied_position = last
        if main:
            self.last_read_position = last
        return len(items) - start

    def _verdict(self, relation: Relation, position: str, order: tuple | None, main: bool
                 ) -> tuple[str, Route | None]:
        route = self._by_name.get((relation.schema, relation.table))
        if route is None:
            return _SKIP, None
        status = route.status
        if status is RouteStatus.PENDING or status is RouteStatus.LOADING:
            return _CACHE, route
        if status is RouteStatus.SUSPENDED:
            return _SUSPENDED, route
        decided = self._decisions(position, main)
        needed = decided.get(route)
        if needed is None:
            needed = decided[route] = self._needed(route, position, main, order)
        return (_APPLY if needed else _SKIP), route

    def _take_special(self, route: Route, change: RowChange, position: str, items: list[Item]) -> bool:
        """A TRUNCATE or DDL of a table being applied. Returns whether it was taken."""
        if change.op is Op.TRUNCATE and not self.options.handle_truncate:
            self.reporter.log(Component.TARGET_APPLY, Severity.WARNING,
                              f"TRUNCATE of {route.key} skipped (HandleSourceTableTruncated is false)")
            return False
        if change.op is Op.DDL:
            # The table changes shape here: what came before is written first, and what follows
            # must be shaped by the new plan, so the DDL runs now, on this thread.
            self._write(list(items), self._careful)
            items.clear()
            self.pipe.wait()
            self._write_now(runs([Item(route, route.to_target(change))]), self._careful)
        else:
            items.append(Item(route, route.to_target(change)))
        route.sync.applied_position = position
        return True

    def _decisions(self, position: str, main: bool) -> dict[Route, bool]:
        current = self._decided.get(main)
        if current is None or current[0] != position:
            current = (position, {})
            self._decided[main] = current
        return current[1]

    def _needed(self, route: Route, position: str, main: bool, order: tuple | None = None) -> bool:
        """False when the target already has this transaction's changes for the table. The task's
        checkpoint only covers the main stream: a table's cache holds changes it never covered.
        `order`: the position's key when the capture supplied it."""
        if order is None:
            key = self.key(position)
        else:  # this transaction's position is the table's applied position next: remember its key
            key = self.key.remember(position, order)
        sync = route.sync
        for known in (sync.snapshot_position, sync.applied_position, self.checkpoint.position if main else None):
            if known is not None and key <= self.key(known):
                return False
        return True

    def _window_from(self, opened: float, main: bool) -> float:
        """When the batch window opening now started counting. BatchApplyTimeoutMin is the least time
        between two applications, so it counts from when the previous window opened: a window whose
        application took that long already is applied as soon as nothing more is ready, instead of
        idling a full interval more (a drained backlog waited a second for nothing)."""
        if not (self.options.batch_apply and main) or self._last_window is None:
            return opened
        return self._last_window

    def _read_timeout(self, last: Transaction | None, window_from: float, main: bool) -> float:
        """How long the next spool read may wait: for the rest of an open transaction, or of an open
        batch window (no longer: the window is applied as soon as it closes)."""
        if not main:
            return 0
        if last is None or not last.complete:
            return 0.2
        if not self._batching(main):
            return 0
        if self._behind(last):
            return self.options.backlog_pause
        return max(0.0, min(0.2, window_from + self.options.batch_timeout_min - time.monotonic()))

    def _window_open(self, window_from: float, main: bool, last: Transaction) -> bool:
        """After a read found nothing: batch apply keeps gathering the stream's transactions for
        BatchApplyTimeoutMin; while a backlog drains, until its stream pauses (the read just waited
        backlog_pause for nothing)."""
        if not self._batching(main) or self._behind(last):
            return False
        return time.monotonic() - window_from < self.options.batch_timeout_min

    def _batching(self, main: bool) -> bool:
        return self.options.batch_apply and main and not self.stop.is_set() and not self._replaying

    def _behind(self, last: Transaction) -> bool:
        """The source committed `last` more than a batch window ago: a backlog is draining."""
        committed = last.commit_time
        return committed is not None and seconds_since(committed) > self.options.batch_timeout_min

    def _group_full(self, changes: int, opened: float) -> bool:
        elapsed = time.monotonic() - opened
        if self.options.batch_apply:
            return elapsed >= self.options.batch_timeout_max
        return changes >= self.options.min_transaction_size or elapsed >= self.options.commit_timeout

    def _write_if_full(self, items: list[Item], careful: bool) -> list[Item]:
        """Hand a full chunk to the writer; returns the list to go on filling."""
        n = len(items)
        if not self.options.batch_apply:
            if n < WRITE_ITEMS:
                return items
        elif n < BATCH_WRITE_ITEMS and (n < BATCH_EAGER_ITEMS or not self.pipe.idle):
            return items
        self._write(items, careful)
        return []

    def _write(self, items: list[Item], careful: bool) -> None:
        cut = net_runs(items) if self.options.batch_apply else list(runs(items))
        if not cut:
            return
        if careful:  # one change at a time under savepoints: nothing to overlap
            self.pipe.wait()
            self._write_now(cut, careful)
        else:
            self.pipe.submit(functools.partial(self._write_now, self.writer.prepare(cut), careful))

    def _write_now(self, prepared: Iterable[Run], careful: bool) -> None:
        if not self.group_open:
            self.applier.begin()
            self.group_open = True
        self.writer.write_runs(prepared, careful=careful)

    def _commit(self, spool: Spool, last: Transaction, main: bool) -> None:
        advance = main and self.checkpoint.phase == "cdc"
        if advance:
            self.checkpoint.position = last.position
        states = {key: replace(state) for key, state in self._states().items()}
        self.pipe.submit(functools.partial(self._commit_now, self.checkpoint.dumps(), last.commit_time, states))
        self.pipe.wait()
        spool.release()
        self.last_commit_time = last.commit_time
        self._report_counts(self.writer.take_counts())
        self.reporter.checkpoint(self.checkpoint.dumps(), last.commit_time)
        if advance:
            self.acknowledge(last.position)

    def _report_counts(self, counts: dict[TableKey, TableCounts]) -> None:
        for key, table_counts in counts.items():
            self.applied_changes += table_counts.inserts + table_counts.updates + table_counts.deletes \
                + table_counts.ddls
            self.reporter.table_counts(key, table_counts)

    def _commit_now(self, checkpoint: str, commit_time: datetime | None,
                    states: dict[tuple[str, str], TableSyncState]) -> None:
        if not self.group_open:
            self.applier.begin()
            self.group_open = True
        self.applier.save_state(self.task_id, checkpoint, commit_time, states)
        self.applier.commit()
        self.group_open = False

    def _commit_marker(self, spool: Spool, marker: Marker) -> None:
        """An idle stream moved on: record the position so the source can let go of its log."""
        if self.checkpoint.phase != "cdc":
            return
        if self.checkpoint.position is not None and self.key(marker.position) <= self.key(self.checkpoint.position):
            return
        self.checkpoint.position = marker.position
        self.pipe.wait()
        self.applier.begin()
        self.applier.save_state(self.task_id, self.checkpoint.dumps(), None, {})
        self.applier.commit()
        spool.release()
        self.acknowledge(marker.position)

    def _apply_ddl(self, route: Route, change: RowChange) -> None:
        """A source table changed shape: add and drop the same columns on the target, then shape
        its changes by the new plan. Other changes (types, names) are logged as not propagated."""
        what = f"{route.key}: {change.ddl or 'table definition changed'}"
        if not self.options.handle_altered:
            self.reporter.log(Component.TARGET_APPLY, Severity.WARNING,
                              f"DDL skipped (HandleSourceTableAltered is false): {what}")
            return
        if change.table is None or self.replan is None:
            self.reporter.log(Component.TARGET_APPLY, Severity.WARNING, f"DDL not propagated: {what}")
            return
        new_plan = self.replan(change.table)
        if new_plan is None:
            self.reporter.log(Component.TARGET_APPLY, Severity.WARNING,
                              f"DDL not propagated ({route.key} is no longer selected by the mappings): {what}")
            return
        old = {c.name: c for c in route.plan.columns}
        new = {c.name: c for c in new_plan.columns}
        for column in new_plan.columns:
            if column.name not in old:
                self.applier.execute_ddl(route.plan, "add-column", column)
        for column in route.plan.columns:
            if column.name not in new:
                self.applier.execute_ddl(route.plan, "drop-column", column.name)
        for name in old.keys() & new.keys():
            if old[name].target_type != new[name].target_type:
                self.reporter.log(Component.TARGET_APPLY, Severity.WARNING,
                                  f"{route.key}.{name} changed type on the source ({old[name].source_type} -> "
                                  f"{new[name].source_type}): the target column keeps {old[name].target_type}")
        route.use_plan(replace(new_plan, columns=tuple(
            replace(c, target_type=old[c.name].target_type) if c.name in old else c for c in new_plan.columns)))
        self.reporter.log(Component.TARGET_APPLY, Severity.INFO, f"DDL applied to the target: {what}")

    def _states(self) -> dict[tuple[str, str], TableSyncState]:
        return {(r.key.schema, r.key.table): r.sync for r in self.routes.values()}

    # -- loaded tables and their cached changes ------------------------------------------------
    def _take_events(self) -> None:
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            event()

    def _table_loaded(self, key: TableKey, position: str | None, exact: bool, drain: bool) -> None:
        route = self.routes[key]
        route.sync = TableSyncState(state="loaded", snapshot_position=position if exact else None)
        route.idempotent = not exact
        self._save_states_now()
        if not drain:
            return
        cache = self.caches.pop(key, None)
        route.status = RouteStatus.REPLICATING
        if cache is not None:
            self._drain_cache(route, cache)
        route.idempotent = False
        route.sync.state = "replicating"
        self._save_states_now()
        self.reporter.log(Component.TARGET_APPLY, Severity.INFO, f"Table {key} is loaded and its cached changes"
                          " are applied: it now replicates")
        self._update_phase()

    def _drain_cache(self, route: Route, cache: Spool) -> None:
        try:
            while self._apply_group(cache, main=False):
                pass
        finally:
            cache.close()

    def _save_states_now(self) -> None:
        self.pipe.wait()
        self.applier.begin()
        self.applier.save_state(self.task_id, self.checkpoint.dumps(), None, self._states())
        self.applier.commit()

    def _update_phase(self) -> None:
        if self.checkpoint.phase == "cdc" or any(
            r.status in (RouteStatus.PENDING, RouteStatus.LOADING) for r in self.routes.values()
        ):
            if self.checkpoint.phase == "cdc":
                self.all_replicating.set()
            return
        # Every table replicates and every cache is drained: the target now has everything up to the
        # last transaction read from the stream, and from here on the checkpoint alone says so.
        self.checkpoint.phase = "cdc"
        self.checkpoint.position = self.last_read_position or self.checkpoint.start
        self._save_states_now()
        self.all_replicating.set()
        self.reporter.log(Component.TARGET_APPLY, Severity.INFO,
                          "All tables are loaded: applying changes as source transactions")

    def _cache(self, key: TableKey) -> Spool:
        cache = self.caches.get(key)
        if cache is None:
            cache = Spool(self.cache_dir / f"{len(self.caches) + 1:04d}", self.cache_limit)
            self.caches[key] = cache
        return cache

    # -- stop conditions -----------------------------------------------------------------------
    def _past_stop_time(self, txn: Transaction) -> bool:
        limit = self.options.stop_after_commit_time
        if limit is not None and txn.complete and txn.commit_time > limit and self.checkpoint.phase == "cdc":
            self.stop_reason_override = "Stop Reason STOPPED_AT_COMMIT_TIME"
            self.stop.set()
            return True
        return False

    # -- connections and retries ---------------------------------------------------------------
    def _connect(self) -> None:
        engine = get_engine(self.target.engine)(self.target)
        self.applier = engine.open_applier(self.control_schema)
        self.writer = GroupWriter(self.applier, self.options.policies, self.task_id, self.reporter,
                                  on_ddl=self._apply_ddl)
        self.group_open = False

    def _abandon(self, spool: Spool, mark, read_before: int, saved: dict[TableKey, tuple[TableSyncState, TablePlan]],
                 checkpoint: Checkpoint) -> dict[TableKey, TableCounts]:
        """Roll the group back and rewind to its start. Returns the counts of what it wrote (reported only
        if the target turns out to have committed it after all)."""
        self.pipe.wait(swallow=True)
        self._rollback()
        self._ahead, self._ahead_routes = None, set()
        counts = self.writer.take_counts()
        self.checkpoint = checkpoint
        spool.rewind(mark, read_before)
        self._decided.clear()
        for key, (sync, plan) in saved.items():
            route = self.routes[key]
            route.sync = sync
            if route.plan is not plan:
                route.use_plan(plan)
        return counts

    def _rollback(self) -> None:
        try:
            self.applier.rollback()
        except EngineError:
            pass  # the connection is gone: so is the transaction
        self.group_open = False

    def _backoff(self, attempt: int, exc: EngineError) -> None:
        limit = self.options.retry_limit
        if 0 <= limit < attempt:
            raise exc
        delay = min(self.options.retry_interval * 2 ** (attempt - 1), self.options.retry_max_interval)
        self.reporter.log(Component.TARGET_APPLY, Severity.WARNING,
                          f"Target unavailable (attempt {attempt}): {exc}. Changes keep arriving in the spool "
                          f"({self.spool.backlog} waiting); retrying in {delay:.0f} s")
        deadline = time.monotonic() + delay
        while (remaining := deadline - time.monotonic()) > 0:
            if self.stop.wait(min(remaining, 0.5)):
                raise StopRequested("Stop Reason NORMAL")
            self._raise_capture_error()  # e.g. the spool filled up while the target was away
        self._close()
        try:
            self._connect()
        except EngineError as again:
            if again.permanent:
                raise
            self._backoff(attempt + 1, again)

    def _reload_state(self) -> None:
        """After reconnecting, believe the target: a commit whose answer was lost may have happened,
        and then the rewound group must be skipped, not applied twice."""
        checkpoint, tables = self.applier.load_state(self.task_id)
        if checkpoint is not None:
            self.checkpoint = Checkpoint.loads(checkpoint)
        for (schema, table), state in tables.items():
            route = self.routes.get(TableKey(schema, table))
            if route is not None and route.status is RouteStatus.REPLICATING:
                route.sync = state

    def _raise_capture_error(self) -> None:
        error = self.capture_error()
        if error is not None:
            raise error

    def _close(self) -> None:
        if self.applier is not None:
            try:
                self.applier.close()
            except EngineError:
                pass
            self.applier = None

    @property
    def table_states(self) -> dict[TableKey, TableState]:
        return {k: (TableState.ERROR if r.status is RouteStatus.SUSPENDED else TableState.COMPLETED)
                for k, r in self.routes.items()}
