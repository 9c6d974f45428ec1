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

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import close_old_connections, connection, transaction

log = logging.getLogger("dms.broadcast")

INSTANCES_GROUP = "instances-list"
TASKS_GROUP = "tasks-list"
DASHBOARD_GROUP = "dashboard"
MIN_INTERVAL = 0.25  # seconds between two sends for one task: at most 4 messages a second per group


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
    """A task changed (flags: tables, status, metrics, log). Called by tasks.reporter.publish after commit."""
    transaction.on_commit(lambda: publisher().mark(task_pk, changed))


# -- coalescing ---------------------------------------------------------------------------------------------
@dataclass
class TaskView:
    """What this process last sent about one task."""

    cells: dict[str, str] = field(default_factory=dict)  # task page: status, counters, table statistics
    list_cells: dict[str, str] = field(default_factory=dict)  # tasks list and dashboard
    rows: set[int] = field(default_factory=set)
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
        while True:
            with self._cond:
                while not self._pending:
                    if not self._cond.wait(timeout=60):
                        if not self._pending:  # idle for a minute: let the thread go
                            self._thread = None
                            connection.close()
                            return
            ready, wait = self.due()
            if ready:
                close_old_connections()
                for task_pk, flags in ready:
                    try:
                        self.flush(task_pk, flags)
                    except Exception:  # the database was busy: the next change sends absolute values again
                        log.warning("publishing task %s failed", task_pk, exc_info=True)
                        connection.close()
            elif wait:
                with self._cond:
                    self._cond.wait(timeout=wait)

    def flush(self, task_pk: int, flags: set[str]) -> int:
        """Read the task's committed state, send what changed to its groups. Returns the messages sent."""
        from . import live

        view = self._views.setdefault(task_pk, TaskView())
        tasks = live.task_rows([task_pk])
        if not tasks:
            self._views.pop(task_pk, None)
            return 0
        task = tasks[0]
        cells = live.task_cell_texts(task)
        if "tables" in flags or "status" in flags or not view.rows:
            cells.update(live.stat_cell_texts(task_pk))
            rows = {int(cell_id.split("-")[1]) for cell_id in cells if cell_id.startswith("tablestat-")}
        else:
            rows = view.rows
            cells.update({k: v for k, v in view.cells.items() if k.startswith("tablestat-")})
        changed = {k: v for k, v in cells.items() if view.cells.get(k) != v}
        new_rows = bool(rows - view.rows)
        points = self._points(task_pk, view, "metrics" in flags) if "metrics" in flags or view.sample_id is None \
            else []
        view.cells, view.rows = cells, rows
        sent = 0
        if changed or new_rows or points:
            self.send(task_group(task_pk), {"type": "task.update", "task": task_pk, "html": live.oob(changed),
                                            "new_rows": new_rows, "points": points})
            sent += 1
        list_cells = {k: v for k, v in cells.items() if k.startswith("task-")}
        list_changed = {k: v for k, v in list_cells.items() if view.list_cells.get(k) != v}
        view.list_cells = list_cells
        if list_changed:
            self.send(TASKS_GROUP, {"type": "task.update", "task": task_pk, "html": live.oob(list_changed)})
            self.send(DASHBOARD_GROUP, {"type": "dashboard.changed"})
            sent += 2
        self.sent_messages += sent
        return sent

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


def publisher() -> Publisher:
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = Publisher()
        return _publisher
