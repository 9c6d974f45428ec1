"""What users do to replication tasks, with DMS's state rules, roles and the audit log.

Every action: checks the actor's role (Operator: start, resume, restart, stop,
reload tables; Administrator: create, modify, delete; `actor=None` is the
command line, run by whoever holds the server), checks the task's status and
refuses with the reason, changes the row with a conditional UPDATE on the status
it checked (so two clicks, or a click racing a runner, cannot both win), writes
an audit row and a task-log line, and dispatches the runner when one is needed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from dmsconsole import audit
from dmsconsole.roles import Role, role_of
from monitoring.models import TableState, TableStatistics

from . import lease
from .models import MigrationType, ReplicationTask, StartType, Status
from .reporter import publish, write_log

log = logging.getLogger("dms.actions")

MAX_RELOAD_TABLES = 10  # DMS ReloadTables accepts at most 10 tables per call
STOP_NORMAL = "Stop Reason NORMAL"
RELOAD_BUSY_STATES = (TableState.BEFORE_LOAD, TableState.FULL_LOAD, TableState.RELOADING)


class ActionRefused(Exception):
    """The action is not allowed now; the message says why (DMS: InvalidResourceStateFault)."""


@dataclass(frozen=True)
class Rule:
    verb: str
    role: Role
    statuses: tuple[str, ...]


RULES = {
    "start": Rule("start", Role.OPERATOR, (Status.READY,)),
    "resume": Rule("resume", Role.OPERATOR, (Status.STOPPED, Status.FAILED)),
    "restart": Rule("restart", Role.OPERATOR, (Status.STOPPED, Status.FAILED)),
    "stop": Rule("stop", Role.OPERATOR, (Status.STARTING, Status.RUNNING)),
    "reload": Rule("reload tables of", Role.OPERATOR, (Status.RUNNING,)),
    "modify": Rule("modify", Role.ADMINISTRATOR, (Status.READY, Status.STOPPED, Status.FAILED)),
    "delete": Rule("delete", Role.ADMINISTRATOR, (Status.READY, Status.STOPPED, Status.FAILED, Status.CREATING)),
}
START_ACTIONS = {StartType.START: "start", StartType.RESUME: "resume", StartType.RELOAD: "restart"}


def refusal(action: str, task: ReplicationTask) -> str | None:
    """Why `action` is not allowed on `task` now, or None when it is."""
    rule = RULES[action]
    if action == "start" and task.has_run:
        return (f"Cannot start task {task.identifier} with start-replication: it has run before. Use "
                "resume-processing (Resume) or reload-target (Restart).")
    if task.status not in rule.statuses:
        allowed = " or ".join(rule.statuses)
        return (f"Cannot {rule.verb} task {task.identifier}: its status is {task.status}, and this is allowed only "
                f"when it is {allowed}.")
    if action in ("resume", "restart") and not task.has_run:
        return (f"Cannot {action} task {task.identifier}: it has never run. Use start-replication (Start) for its "
                "first run.")
    if action == "reload" and task.migration_type == MigrationType.CDC:
        return (f"Cannot reload tables of task {task.identifier}: reloading is for full-load and "
                "full-load-and-cdc tasks.")
    return None


def _check(action: str, task: ReplicationTask, actor: Any) -> None:
    rule = RULES[action]
    if actor is not None and role_of(actor.user) < rule.role:
        raise PermissionDenied(f"This needs the {rule.role.name.title()} role.")
    reason = refusal(action, task)
    if reason:
        raise ActionRefused(reason)


def _audit(actor: Any, action: str, task: ReplicationTask, detail: str = "") -> None:
    audit.record(actor, f"task.{action}", f"replication task {task.identifier}",
                 detail or ("command line" if actor is None else ""))


def _who(actor: Any) -> str:
    user = getattr(actor, "user", None)
    return f"user {user.get_username()}" if user is not None and user.is_authenticated else "the command line"


def _refreshed(task: ReplicationTask) -> ReplicationTask:
    return ReplicationTask.objects.select_related("instance", "source", "target").get(pk=task.pk)


def _raced(action: str, task: ReplicationTask) -> ActionRefused:
    current = _refreshed(task)
    return ActionRefused(refusal(action, current) or f"Task {task.identifier} changed meanwhile: try again.")


# ---- create, modify, delete (Administrator) --------------------------------------------------------

def create_task(fields: dict[str, Any], actor: Any = None) -> ReplicationTask:
    """Create a task in status ready; raises ValidationError with every problem (documents per rule)."""
    if actor is not None and role_of(actor.user) < Role.ADMINISTRATOR:
        raise PermissionDenied("This needs the Administrator role.")
    task = ReplicationTask(status=Status.READY, **fields)
    task.full_clean()
    with transaction.atomic():
        task.save()
        _audit(actor, "create", task, f"{task.migration_type} from {task.source} to {task.target} "
                                      f"on {task.instance}" + (" (command line)" if actor is None else ""))
        write_log(task, "TASK_MANAGER", "LOGGER_SEVERITY_INFO", f"Task created by {_who(actor)}")
    publish(task.pk, status=True)
    return task


RUN_FIXED_FIELDS = ("source", "target", "migration_type", "cdc_start_position", "cdc_start_time")


def modify_task(task: ReplicationTask, changes: dict[str, Any], actor: Any = None) -> ReplicationTask:
    """DMS ModifyReplicationTask: only when ready, stopped or failed; endpoints, migration type and the CDC
    start point are fixed once the task has run."""
    _check("modify", task, actor)
    fixed = [name for name in RUN_FIXED_FIELDS if name in changes and changes[name] != getattr(task, name)]
    if task.has_run and fixed:
        raise ActionRefused(f"Cannot change {', '.join(f.replace('_', ' ') for f in fixed)} of task "
                            f"{task.identifier}: it has run. Create a new task instead.")
    with transaction.atomic():
        current = ReplicationTask.objects.select_for_update().get(pk=task.pk)
        if refusal("modify", current):
            raise _raced("modify", task)
        for name, value in changes.items():
            setattr(current, name, value)
        current.full_clean()
        current.save(update_fields=sorted(set(changes) | {"task_settings", "identifier"}))
        changed = ", ".join(sorted(changes)) or "nothing"
        _audit(actor, "modify", current, f"changed: {changed}")
        write_log(current, "TASK_MANAGER", "LOGGER_SEVERITY_INFO", f"Task modified by {_who(actor)}: {changed}")
    publish(task.pk, status=True)
    return _refreshed(current)


def delete_task(task: ReplicationTask, actor: Any = None) -> ReplicationTask:
    """Refused while the task runs. The status becomes deleting; a worker of the instance removes what
    the task created on the source (replication slot, publication) and then the task itself."""
    _check("delete", task, actor)
    won = ReplicationTask.objects.filter(pk=task.pk, status__in=RULES["delete"].statuses).update(
        status=Status.DELETING, dispatch_id=lease.new_dispatch_id())
    if won != 1:
        raise _raced("delete", task)
    _audit(actor, "delete", task)
    deleting = _refreshed(task)
    if deleting.instance.online_workers().exists():
        from .jobs import delete_replication_task

        transaction.on_commit(lambda: delete_replication_task.apply_async(args=[task.pk],
                                                                           queue=deleting.instance.queue))
    else:  # no worker to ask: clean up from here (the console usually reaches the source too)
        finish_delete(task.pk)
    publish(task.pk, status=True)
    return deleting


def finish_delete(task_pk: int) -> None:
    """On a worker (or the console): end the task's capture on the source, then delete it. When the
    cleanup fails and FailTaskWhenCleanTaskResourceFailed is true the task fails instead."""
    from endpoints.engines import get_engine
    from tasks.engine.settings import parse_task_settings

    task = ReplicationTask.objects.select_related("source").filter(pk=task_pk, status=Status.DELETING).first()
    if task is None:
        return
    if task.migration_type != MigrationType.FULL_LOAD and task.has_run:
        try:
            engine = get_engine(task.source.engine)(task.source.connection_info())
            try:
                engine.end_capture(task.engine_task_id)
            finally:
                engine.close()
        except Exception as exc:
            settings = parse_task_settings(task.task_settings or None).document
            message = f"Removing the task's replication resources from source {task.source} failed: {exc}"
            if settings.get("FailTaskWhenCleanTaskResourceFailed"):
                ReplicationTask.objects.filter(pk=task_pk).update(status=Status.FAILED, last_failure_message=message)
                write_log(task, "TASK_MANAGER", "LOGGER_SEVERITY_ERROR", message)
                return
            log.warning("task %s deleted anyway: %s", task.identifier, message)
    task.delete()
    log.info("task %s deleted", task.identifier)


# ---- start, resume, restart, stop, reload (Operator) -------------------------------------------------

def start_task(task: ReplicationTask, start_type: str, actor: Any = None, *,
               cdc_points: dict[str, Any] | None = None) -> ReplicationTask:
    """DMS StartReplicationTask. start-replication: the first run only; resume-processing: from the
    checkpoint; reload-target: every table again. `cdc_points` may set cdc_start_position,
    cdc_start_time and cdc_stop_position first, as StartReplicationTask allows."""
    start_type = StartType(start_type)
    action = START_ACTIONS[start_type]
    _check(action, task, actor)
    if cdc_points:
        if task.has_run and any(cdc_points.get(k) for k in ("cdc_start_position", "cdc_start_time")):
            raise ActionRefused(f"Task {task.identifier} has run: its CDC start point is fixed (resume continues "
                                "from its checkpoint). Create a new task to start elsewhere.")
        _set_cdc_points(task, cdc_points)
    now = timezone.now()
    dispatch_id = lease.new_dispatch_id()
    fields: dict[str, Any] = dict(
        status=Status.STARTING, dispatch_id=dispatch_id, last_start_type=start_type, start_date=now, stop_date=None,
        stop_reason="", last_failure_message="", recoverable_attempts=0, handoff_requested=False,
        reload_requested="", fresh_started=start_type == StartType.RESUME)
    fresh = start_type != StartType.RESUME
    if fresh:
        fields.update(fresh_start_date=now, full_load_start_date=None, full_load_finish_date=None,
                      full_load_progress_percent=0, tables_loaded=0, tables_loading=0, tables_queued=0,
                      tables_errored=0, recovery_checkpoint="", latest_metrics={})
    with transaction.atomic():
        won = ReplicationTask.objects.filter(pk=task.pk, status__in=RULES[action].statuses,
                                             lease_owner__isnull=True).update(**fields)
        if won != 1:
            raise _raced(action, task)
        if fresh:
            TableStatistics.objects.filter(task_id=task.pk).delete()
        started = _refreshed(task)
        _audit(actor, action, started, start_type.value + (" (command line)" if actor is None else ""))
        write_log(started, "TASK_MANAGER", "LOGGER_SEVERITY_INFO",
                  f"Task {start_type.label.lower()} requested by {_who(actor)} ({start_type.value})")
        dispatch(started, dispatch_id, start_type.value)
    publish(task.pk, status=True)
    return started


def _set_cdc_points(task: ReplicationTask, points: dict[str, Any]) -> None:
    for name, value in points.items():
        if value is not None:
            setattr(task, name, value)
    task.full_clean()
    ReplicationTask.objects.filter(pk=task.pk).update(**{k: getattr(task, k) for k in points if points[k] is not None})


def dispatch(task: ReplicationTask, dispatch_id: str, mode: str, *, previous_owner: str = "", reason: str = "",
             countdown: float | None = None) -> None:
    """Send the runner job to the task's instance queue once the current transaction commits."""
    from datetime import timedelta

    from .jobs import run_replication_task

    queue = task.instance.queue
    ReplicationTask.objects.filter(pk=task.pk, dispatch_id=dispatch_id).update(
        dispatched_at=timezone.now() + timedelta(seconds=countdown or 0))
    transaction.on_commit(lambda: run_replication_task.apply_async(
        args=[task.pk, dispatch_id, mode], kwargs={"previous_owner": previous_owner, "reason": reason},
        queue=queue, countdown=countdown))
    log.info("task %s dispatched mode=%s reason=%s queue=%s", task.identifier, mode, reason or "-", queue)


