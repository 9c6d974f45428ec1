"""Replication task verbs, with the AWS CLI's names and options (`aws dms <verb>`), plus `scheduler`.

    python manage.py dms create-replication-task --replication-task-identifier orders \
        --source-endpoint-arn mysql-src --target-endpoint-arn pg-tgt --replication-instance-arn ri-1 \
        --migration-type full-load-and-cdc --table-mappings file://mappings.json
    python manage.py dms start-replication-task --replication-task-arn orders \
        --start-replication-task-type start-replication

`--*-arn` options take the ARN describe-* prints (arn:aws:dms:local:000000000000:task:<id>, see
tasks/arns.py) or the plain identifier. Documents are JSON text or file://PATH, as in the AWS CLI.
Output is the AWS CLI's JSON; errors exit 1 with the message on stderr.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management import CommandError

from dmsconsole.cli import Verb, verb
from monitoring.models import TableStatistics, TaskLog

from . import actions
from .arns import ArnError, find_endpoint, find_instance, find_task, split_arn, task_arn
from .describe import describe_table, describe_task
from .models import MigrationType, ReplicationTask, StartType

TASK_FILTERS = ("replication-task-arn", "replication-task-id", "migration-type", "endpoint-arn",
                "replication-instance-arn")
TABLE_FILTERS = ("schema-name", "table-name", "table-state")


def _print(command: Any, data: dict) -> None:
    command.stdout.write(json.dumps(data, indent=4, ensure_ascii=False))


def _lookup(finder: Any, value: str) -> Any:
    try:
        return finder(value)
    except ArnError as exc:
        raise CommandError(str(exc)) from None


def document(value: str | None) -> str | None:
    """JSON text as given, or the contents of file://PATH (the AWS CLI's convention)."""
    if value is None:
        return None
    if value.startswith("file://"):
        path = Path(value[len("file://"):]).expanduser()
        try:
            return path.read_text()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
    return value


