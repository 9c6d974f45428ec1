"""The capture heartbeat (DMS HeartbeatEnable / HeartbeatFrequency).

On an idle database nothing reaches the stream for the task's tables, so the slot's
confirmed position could lag while WAL piles up. Every period a tiny transactional
logical message is written on a normal session; it streams like a transaction with no
row changes, moves the stream's position past it, and the runner acknowledges that
position, so the slot's confirmed_flush_lsn and restart_lsn advance. No table is
needed (DMS writes one in heartbeatSchema; that attribute is accepted but unused here).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import psycopg

from ..conninfo import ConnectionInfo
from ..errors import EngineError
from .connection import connect

log = logging.getLogger(__name__)

PREFIX = "dms-heartbeat"
DEFAULT_MINUTES = 5.0


def heartbeat_period(conninfo: ConnectionInfo) -> float | None:
    """Seconds between heartbeats, or None when heartbeatEnable is off. Fractions of minutes are allowed."""
    if not conninfo.flag("heartbeatEnable"):
        return None
    text = conninfo.attr("heartbeatFrequency")
    try:
        minutes = float(text) if text else DEFAULT_MINUTES
    except ValueError:
        log.warning("heartbeatFrequency=%r is not a number of minutes: using %s.", text, DEFAULT_MINUTES)
        minutes = DEFAULT_MINUTES
    return max(minutes, 0.001) * 60


class Heartbeat:
    """Called from the stream's read loop; never raises (a failed beat is logged and retried next period)."""

    def __init__(self, conninfo: ConnectionInfo, period: float):
        self.conninfo = conninfo
        self.period = period
        self.beats = 0
        self._conn: psycopg.Connection | None = None
        self._next = time.monotonic() + period

    def maybe_beat(self, now: float) -> None:
        if now < self._next:
            return
        self._next = now + self.period
        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect(self.conninfo, autocommit=True)
            self._conn.execute("SELECT pg_logical_emit_message(true, %s, %s)",
                               (PREFIX, datetime.now(UTC).isoformat()))
            self.beats += 1
        except (psycopg.Error, EngineError) as exc:
            log.warning("Capture heartbeat failed (retried in %.0f s): %s", self.period, exc)
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = None
