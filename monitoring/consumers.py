"""Websocket consumers. Each refuses a visitor who is not signed in (or holds no role) in connect()."""

from __future__ import annotations

import asyncio
import contextlib

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string

from dmsconsole.roles import Role, role_of

INSTANCES_GROUP = "instances-list"


def _may_watch(user) -> bool:
    return role_of(user) >= Role.VIEWER


class SignedInConsumer(AsyncWebsocketConsumer):
    """Base: close the handshake for anonymous users and users without a role."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await database_sync_to_async(_may_watch)(user):
            await self.close(code=4403)
            return
        await self.accept()
        await self.joined()

    async def joined(self) -> None:  # pragma: no cover - subclasses override
        pass


class InstancesConsumer(SignedInConsumer):
    """The Replication instances page: the rows (status, online workers), then each change.

    Workers going offline produce no event (they just stop beating), so the consumer
    re-renders every heartbeat interval and sends only when the HTML changed.
    """

    async def joined(self) -> None:
        self._last = ""
        await self.channel_layer.group_add(INSTANCES_GROUP, self.channel_name)
        await self.push()
        self._ticker = asyncio.create_task(self._tick())

    async def disconnect(self, code: int) -> None:
        ticker = getattr(self, "_ticker", None)
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        with contextlib.suppress(Exception):
            await self.channel_layer.group_discard(INSTANCES_GROUP, self.channel_name)

    async def _tick(self) -> None:
        interval = int(getattr(settings, "DMS_HEARTBEAT_SECONDS", 5))
        while True:
            await asyncio.sleep(interval)
            await self.push()

    async def instances_changed(self, event: dict) -> None:
        await self.push()

    async def push(self) -> None:
        html = await database_sync_to_async(_render_instance_rows)(self.scope["user"])
        if html != self._last:
            self._last = html
            await self.send(text_data=html)


def _render_instance_rows(user) -> str:
    from dmsconsole.roles import role_context
    from tasks.views import instance_rows_context

    class _Request:  # role_context reads request.user only
        pass

    request = _Request()
    request.user = user
    return render_to_string("instances/list.html#instance-rows",
                            {**instance_rows_context(), **role_context(request), "oob": True})