def stop_task(task: ReplicationTask, actor: Any = None) -> ReplicationTask:
    """DMS StopReplicationTask: the runner stops at a transaction boundary, its checkpoint kept. A task no
    worker has picked up yet stops at once."""
    _check("stop", task, actor)
    now = timezone.now()
    with transaction.atomic():
        stopped_now = ReplicationTask.objects.filter(
            pk=task.pk, status__in=RULES["stop"].statuses, lease_owner__isnull=True).update(
            status=Status.STOPPED, stop_reason=STOP_NORMAL, stop_date=now, dispatch_id=lease.new_dispatch_id())
        if not stopped_now:
            won = ReplicationTask.objects.filter(pk=task.pk, status__in=RULES["stop"].statuses).update(
                status=Status.STOPPING)
            if won != 1:
                raise _raced("stop", task)
        current = _refreshed(task)
        _audit(actor, "stop", current)
        write_log(current, "TASK_MANAGER", "LOGGER_SEVERITY_INFO", f"Task stop requested by {_who(actor)}")
    publish(task.pk, status=True)
    return current


def reload_tables(task: ReplicationTask, tables: Iterable[tuple[str, str]], actor: Any = None, *,
                  reload_option: str = "data-reload") -> ReplicationTask:
    """DMS ReloadTables: the task keeps running; the runner reloads these tables while the others keep
    replicating. At most 10 tables; each must be a table of the task."""
    _check("reload", task, actor)
    wanted = list(dict.fromkeys((schema, table) for schema, table in tables))
    if reload_option != "data-reload":
        raise ActionRefused(f"Reload option {reload_option!r} is not supported: validation is not implemented; use "
                            "data-reload.")
    if not wanted:
        raise ActionRefused("Name at least one table to reload.")
    if len(wanted) > MAX_RELOAD_TABLES:
        raise ActionRefused(f"Reload at most {MAX_RELOAD_TABLES} tables at a time ({len(wanted)} given).")
    states = {(s, t): state for s, t, state in TableStatistics.objects.filter(task_id=task.pk).values_list(
        "schema_name", "table_name", "table_state")}
    unknown = [f"{s}.{t}" for s, t in wanted if (s, t) not in states]
    if unknown:
        raise ActionRefused(f"Not tables of task {task.identifier}: {', '.join(unknown)}.")
    loading = [f"{s}.{t}" for s, t in wanted if states[(s, t)] in RELOAD_BUSY_STATES]
    if loading:
        raise ActionRefused(f"Still loading, so not reloaded: {', '.join(loading)}. Reload a table once its load "
                            "finished (or failed).")
    with transaction.atomic():
        current = ReplicationTask.objects.select_for_update().get(pk=task.pk)
        if refusal("reload", current):
            raise _raced("reload", task)
        pending = current.pending_reloads()
        merged = pending + [t for t in wanted if t not in pending]
        ReplicationTask.objects.filter(pk=task.pk, status=Status.RUNNING).update(
            reload_requested=json.dumps([list(t) for t in merged]))
        names = ", ".join(f"{s}.{t}" for s, t in wanted)
        _audit(actor, "reload-tables", current, names)
        write_log(current, "TASK_MANAGER", "LOGGER_SEVERITY_INFO", f"Reload of {names} requested by {_who(actor)}")
    publish(task.pk, status=True)
    return _refreshed(task)


def validation_messages(exc: ValidationError) -> list[str]:
    """Every message of a ValidationError, prefixed with its field when it has one."""
    if hasattr(exc, "message_dict"):
        return [f"{field}: {m}" if field != "__all__" else m
                for field, messages in exc.message_dict.items() for m in messages]
    return list(exc.messages)
