"""Full-load units (tables and key-range segments) as Celery jobs on the task's instance queue.

`RemoteUnits` implements the engine's UnitExecutor: each LoadUnit becomes a
`dms.tasks.load_segment` job on the instance's queue, so every worker of the
instance (on this machine or another) shares the load. The runner and its jobs
talk through Redis, under keys named by the run (task pk and dispatch id):
  claim:<n>   the worker that took unit n (SET NX: exactly one taker)
  alive:<n>   renewed every second by the job while it loads (expires when its worker dies)
  progress    (unit key, rows, bytes) events, drained by the runner's full load
  done        each unit's outcome or error
  cancel      set when the runner stops: jobs abort before their next batch
Passwords never travel through Redis: a job reads the endpoints from the console's
database. The unit itself (the table plan and segment) travels pickled and signed
with SECRET_KEY, so only this deployment can hand a worker something to load.

Safety: a job checks before each batch that its run is still the task's current
dispatch; a runner taking a task over waits until the previous run's jobs are
gone before it prepares any table. A unit no worker picks up within
PICKUP_SECONDS (every slot may be busy running tasks) runs in the runner's own
process pool instead. A unit whose worker dies stops the run, which resumes
(the unfinished tables reload) on a live worker: Multi-AZ failover for loaders.
"""

from __future__ import annotations

import base64
import dataclasses
import hmac
import itertools
import json
import logging
import pickle
import threading
import time
from concurrent.futures import Future
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils.crypto import salted_hmac

from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from tasks.engine.executors import ProgressEvent
from tasks.engine.load_unit import LoadUnit, UnitOutcome, load_unit

from .unit_pool import LocalUnits

log = logging.getLogger("dms.segments")

PICKUP_SECONDS = 10.0  # a unit not picked up by any worker by then runs locally
ALIVE_TTL = 5  # seconds an alive key outlives its last renewal
ALIVE_EVERY = 1.0
POLL_SECONDS = 0.2
KEY_TTL = 6 * 3600  # run keys are left to expire: a run's jobs may report late
_SALT = "dms.tasks.segments.unit"

_redis_client: Any = None
_redis_lock = threading.Lock()


def redis() -> Any:
    global _redis_client
    with _redis_lock:
        if _redis_client is None:
            import redis as redis_lib

            _redis_client = redis_lib.Redis.from_url(settings.REDIS_URL, decode_responses=True)
        return _redis_client


def run_prefix(task_pk: int, dispatch_id: str) -> str:
    return f"dms:units:{task_pk}:{dispatch_id}"


def seal(unit_key: str, unit: LoadUnit, snapshot: str | None, commit_rate: int) -> str:
    data = pickle.dumps((unit_key, unit, snapshot, commit_rate))
    signature = salted_hmac(_SALT, data, algorithm="sha256").digest()
    return base64.b64encode(signature + data).decode()


def unseal(payload: str) -> tuple[str, LoadUnit, str | None, int]:
    raw = base64.b64decode(payload)
    signature, data = raw[:32], raw[32:]
    if not hmac.compare_digest(signature, salted_hmac(_SALT, data, algorithm="sha256").digest()):
        raise EngineError("A load unit arrived with a bad signature: is SECRET_KEY the same on every worker?",
                          kind=ErrorKind.CONFIGURATION)
    return pickle.loads(data)  # noqa: S301 - signed by this deployment's SECRET_KEY just above


class UnitLost(EngineError):
    pass


@dataclasses.dataclass
class _Pending:
    future: Future
    key: str
    unit: LoadUnit
    snapshot: str | None
    submitted: float
    claimed_seen: float | None = None


