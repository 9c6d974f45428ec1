"""All group_send calls, made after the transaction commits so clients never see uncommitted state.

Groups: `instances-list`; `task-<pk>` (the task page); `tasks-list`; `dashboard`.

A task's changes arrive through `task_changed`, which tasks.reporter.publish calls once the runner's
(or an action's) transaction committed. They are coalesced per task by a Publisher, one per process:
the first change of a quiet task is sent at once, later ones at most every MIN_INTERVAL seconds,
each send carrying everything that changed meanwhile. So a busy task sends at most
1 / MIN_INTERVAL messages a second to each group, however many changes it makes. A send reads the
committed rows and sends only the cells whose contents changed since this process last sent them
(absolute values, so a lost or late message is corrected by the next one), pre-rendered once for
every client of the group.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

log = logging.getLogger("dms.broadcast")

INSTANCES_GROUP = "instances-list"
TASKS_GROUP = "tasks-list"
DASHBOARD_GROUP = "dashboard"
MIN_INTERVAL = 0.25  # seconds between two sends for one task: at most 4 messages a second per group
IDLE_SECONDS = 60.0  # a publisher thread without work ends (and closes its database connection)


def task_group(task_pk: int) -> str:
    return f"task-{task_pk}"


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a live page missing one update is not worth failing the action for
        log.warning("broadcast to %s failed", group, exc_info=True)


def instances_changed() -> None:
    transaction.on_commit(lambda: _send(INSTANCES_GROUP, {"type": "instances.changed"}))


def task_changed(task_pk: int, **changed: Any) -> None:
    """A task changed (flags: tables, status, metrics, log). Called by tasks.reporter.publish after commit.
    Off when DMS_LIVE_PUSH is (the test settings: a test process has no pages to push to)."""
    if getattr(settings, "DMS_LIVE_PUSH", True):
        transaction.on_commit(lambda: publisher().mark(task_pk, changed))


# -- coalescing ---------------------------------------------------------------------------------------------
@dataclass
class TaskView:
    """What this process last sent about one task."""

    task_key: tuple | None = None  # the task's values its cells were rendered from
    task_cells: dict[str, str] = field(default_factory=dict)  # status, progress, tables, latency
    rows: dict[int, tuple] = field(default_factory=dict)  # Table statistics row id -> its values
    row_cells: dict[int, dict[str, str]] = field(default_factory=dict)
    sample_id: int | None = None  # the last metric sample sent


class Publisher:
    """Coalesces each task's changes and sends them from one thread, at most every `interval` seconds."""

    def __init__(self, send: Callable[[str, dict], None] = _send, interval: float = MIN_INTERVAL,
                 clock: Callable[[], float] = time.monotonic):
        self.send = send
        self.interval = interval
        self.clock = clock
        self.sent_messages = 0
        self._pending: dict[int, set[str]] = {}
        self._last: dict[int, float] = {}
        self._views: dict[int, TaskView] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def mark(self, task_pk: int, changed: dict[str, Any]) -> None:
        with self._cond:
            self._pending.setdefault(task_pk, set()).update(k for k, v in changed.items() if v)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="dms-publisher", daemon=True)
                self._thread.start()
            self._cond.notify()

    def due(self) -> tuple[list[tuple[int, set[str]]], float | None]:
        """Pop the tasks whose turn has come; also how long until the next one's."""
        now = self.clock()
        ready, wait = [], None
        with self._cond:
            for task_pk in list(self._pending):
                left = self._last.get(task_pk, -1e9) + self.interval - now
                if left <= 0:
                    ready.append((task_pk, self._pending.pop(task_pk)))
                    self._last[task_pk] = now
                else:
                    wait = left if wait is None else min(wait, left)
        return ready, wait

    def _run(self) -> None:
        try:
            while self._next_batch():
                pass
        finally:
            connection.close()
            if self._loop is not None:
                self._loop.close()
                self._loop = None

    def _next_batch(self) -> bool:
        """Wait for changes, send those whose turn came. False when the thread should end (closed, or
        idle for a minute: the next change starts a new one)."""
        with self._cond:
            while not self._pending:
                if self._closing or not self._cond.wait(timeout=IDLE_SECONDS) and not self._pending:
                    self._thread = None
                    return False
        ready, wait = self.due()
        for task_pk, flags in ready:
            try:
                self.flush(task_pk, flags)
            except Exception:  # the database was busy: the next change sends absolute values again
                log.warning("publishing task %s failed", task_pk, exc_info=True)
                connection.close()
        if not ready and wait:
            with self._cond:
                self._cond.wait(timeout=wait)
        return True

    def close(self) -> None:
        """Stop the thread once what is pending has been sent (tests; a worker's exit just drops it)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=10)

    def send_all(self, messages: list[tuple[str, dict]]) -> None:
        """group_send on this thread's own event loop: one Redis connection pool for the thread's life
        (async_to_sync would build a loop, and a connection, per message)."""
        if self.send is not _send:
            for group, message in messages:
                self.send(group, message)
            return
        layer = get_channel_layer()
        if layer is None or not messages:
            return
        if self._loop is None:
            self._loop = asyncio.new_event_loop()

        async def send() -> None:
            for group, message in messages:
                await layer.group_send(group, message)

        try:
            self._loop.run_until_complete(send())
        except Exception:  # a live page missing one update is not worth failing the runner for
            log.warning("broadcast failed", exc_info=True)

    def flush(self, task_pk: int, flags: set[str]) -> int:
        """Read the task's committed state, send what changed to its groups. Returns the messages sent.
        A flush of counters only (the usual CDC flush) reads the Table statistics rows and formats just
        the rows whose values changed; the task's own cells are read again for status and metrics."""
        from . import live

        view = self._views.setdefault(task_pk, TaskView())
        first = view.task_key is None
        changed: dict[str, str] = {}
        list_changed: dict[str, str] = {}
        if first or flags & {"status", "metrics"}:
            tasks = live.task_rows([task_pk])
            if not tasks:  # deleted
                self._views.pop(task_pk, None)
                self.send_all([(TASKS_GROUP, {"type": "task.removed", "task": task_pk}),
                               (DASHBOARD_GROUP, {"type": "dashboard.changed"})])
                return 2
            key = live.task_key(tasks[0])
            if key != view.task_key:
                cells = live.task_cell_texts(tasks[0])
                list_changed = {k: v for k, v in cells.items() if view.task_cells.get(k) != v}
                view.task_key, view.task_cells = key, cells
        new_rows, gone = False, []
        if first or flags & {"tables", "status"}:
            rows = live.stat_raw(task_pk)
            now = timezone.now()
            for pk, values in rows.items():
                if view.rows.get(pk) == values and not live.is_loading(values):
                    continue
                cells = live.raw_cells(values, now)
                old = view.row_cells.get(pk, {})
                changed.update({k: v for k, v in cells.items() if old.get(k) != v})
                view.row_cells[pk] = cells
            new_rows = bool(rows.keys() - view.rows.keys())
            gone = sorted(view.rows.keys() - rows.keys())  # a Restart deletes the rows and seeds new ones
            for pk in gone:
                view.row_cells.pop(pk, None)
            view.rows = rows
        changed.update(list_changed)
        points = self._points(task_pk, view, "metrics" in flags) if "metrics" in flags or view.sample_id is None \
            else []
        messages: list[tuple[str, dict]] = []
        if changed or new_rows or gone or points:
            messages.append((task_group(task_pk), {"type": "task.update", "task": task_pk,
                                                   "html": live.removed_rows(gone) + live.oob(changed),
                                                   "new_rows": new_rows, "points": points}))
        if list_changed:
            messages.append((TASKS_GROUP, {"type": "task.update", "task": task_pk, "html": live.oob(list_changed)}))
            messages.append((DASHBOARD_GROUP, {"type": "dashboard.changed"}))
        self.send_all(messages)
        self.sent_messages += len(messages)
        return len(messages)

    def _points(self, task_pk: int, view: TaskView, metrics: bool) -> list[dict]:
        """Samples recorded since the last send. Pages hold the history they were rendered with, and
        their consumer sends what came between the page and the socket; so a process that has sent
        nothing yet sends only the newest sample (clients drop points they already have)."""
        from .models import MetricSample
        from .samples import point_of

        recent = MetricSample.objects.filter(task_id=task_pk, resolution=0)
        if view.sample_id is None:
            new = list(recent.order_by("-id")[:1])
            view.sample_id = new[0].id if new else 0
            return [point_of(sample) for sample in new] if metrics else []
        new = list(recent.filter(id__gt=view.sample_id).order_by("id")[:100])
        if new:
            view.sample_id = new[-1].id
        return [point_of(sample) for sample in new]


_publisher: Publisher | None = None
_publisher_lock = threading.Lock()


def _forget_after_fork() -> None:
    """A forked child (a prefork pool's worker) starts its own publisher: the parent's thread, locks and
    event loop do not belong to it."""
    global _publisher, _publisher_lock
    _publisher, _publisher_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def publisher() -> Publisher:
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = Publisher()
        return _publisher
