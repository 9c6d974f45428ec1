"""Websocket consumers. Each refuses a visitor who is not signed in (or holds no role) in connect(),
joins a narrow group, sends the current state right after accepting, then only deltas.

Messages to the browser are htmx out-of-band swaps (the htmx ws extension applies them), except
chart points, which are JSON {"task": pk, "points": [...]} for static/monitoring/live.js.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string

from dmsconsole.roles import Role, role_of

from .broadcast import DASHBOARD_GROUP, INSTANCES_GROUP, TASKS_GROUP, task_group

__all__ = ["INSTANCES_GROUP", "DashboardConsumer", "InstancesConsumer", "TaskConsumer", "TasksListConsumer"]

DASHBOARD_MIN_INTERVAL = 1.0  # seconds between two dashboard renders for one client
MAX_CATCH_UP_POINTS = 500


def _may_watch(user) -> bool:
    return role_of(user) >= Role.VIEWER


class SignedInConsumer(AsyncWebsocketConsumer):
    """Base: close the handshake for anonymous users and users without a role."""

    groups_joined: tuple[str, ...] = ()

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await database_sync_to_async(_may_watch)(user):
            await self.close(code=4403)
            return
        await self.accept()
        await self.joined()

    async def joined(self) -> None:  # pragma: no cover - subclasses override
        pass

    async def join(self, *groups: str) -> None:
        self.groups_joined = groups
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(group, self.channel_name)


class Ticking(SignedInConsumer):
    """A page re-rendered whole on change events (at most every `min_interval` s) and every heartbeat,
    sent only when the HTML changed: workers going offline produce no event, they just stop beating."""

    min_interval = 0.0

    async def start_ticking(self) -> None:
        self._last = ""
        self._dirty = asyncio.Event()
        await self.push()
        self._ticker = asyncio.create_task(self._tick())

    async def disconnect(self, code: int) -> None:
        ticker = getattr(self, "_ticker", None)
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        await super().disconnect(code)

    async def _tick(self) -> None:
        interval = int(getattr(settings, "DMS_HEARTBEAT_SECONDS", 5))
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), timeout=interval)
            self._dirty.clear()
            await self.push()
            if self.min_interval:
                await asyncio.sleep(self.min_interval)

    async def push(self) -> None:
        html = await database_sync_to_async(self.render)()
        if html != self._last:
            self._last = html
            await self.send(text_data=html)

    def render(self) -> str:  # pragma: no cover - subclasses override
        raise NotImplementedError


class InstancesConsumer(Ticking):
    """The Replication instances page: the rows (status, online workers), then each change."""

    async def joined(self) -> None:
        await self.join(INSTANCES_GROUP)
        await self.start_ticking()

    async def instances_changed(self, event: dict) -> None:
        await self.push()

    def render(self) -> str:
        from tasks.views import instance_rows_context

        return render_to_string("instances/list.html#instance-rows",
                                {**instance_rows_context(), **_role_context(self.scope["user"]), "oob": True})


class DashboardConsumer(Ticking):
    """The dashboard's live widgets: tasks by status, CDC latency by task, instances and workers."""

    min_interval = DASHBOARD_MIN_INTERVAL

    async def joined(self) -> None:
        await self.join(DASHBOARD_GROUP, INSTANCES_GROUP)
        await self.start_ticking()

    async def dashboard_changed(self, event: dict) -> None:
        self._dirty.set()

    async def instances_changed(self, event: dict) -> None:
        self._dirty.set()

    def render(self) -> str:
        from .dashboard import render_widgets

        return render_widgets()


class TaskConsumer(SignedInConsumer):
    """A task's page: its status and counters, Table statistics cells and new rows, chart points.

    The page's socket URL says what the page holds: `rows` (its newest Table statistics row) and
    `since` (when its chart history was read); the current state fills in the rest."""

    async def joined(self) -> None:
        self.task_pk = int(self.scope["url_route"]["kwargs"]["pk"])
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.row_max = _number(query, "rows", int)
        since = _number(query, "since", float)
        await self.join(task_group(self.task_pk))  # before reading, so nothing between is missed
        found, html, points = await database_sync_to_async(self._current)(since)
        if not found:
            await self.close(code=4404)
            return
        await self.send(text_data=html)
        if points:
            await self.send(text_data=json.dumps({"task": self.task_pk, "points": points}))

    def _current(self, since: float) -> tuple[bool, str, list[dict]]:
        from datetime import UTC, datetime

        from . import live
        from .models import MetricSample
        from .samples import point_of

        tasks = live.task_rows([self.task_pk])
        if not tasks:
            return False, "", []
        cells = {**live.task_cell_texts(tasks[0]), **live.stat_cell_texts(self.task_pk)}
        html = self._new_rows() + live.oob(cells)
        recent = MetricSample.objects.filter(task_id=self.task_pk, resolution=0,
                                             time__gt=datetime.fromtimestamp(since, tz=UTC)).order_by("-time")
        points = [point_of(sample) for sample in reversed(recent[:MAX_CATCH_UP_POINTS])]
        return True, html, points

    def _new_rows(self) -> str:
        from tasks.actions import refusal
        from tasks.models import ReplicationTask

        from . import live

        rows = live.stat_rows(self.task_pk, after=self.row_max)
        if not rows:
            return ""
        self.row_max = max(row["pk"] for row in rows)
        task = ReplicationTask.objects.filter(pk=self.task_pk).first()
        selectable = bool(task) and role_of(self.scope["user"]) >= Role.OPERATOR and refusal("reload", task) is None
        return live.appended_rows(self.task_pk, rows, selectable=selectable)

    async def task_update(self, event: dict) -> None:
        html = event["html"]
        if event.get("new_rows"):
            html = await database_sync_to_async(self._new_rows)() + html
        if html:
            await self.send(text_data=html)
        if event.get("points"):
            await self.send(text_data=json.dumps({"task": self.task_pk, "points": event["points"]}))


class TasksListConsumer(SignedInConsumer):
    """The tasks list: every task's status, progress, table counters and CDC latency, then each change.
    A task the list does not hold yet (created since), or one deleted, is an event instead: the list
    fetches itself again (JSON {"event": "tasks-changed"}, turned into an htmx trigger by live.js)."""

    async def joined(self) -> None:
        await self.join(TASKS_GROUP)
        self.known, html = await database_sync_to_async(_all_task_cells)()
        await self.send(text_data=html)

    async def task_update(self, event: dict) -> None:
        if event["task"] not in self.known:
            self.known.add(event["task"])
            await self.send(text_data=json.dumps({"event": "tasks-changed"}))
            return
        await self.send(text_data=event["html"])

    async def task_removed(self, event: dict) -> None:
        if event["task"] in self.known:
            self.known.discard(event["task"])
            await self.send(text_data=json.dumps({"event": "tasks-changed"}))


def _all_task_cells() -> tuple[set[int], str]:
    from . import live

    cells: dict[str, str] = {}
    tasks = live.task_rows()
    for task in tasks:
        cells.update(live.task_cell_texts(task))
    return {task.pk for task in tasks}, live.oob(cells)


def _number(query: dict[str, list[str]], name: str, kind: type) -> float:
    try:
        return kind(query.get(name, ["0"])[0])
    except ValueError:
        return kind(0)


def _role_context(user) -> dict:
    from dmsconsole.roles import role_context

    class _Request:  # role_context reads request.user only
        pass

    request = _Request()
    request.user = user
    return role_context(request)