class RemoteUnits:
    """UnitExecutor over Celery jobs on the instance's queue (see the module docstring)."""

    def __init__(self, *, task_pk: int, dispatch_id: str, queue: str, commit_rate: int, source: ConnectionInfo,
                 target: ConnectionInfo, local_workers: int, stop: threading.Event):
        self.task_pk, self.dispatch_id, self.queue, self.commit_rate = task_pk, dispatch_id, queue, commit_rate
        self.source, self.target, self.local_workers, self.stop = source, target, local_workers, stop
        self.prefix = run_prefix(task_pk, dispatch_id)
        self.lost: str | None = None  # "worker W loading <unit>" when a loader's worker died
        self.remote_units = self.local_units = 0
        self._numbers = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._local: LocalUnits | None = None
        self._closing = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="units-poller", daemon=True)
        self._poller.start()

    # -- UnitExecutor ----------------------------------------------------------------------------
    def submit(self, key: str, unit: LoadUnit, snapshot: str | None) -> Future[UnitOutcome]:
        from .jobs import load_segment

        number = next(self._numbers)
        future: Future[UnitOutcome] = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            self._pending[number] = _Pending(future, key, unit, snapshot, time.monotonic())
        load_segment.apply_async(args=[self.task_pk, self.dispatch_id, number,
                                       seal(key, unit, snapshot, self.commit_rate)], queue=self.queue)
        return future

    def drain(self) -> list[ProgressEvent]:
        events: list[ProgressEvent] = []
        client = redis()
        while True:
            items = client.lpop(f"{self.prefix}:progress", 500)
            if not items:
                break
            events.extend(tuple(json.loads(item)) for item in items)
        if self._local is not None:
            events.extend(self._local.drain())
        return events

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            redis().set(f"{self.prefix}:cancel", "1", ex=KEY_TTL)
            with self._lock:
                for pending in self._pending.values():
                    if not pending.future.done():
                        pending.future.cancel()
        if self._local is not None:
            self._local.shutdown(cancel=cancel)
        self._closing.set()
        self._poller.join(timeout=10)
        for suffix in ("progress", "done"):
            redis().expire(f"{self.prefix}:{suffix}", KEY_TTL)

    # -- the poller ------------------------------------------------------------------------------
    def _poll(self) -> None:
        client = redis()
        while not self._closing.wait(POLL_SECONDS):
            try:
                self._take_results(client)
                self._watch(client)
            except Exception:  # Redis blips: the next round tries again
                log.warning("unit poller for task %s: Redis error", self.task_pk, exc_info=True)

    def _take_results(self, client: Any) -> None:
        while True:
            item = client.lpop(f"{self.prefix}:done")
            if item is None:
                return
            result = json.loads(item)
            with self._lock:
                pending = self._pending.pop(result["n"], None)
            if pending is None or pending.future.done():
                continue
            if result["ok"]:
                self.remote_units += 1
                pending.future.set_result(UnitOutcome(**result["outcome"]))
            else:
                pending.future.set_exception(EngineError(result["error"]))

    def _watch(self, client: Any) -> None:
        now = time.monotonic()
        with self._lock:
            waiting = [(n, p) for n, p in self._pending.items() if not p.future.done()]
        for number, pending in waiting:
            claimed = client.get(f"{self.prefix}:claim:{number}")
            if claimed is None:
                if now - pending.submitted > PICKUP_SECONDS and \
                        client.set(f"{self.prefix}:claim:{number}", "local", nx=True, ex=KEY_TTL):
                    self._run_locally(number, pending)
                continue
            if claimed == "local":
                continue
            if pending.claimed_seen is None:
                pending.claimed_seen = now
            elif now - pending.claimed_seen > ALIVE_TTL and not client.exists(f"{self.prefix}:alive:{number}"):
                self._take_results(client)  # it may have finished just now
                if not pending.future.done():
                    self._lose(claimed, pending)

    def _run_locally(self, number: int, pending: _Pending) -> None:
        if self._local is None:
            self._local = LocalUnits(self.source, self.target, workers=self.local_workers,
                                     commit_rate=self.commit_rate)
        log.info("task %s: %s not picked up within %.0f s; loading it in the runner's pool", self.task_pk,
                 pending.unit.label, PICKUP_SECONDS)
        self.local_units += 1
        inner = self._local.submit(pending.key, pending.unit, pending.snapshot)

        def copy(done: Future) -> None:
            with self._lock:
                self._pending.pop(number, None)
            if pending.future.done():
                return
            if done.cancelled():
                pending.future.cancel()
            elif done.exception() is not None:
                pending.future.set_exception(done.exception())
            else:
                pending.future.set_result(done.result())

        inner.add_done_callback(copy)

    def _lose(self, worker: str, pending: _Pending) -> None:
        self.lost = f"worker {worker.split('|')[0]} loading {pending.unit.label}"
        log.warning("task %s: %s stopped answering", self.task_pk, self.lost)
        self.stop.set()  # the run stops and resumes: unfinished tables load again on live workers
        pending.future.set_exception(UnitLost(f"The {self.lost} stopped answering.", kind=ErrorKind.CONNECTION))