def timestamp(value: str | None) -> datetime | None:
    """An AWS CLI timestamp: epoch seconds or ISO 8601 (UTC when no offset is given)."""
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"{value!r} is not a time: use epoch seconds or 2026-01-31T12:00:00.") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def shorthand(values: list[str] | None, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """AWS CLI list-of-structures arguments: JSON (`[{"Name": ...}]`) or shorthand items
    (`Name=x,Values=a,b` / `SchemaName=s,TableName=t`; the last key collects the rest)."""
    items: list[dict[str, Any]] = []
    for value in values or []:
        text = value.strip()
        if text.startswith("[") or text.startswith("{"):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CommandError(f"{value!r} is not valid JSON: {exc.msg}.") from None
            items.extend(parsed if isinstance(parsed, list) else [parsed])
            continue
        item: dict[str, Any] = {}
        current = None
        for part in text.split(","):
            name, sep, rest = part.partition("=")
            if sep and name in keys:
                current, item[name] = name, rest
            elif current is not None:
                item[current] = f"{item[current]},{part}"
            else:
                raise CommandError(f"{value!r}: expected {', '.join(k + '=...' for k in keys)}.")
        items.append(item)
    return items


def _filters(values: list[str] | None, allowed: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    found = []
    for item in shorthand(values, ("Name", "Values")):
        name, wanted = item.get("Name"), item.get("Values")
        if name not in allowed:
            raise CommandError(f"Unknown filter {name!r}: use one of {', '.join(allowed)}.")
        if isinstance(wanted, str):
            wanted = wanted.split(",")
        found.append((name, list(wanted or [])))
    return found


def _validation_error(exc: ValidationError) -> CommandError:
    return CommandError("\n".join(actions.validation_messages(exc)))


def _refused(exc: Exception) -> CommandError:
    return CommandError(str(exc))


@verb
class CreateReplicationTask(Verb):
    name = "create-replication-task"
    help = "Create a replication task (status ready); the documents are checked rule by rule."

    def add_arguments(self, parser):
        parser.add_argument("--replication-task-identifier", required=True)
        parser.add_argument("--source-endpoint-arn", required=True)
        parser.add_argument("--target-endpoint-arn", required=True)
        parser.add_argument("--replication-instance-arn", required=True)
        parser.add_argument("--migration-type", required=True, choices=[m.value for m in MigrationType])
        parser.add_argument("--table-mappings", required=True, help="JSON or file://PATH")
        parser.add_argument("--replication-task-settings", help="JSON or file://PATH (partial documents are "
                                                                "filled with DMS's defaults)")
        parser.add_argument("--cdc-start-position")
        parser.add_argument("--cdc-start-time")
        parser.add_argument("--cdc-stop-position")

    def run(self, command, **o):
        fields = {
            "identifier": o["replication_task_identifier"],
            "source": _lookup(find_endpoint, o["source_endpoint_arn"]),
            "target": _lookup(find_endpoint, o["target_endpoint_arn"]),
            "instance": _lookup(find_instance, o["replication_instance_arn"]),
            "migration_type": o["migration_type"],
            "table_mappings": document(o["table_mappings"]),
            "task_settings": document(o["replication_task_settings"]) or "",
            "cdc_start_position": o["cdc_start_position"] or "",
            "cdc_start_time": timestamp(o["cdc_start_time"]),
            "cdc_stop_position": o["cdc_stop_position"] or "",
        }
        try:
            task = actions.create_task(fields)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        _print(command, {"ReplicationTask": describe_task(task)})


@verb
class ModifyReplicationTask(Verb):
    name = "modify-replication-task"
    help = "Change a ready, stopped or failed task; options not given keep their value."

    def add_arguments(self, parser):
        parser.add_argument("--replication-task-arn", required=True)
        parser.add_argument("--replication-task-identifier", help="a new identifier")
        parser.add_argument("--migration-type", choices=[m.value for m in MigrationType])
        parser.add_argument("--table-mappings", help="JSON or file://PATH")
        parser.add_argument("--replication-task-settings", help="JSON or file://PATH")
        parser.add_argument("--cdc-start-position")
        parser.add_argument("--cdc-start-time")
        parser.add_argument("--cdc-stop-position")

    def run(self, command, **o):
        task = _lookup(find_task, o["replication_task_arn"])
        changes: dict[str, Any] = {}
        for option, field in (("replication_task_identifier", "identifier"), ("migration_type", "migration_type"),
                              ("cdc_start_position", "cdc_start_position"),
                              ("cdc_stop_position", "cdc_stop_position")):
            if o.get(option) is not None:
                changes[field] = o[option]
        if o.get("table_mappings") is not None:
            changes["table_mappings"] = document(o["table_mappings"])
        if o.get("replication_task_settings") is not None:
            changes["task_settings"] = document(o["replication_task_settings"])
        if o.get("cdc_start_time") is not None:
            changes["cdc_start_time"] = timestamp(o["cdc_start_time"])
        try:
            task = actions.modify_task(task, changes)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        except actions.ActionRefused as exc:
            raise _refused(exc) from None
        _print(command, {"ReplicationTask": describe_task(task)})


@verb
class StartReplicationTask(Verb):
    name = "start-replication-task"
    help = "Start (start-replication), resume (resume-processing) or restart (reload-target) a task."

    def add_arguments(self, parser):
        parser.add_argument("--replication-task-arn", required=True)
        parser.add_argument("--start-replication-task-type", required=True, choices=[t.value for t in StartType])
        parser.add_argument("--cdc-start-position")
        parser.add_argument("--cdc-start-time")
        parser.add_argument("--cdc-stop-position")

    def run(self, command, **o):
        task = _lookup(find_task, o["replication_task_arn"])
        points = {"cdc_start_position": o["cdc_start_position"], "cdc_start_time": timestamp(o["cdc_start_time"]),
                  "cdc_stop_position": o["cdc_stop_position"]}
        try:
            task = actions.start_task(task, o["start_replication_task_type"],
                                      cdc_points={k: v for k, v in points.items() if v is not None})
        except ValidationError as exc:
            raise _validation_error(exc) from None
        except actions.ActionRefused as exc:
            raise _refused(exc) from None
        _print(command, {"ReplicationTask": describe_task(task)})


@verb
class StopReplicationTask(Verb):
    name = "stop-replication-task"
    help = "Stop a task at a transaction boundary; its checkpoint is kept for resume-processing."

    def add_arguments(self, parser):
        parser.add_argument("--replication-task-arn", required=True)

    def run(self, command, **o):
        task = _lookup(find_task, o["replication_task_arn"])
        try:
            task = actions.stop_task(task)
        except actions.ActionRefused as exc:
            raise _refused(exc) from None
        _print(command, {"ReplicationTask": describe_task(task)})


@verb
class ReloadTables(Verb):
    name = "reload-tables"
    help = "Reload up to 10 tables of a running task while the others keep replicating."

    def add_arguments(self, parser):
        parser.add_argument("--replication-task-arn", required=True)
        parser.add_argument("--tables-to-reload", required=True, nargs="+",
                            help="SchemaName=s,TableName=t ... (or JSON)")
        parser.add_argument("--reload-option", default="data-reload", choices=["data-reload", "validate-only"])

    def run(self, command, **o):
        task = _lookup(find_task, o["replication_task_arn"])
        tables = []
        for item in shorthand(o["tables_to_reload"], ("SchemaName", "TableName")):
            if not item.get("SchemaName") or not item.get("TableName"):
                raise CommandError("Each table to reload needs SchemaName and TableName.")
            tables.append((item["SchemaName"], item["TableName"]))
        try:
            task = actions.reload_tables(task, tables, reload_option=o["reload_option"])
        except actions.ActionRefused as exc:
            raise _refused(exc) from None
        _print(command, {"ReplicationTaskArn": task_arn(task)})


@verb
class DeleteReplicationTask(Verb):
    name = "delete-replication-task"
    help = "Delete a task that is not running, with the replication slot and publication it created."

    def add_arguments(self, parser):
        parser.add_argument("--replication-task-arn", required=True)

    def run(self, command, **o):
        task = _lookup(find_task, o["replication_task_arn"])
        try:
            deleting = actions.delete_task(task)
        except actions.ActionRefused as exc:
            raise _refused(exc) from None
        _print(command, {"ReplicationTask": describe_task(deleting)})


@verb
class DescribeReplicationTasks(Verb):
    name = "describe-replication-tasks"
    help = "List replication tasks as JSON (filters: " + ", ".join(TASK_FILTERS) + ")."

    def add_arguments(self, parser):
        parser.add_argument("--filters", nargs="+", help="Name=replication-task-id,Values=a,b ... (or JSON)")
        parser.add_argument("--without-settings", action="store_true", help="leave out the two documents")
        parser.add_argument("--max-records", type=int, default=100)

    def run(self, command, **o):
        tasks = ReplicationTask.objects.select_related("instance", "source", "target")
        for name, values in _filters(o["filters"], TASK_FILTERS):
            tasks = tasks.filter(pk__in=[t.pk for t in tasks if _task_matches(t, name, values)])
        shown = [describe_task(t, with_settings=not o["without_settings"]) for t in tasks[:max(1, o["max_records"])]]
        _print(command, {"ReplicationTasks": shown})


def _task_matches(task: ReplicationTask, name: str, values: list[str]) -> bool:
    def resource(value: str, kind: str) -> str:
        try:
            return split_arn(value, kind)[1].lower()
        except ArnError:
            return value.lower()

    if name == "replication-task-id":
        return task.identifier in {v.lower() for v in values}
    if name == "replication-task-arn":
        return task.resource_id.lower() in {resource(v, "task") for v in values}
    if name == "migration-type":
        return task.migration_type in values
    if name == "endpoint-arn":
        wanted = {resource(v, "endpoint") for v in values}
        return task.source.identifier.lower() in wanted or task.target.identifier.lower() in wanted
    return task.instance.identifier in {resource(v, "rep") for v in values}


@verb
class DescribeTableStatistics(Verb):
    name = "describe-table-statistics"
    help = "A task's per-table statistics as JSON (filters: schema-name, table-name, table-state)."

    def add_arguments(self, parser):
        parser.add_argument("--replication-task-arn", required=True)
        parser.add_argument("--filters", nargs="+", help="Name=table-state,Values='Table completed' ... (or JSON)")
        parser.add_argument("--max-records", type=int, default=100)

    def run(self, command, **o):
        task = _lookup(find_task, o["replication_task_arn"])
        rows = TableStatistics.objects.filter(task=task)
        fields = {"schema-name": "schema_name", "table-name": "table_name", "table-state": "table_state"}
        for name, values in _filters(o["filters"], TABLE_FILTERS):
            rows = rows.filter(**{f"{fields[name]}__in": values})
        limit = min(max(o["max_records"], 1), 500)
        _print(command, {"ReplicationTaskArn": task_arn(task),
                         "TableStatistics": [describe_table(r) for r in rows[:limit]]})


@verb
class DescribeReplicationTaskLogs(Verb):
    name = "describe-replication-task-logs"
    help = "A task's log lines, newest last, in DMS's format (TIME [COMPONENT]S: message)."

    def add_arguments(self, parser):
        parser.add_argument("--replication-task-arn", required=True)
        parser.add_argument("--component", help="e.g. TASK_MANAGER, SOURCE_UNLOAD")
        parser.add_argument("--severity", help="e.g. LOGGER_SEVERITY_ERROR")
        parser.add_argument("--max-records", type=int, default=1000)

    def run(self, command, **o):
        task = _lookup(find_task, o["replication_task_arn"])
        lines = TaskLog.objects.filter(task=task)
        if o["component"]:
            lines = lines.filter(component=o["component"].upper())
        if o["severity"]:
            lines = lines.filter(severity=o["severity"].upper())
        for line in reversed(list(lines.order_by("-id")[:max(1, o["max_records"])])):
            command.stdout.write(str(line))


@verb
class Scheduler(Verb):
    name = "scheduler"
    help = "Run the scheduler: Celery beat and a worker for the control queue (lease sweep, Multi-AZ failover)."

    def add_arguments(self, parser):
        parser.add_argument("--schedule", default="celerybeat-schedule", help="celery beat's state file")
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument("--name", help="Celery node name (default scheduler-PID@HOST)")

    def run(self, command, *, schedule: str, loglevel: str, name: str | None, **options):
        import os
        import socket

        from django.conf import settings

        from dmsconsole.celery import app

        node = name or f"scheduler-{os.getpid()}@{socket.gethostname()}"
        argv = ["worker", "--beat", "--schedule", schedule, "-Q", settings.DMS_CONTROL_QUEUE, "-n", node,
                "--pool", "solo", "--loglevel", loglevel, "--without-gossip", "--without-mingle"]
        command.stdout.write("Scheduler on queue " + settings.DMS_CONTROL_QUEUE + ": celery " + " ".join(argv))
        command.stdout.flush()
        app.worker_main(argv)
