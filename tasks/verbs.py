"""Replication instance verbs: worker, create-replication-instance, describe-replication-instances."""

from __future__ import annotations

import json
import os
import socket

from django.core.management import CommandError

from dmsconsole.cli import Verb, verb

from .forms import ReplicationInstanceForm
from .models import ReplicationInstance
from .queues import queue_name


def celery_worker_argv(identifier: str, *, concurrency: int | None = None, pool: str | None = None,
                       loglevel: str = "INFO", name: str | None = None) -> list[str]:
    """The plain `celery worker` arguments for an instance (the README documents the same command)."""
    node = name or f"{identifier}-{os.getpid()}@{socket.gethostname()}"
    argv = ["worker", "-Q", queue_name(identifier), "-n", node, "--loglevel", loglevel,
            "--without-gossip", "--without-mingle"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if pool:
        argv += ["--pool", pool]
    return argv


@verb
class Worker(Verb):
    name = "worker"
    help = "Start a Celery worker serving one replication instance's queue (runs until stopped)."

    def add_arguments(self, parser):
        parser.add_argument("--instance", required=True, metavar="NAME", help="the replication instance identifier")
        parser.add_argument("--concurrency", type=int, help="worker processes or threads (default: CPU count)")
        parser.add_argument("--pool", choices=["prefork", "threads", "solo"], help="Celery pool (default prefork)")
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument("--name", help="Celery node name (default NAME-PID@HOST)")
        parser.add_argument("--create", action="store_true",
                            help="create the instance with default settings if it does not exist (deployments)")

    def run(self, command, *, instance: str, concurrency, pool, loglevel, name, create=False, **options):
        from dmsconsole.celery import app

        identifier = instance.lower()
        if create and not ReplicationInstance.objects.filter(identifier=identifier).exists():
            form = ReplicationInstanceForm(data={"identifier": identifier, "instance_class": "dms.t3.medium",
                                                 "allocated_storage_gb": 50})
            if not form.is_valid():
                raise CommandError(_form_errors(form))
            from .services import save_instance

            save_instance(form, None)
            command.stdout.write(f"Created replication instance {identifier}.")
        if not ReplicationInstance.objects.filter(identifier=identifier).exists():
            known = ", ".join(ReplicationInstance.objects.values_list("identifier", flat=True)) or "none yet"
            raise CommandError(f"No replication instance {identifier!r} (known: {known}). Create it first.")
        argv = celery_worker_argv(identifier, concurrency=concurrency, pool=pool, loglevel=loglevel, name=name)
        command.stdout.write(f"Serving replication instance {identifier} on queue {queue_name(identifier)}: "
                             "celery " + " ".join(argv))
        command.stdout.flush()
        app.worker_main(argv)


@verb
class CreateReplicationInstance(Verb):
    name = "create-replication-instance"
    help = "Create a replication instance (a queue its workers serve)."

    def add_arguments(self, parser):
        parser.add_argument("--replication-instance-identifier", required=True)
        parser.add_argument("--replication-instance-class", default="dms.t3.medium")
        parser.add_argument("--allocated-storage", type=int, default=50)
        parser.add_argument("--multi-az", action="store_true")
        parser.add_argument("--description", default="")

    def run(self, command, **options):
        form = ReplicationInstanceForm(data={
            "identifier": options["replication_instance_identifier"],
            "instance_class": options["replication_instance_class"],
            "allocated_storage_gb": options["allocated_storage"],
            "multi_az": options["multi_az"],
            "description": options["description"],
        })
        if not form.is_valid():
            raise CommandError(_form_errors(form))
        from .services import save_instance

        instance = save_instance(form, None)
        command.stdout.write(json.dumps({"ReplicationInstance": describe(instance)}, indent=2))


@verb
class DescribeReplicationInstances(Verb):
    name = "describe-replication-instances"
    help = "List replication instances as JSON, with their online workers."

    def run(self, command, **options):
        instances = [describe(i) for i in ReplicationInstance.objects.all()]
        command.stdout.write(json.dumps({"ReplicationInstances": instances}, indent=2))


def describe(instance: ReplicationInstance) -> dict:
    from .arns import instance_arn

    return {
        "ReplicationInstanceIdentifier": instance.identifier,
        "ReplicationInstanceArn": instance_arn(instance),
        "ReplicationInstanceClass": instance.instance_class,
        "ReplicationInstanceStatus": instance.status,
        "AllocatedStorage": instance.allocated_storage_gb,
        "MultiAZ": instance.multi_az,
        "Queue": instance.queue,
        "Workers": [{"Hostname": w.hostname, "Pid": w.pid, "LastSeen": w.last_seen.isoformat()}
                    for w in instance.online_workers()],
    }


def _form_errors(form) -> str:
    return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())


from . import task_verbs  # noqa: E402,F401 - the replication task verbs register themselves
