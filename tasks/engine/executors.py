"""Where load units run: a local pool of processes (or threads), or Celery jobs.

An executor takes LoadUnits and returns futures of UnitOutcome; progress from
the workers is collected in a queue the orchestrator drains on its own thread,
so reporters are only ever called from one thread.
"""

from __future__ import annotations

import queue
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Protocol

from endpoints.engines.conninfo import ConnectionInfo

from .load_unit import LoadUnit, UnitOutcome, load_unit

ProgressEvent = tuple[str, int, int]  # (unit key, rows, bytes)


class UnitExecutor(Protocol):
    def submit(self, key: str, unit: LoadUnit, snapshot: str | None) -> Future[UnitOutcome]: ...

    def drain(self) -> list[ProgressEvent]: ...

    def shutdown(self, cancel: bool = False) -> None: ...


_progress_queue: Any = None


def _init_worker(progress_queue: Any) -> None:
    global _progress_queue
    _progress_queue = progress_queue


def _run(source: ConnectionInfo, target: ConnectionInfo, key: str, unit: LoadUnit, commit_rate: int,
         snapshot: str | None) -> UnitOutcome:
    progress_queue = _progress_queue

    def progress(rows: int, nbytes: int) -> None:
        progress_queue.put((key, rows, nbytes))

    return load_unit(source, target, unit, commit_rate=commit_rate, snapshot=snapshot, progress=progress)


class LocalExecutor:
    """Runs units in a local pool. Processes by default: converting rows is CPU work and
    two cores only help when the GIL is not shared; threads are for tests and debugging."""

    def __init__(self, source: ConnectionInfo, target: ConnectionInfo, *, workers: int, commit_rate: int,
                 kind: str = "process"):
        self.source = source
        self.target = target
        self.commit_rate = commit_rate
        if kind == "process":
            # Imported here: most loads run in threads and need neither module.
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("spawn")
            self._queue: Any = context.Queue()
            self._pool: Executor = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                                       initializer=_init_worker, initargs=(self._queue,))
        elif kind == "thread":
            self._queue = queue.Queue()
            _init_worker(self._queue)
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load")
        else:
            raise ValueError(f"unknown executor kind {kind!r}")

    def submit(self, key: str, unit: LoadUnit, snapshot: str | None) -> Future[UnitOutcome]:
        return self._pool.submit(_run, self.source, self.target, key, unit, self.commit_rate, snapshot)

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
        for process in processes:  # a stop must not wait for a long segment to finish
            if process.is_alive():
                process.terminate()