# ---- the job side ------------------------------------------------------------------------------------

class UnitCancelled(Exception):
    pass


def run_segment(task_pk: int, dispatch_id: str, number: int, payload: str, worker: str) -> None:
    """Body of the load_segment job: claim unit `number`, load it, report progress and the outcome."""
    from .models import ReplicationTask

    client = redis()
    prefix = run_prefix(task_pk, dispatch_id)
    if not client.set(f"{prefix}:claim:{number}", worker, nx=True, ex=KEY_TTL):
        return  # the runner loaded it itself, or this is a redelivered copy
    client.set(f"{prefix}:alive:{number}", worker, ex=ALIVE_TTL)
    task = ReplicationTask.objects.select_related("source", "target").filter(pk=task_pk).first()
    if task is None or task.dispatch_id != dispatch_id:
        _done(client, prefix, number, error="The run this unit belongs to is over.")
        return
    abort = threading.Event()
    stop_watch = threading.Event()
    watcher = threading.Thread(target=_watch_run, args=(client, prefix, number, worker, task_pk, dispatch_id,
                                                        abort, stop_watch), daemon=True, name="unit-alive")
    watcher.start()
    try:
        unit_key, unit, snapshot, commit_rate = unseal(payload)

        def progress(rows: int, nbytes: int) -> None:
            if abort.is_set():
                raise UnitCancelled(f"{unit.label}: the run was stopped or taken over")
            client.rpush(f"{prefix}:progress", json.dumps([unit_key, rows, nbytes]))

        outcome = load_unit(plain_info(task.source.connection_info()), plain_info(task.target.connection_info()), unit,
                            commit_rate=commit_rate, snapshot=snapshot, progress=progress)
        _done(client, prefix, number, outcome=dataclasses.asdict(outcome))
    except Exception as exc:
        _done(client, prefix, number, error=str(exc) or type(exc).__name__)
    finally:
        stop_watch.set()
        watcher.join(timeout=5)


def _done(client: Any, prefix: str, number: int, *, outcome: dict | None = None, error: str | None = None) -> None:
    client.rpush(f"{prefix}:done", json.dumps({"n": number, "ok": error is None, "outcome": outcome,
                                                "error": error}))
    client.expire(f"{prefix}:done", KEY_TTL)


def _watch_run(client: Any, prefix: str, number: int, worker: str, task_pk: int, dispatch_id: str,
               abort: threading.Event, stop: threading.Event) -> None:
    """Keep the alive key fresh; abort when the runner cancelled or the run is no longer current."""
    from .models import ReplicationTask

    close_old_connections()
    try:
        while not stop.wait(ALIVE_EVERY):
            try:
                client.set(f"{prefix}:alive:{number}", worker, ex=ALIVE_TTL)
                current = ReplicationTask.objects.filter(pk=task_pk).values_list("dispatch_id", flat=True).first()
                if client.exists(f"{prefix}:cancel") or current != dispatch_id:
                    abort.set()
            except Exception:
                log.warning("unit %s of task %s: could not check its run", number, task_pk, exc_info=True)
                connection.close()
    finally:
        connection.close()


def wait_for_previous_runs(task_pk: int, dispatch_id: str, timeout: float = 30.0) -> bool:
    """Before a runner prepares tables: wait until loaders of earlier runs of the task are gone (they
    abort within a second or two of a takeover; a dead worker's keys expire within ALIVE_TTL)."""
    client = redis()
    mine = f"dms:units:{task_pk}:{dispatch_id}:"
    deadline = time.monotonic() + timeout
    while True:
        others = [k for k in client.scan_iter(f"dms:units:{task_pk}:*:alive:*", count=1000)
                  if not k.startswith(mine)]
        if not others:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def plain_info(info: ConnectionInfo) -> ConnectionInfo:
    """A picklable copy (the model gives extra attributes as a read-only mapping)."""
    return dataclasses.replace(info, extra=dict(info.extra))
