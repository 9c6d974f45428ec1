"""A local pool of loader processes for a runner on a worker (Django-free: spawned children import it).

Like the engine's LocalExecutor, with one difference that matters on a worker: the
children die with the runner's process (Linux PR_SET_PDEATHSIG). When a worker is
killed, an orphaned loader must not keep writing into a table that the runner
taking the task over is about to prepare again.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from endpoints.engines.conninfo import ConnectionInfo
from tasks.engine.executors import ProgressEvent
from tasks.engine.load_unit import LoadUnit, UnitOutcome, load_unit

PR_SET_PDEATHSIG = 1
_progress: Any = None


def _init_child(progress_queue: Any, parent_pid: int) -> None:
    global _progress
    _progress = progress_queue
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: orphans finish their unit, as with LocalExecutor
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _child_run(source: ConnectionInfo, target: ConnectionInfo, key: str, unit: LoadUnit, commit_rate: int,
               snapshot: str | None) -> UnitOutcome:
    progress_queue = _progress

    def progress(rows: int, nbytes: int) -> None:
        progress_queue.put((key, rows, nbytes))

    return load_unit(source, target, unit, commit_rate=commit_rate, snapshot=snapshot, progress=progress)


def _thread_run(progress_queue: Any, source: ConnectionInfo, target: ConnectionInfo, key: str, unit: LoadUnit,
                commit_rate: int, snapshot: str | None) -> UnitOutcome:
    def progress(rows: int, nbytes: int) -> None:
        progress_queue.put((key, rows, nbytes))

    return load_unit(source, target, unit, commit_rate=commit_rate, snapshot=snapshot, progress=progress)


class LocalUnits:
    """UnitExecutor over spawned processes that die with their parent. Threads instead when asked (one
    unit gains nothing from a process it must first start) and inside a daemonic process (a Celery
    prefork pool child may not have children of its own)."""

    def __init__(self, source: ConnectionInfo, target: ConnectionInfo, *, workers: int, commit_rate: int,
                 threads: bool = False):
        self.source, self.target, self.commit_rate = source, target, commit_rate
        self.threads = threads or bool(multiprocessing.current_process().daemon)
        if self.threads:
            self._queue: Any = queue.Queue()
            self._pool: Executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="load")
            return
        context = multiprocessing.get_context("spawn")
        self._queue = context.Queue()
        self._pool = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context,
                                         initializer=_init_child, initargs=(self._queue, os.getpid()))

    def submit(self, key: str, unit: LoadUnit, snapshot: str | None) -> Future[UnitOutcome]:
        if self.threads:
            return self._pool.submit(_thread_run, self._queue, self.source, self.target, key, unit, self.commit_rate,
                                     snapshot)
        return self._pool.submit(_child_run, self.source, self.target, key, unit, self.commit_rate, snapshot)

    def drain(self) -> list[ProgressEvent]:
        events = []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events

    def shutdown(self, cancel: bool = False) -> None:
        processes = list(getattr(self._pool, "_processes", {}).values()) if cancel else []
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
        for process in processes:  # a stop must not wait for a long unit to finish
            if process.is_alive():
                process.terminate()
