"""What every target's control tables show of a checkpoint, for people reading them."""

from __future__ import annotations

import json
from datetime import UTC, datetime


def commit_position(checkpoint: str, max_length: int | None = None) -> str | None:
    """The source position a checkpoint covers (awsdms_txn_state's commit position column): the apply
    loop's checkpoints are JSON with the last applied position, else its start. None when the text is
    not such JSON, names no position, or the position is longer than the column holds (the checkpoint
    column, which resume uses, always has it whole)."""
    try:
        data = json.loads(checkpoint)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    position = data.get("position") or data.get("start")
    if not position:
        return None
    text = str(position)
    return None if max_length is not None and len(text) > max_length else text


def naive_utc(moment: datetime | None) -> datetime | None:
    """Control tables keep UTC without a zone."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
