"""Websockets: the real ASGI application refuses anyone not signed in, and serves those who are."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from dmsconsole.asgi import application
from dmsconsole.tests import personas
from dmsconsole.tests.fixtures import make_instance

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://localhost")


def _session_cookie(role: str | None) -> tuple[bytes, bytes]:
    client = personas.client_for(role)
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode())


async def _connect(headers):
    communicator = WebsocketCommunicator(application, "/ws/instances/", headers=headers)
    connected, code = await communicator.connect(timeout=10)
    return communicator, connected, code


def test_it_refuses_an_unauthenticated_websocket():
    import asyncio

    async def scenario():
        communicator, connected, code = await _connect([ORIGIN, (b"host", b"localhost")])
        await communicator.disconnect()
        return connected, code

    connected, code = asyncio.run(scenario())
    assert not connected
    assert code == 4403


def test_it_refuses_a_signed_in_user_without_a_role():
    import asyncio

    cookie = _session_cookie(None)

    async def scenario():
        communicator, connected, code = await _connect([ORIGIN, cookie])
        await communicator.disconnect()
        return connected, code

    assert asyncio.run(scenario()) == (False, 4403)


def test_it_serves_a_signed_in_viewer_the_instance_rows_at_once():
    import asyncio

    make_instance("ri-live")
    cookie = _session_cookie("viewer")

    async def scenario():
        communicator, connected, _ = await _connect([ORIGIN, cookie])
        assert connected
        first = await communicator.receive_from(timeout=10)
        await sync_to_async(make_instance)("ri-later")
        from monitoring.broadcast import _send
        from monitoring.consumers import INSTANCES_GROUP

        await sync_to_async(_send)(INSTANCES_GROUP, {"type": "instances.changed"})
        second = await communicator.receive_from(timeout=10)
        await communicator.disconnect()
        return first, second

    first, second = asyncio.run(scenario())
    assert 'id="instance-rows"' in first and "ri-live" in first and "ri-later" not in first
    assert "ri-later" in second
