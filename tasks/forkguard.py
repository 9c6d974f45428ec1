"""SQLite and fork(): keep database work of a worker's main process out of the moment it forks.

A process forked while another of its parent's threads is inside an SQLite transaction or
statement inherits SQLite's in-process lock bookkeeping, and can then never write to the
database: every write waits out the busy timeout and fails with "database is locked".
Celery's prefork pool forks its children from the worker's main process, where the
heartbeat thread and the shutdown hand-over thread use the console's database. Those
threads do their database work inside `no_fork()`, and a fork waits for it to end.
(PostgreSQL connections are not affected, but the guard costs nothing there.)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_guard = threading.Lock()


def _release() -> None:
    _guard.release()


os.register_at_fork(before=_guard.acquire, after_in_parent=_release, after_in_child=_release)


@contextmanager
def no_fork() -> Iterator[None]:
    """Database work that a fork must not interrupt. Never fork inside it (that would deadlock)."""
    with _guard:
        yield
