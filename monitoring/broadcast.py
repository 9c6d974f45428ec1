"""All group_send calls, made after the transaction commits so clients never see uncommitted state."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger("dms.broadcast")


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a live page missing one update is not worth failing the action for
        log.warning("broadcast to %s failed", group, exc_info=True)


def instances_changed() -> None:
    from .consumers import INSTANCES_GROUP

    transaction.on_commit(lambda: _send(INSTANCES_GROUP, {"type": "instances.changed"}))
