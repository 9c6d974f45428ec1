"""DMS's CdcStopPosition: "server_time:2018-02-09T12:12:12" or "commit_time:2018-02-09T12:12:12" (UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class StopPosition:
    server_time: datetime | None = None  # stop when the worker's clock reaches it
    commit_time: datetime | None = None  # stop before the first transaction committed after it

    def reached_server_time(self) -> bool:
        return self.server_time is not None and datetime.now(UTC).replace(tzinfo=None) >= self.server_time


def parse_stop_position(text: str | None) -> StopPosition | None:
    if not text:
        return None
    kind, sep, value = text.strip().partition(":")
    if not sep or kind not in ("server_time", "commit_time"):
        raise ValueError(
            f"CdcStopPosition {text!r} is not understood: use server_time:YYYY-MM-DDTHH:MM:SS "
            "or commit_time:YYYY-MM-DDTHH:MM:SS (UTC)"
        )
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"CdcStopPosition {text!r}: {value!r} is not a time like 2018-02-09T12:12:12") from None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return StopPosition(server_time=when) if kind == "server_time" else StopPosition(commit_time=when)
