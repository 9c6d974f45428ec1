"""ARNs in DMS's shape, for a console that has no AWS region or account.

    arn:aws:dms:local:000000000000:rep:<instance identifier>
    arn:aws:dms:local:000000000000:endpoint:<endpoint identifier>
    arn:aws:dms:local:000000000000:task:<task resource id>

The region is always "local" and the account "000000000000". Tasks use their
resource id (stable across renames, as in DMS); instances and endpoints their
identifier. Every `--*-arn` option accepts the ARN or the plain identifier.
"""

from __future__ import annotations

from typing import Any

REGION = "local"
ACCOUNT = "000000000000"
PREFIX = f"arn:aws:dms:{REGION}:{ACCOUNT}:"
KINDS = {"rep": "a replication instance", "endpoint": "an endpoint", "task": "a replication task"}


class ArnError(ValueError):
    pass


def instance_arn(instance: Any) -> str:
    return f"{PREFIX}rep:{instance.identifier}"


def endpoint_arn(endpoint: Any) -> str:
    return f"{PREFIX}endpoint:{endpoint.identifier}"


def task_arn(task: Any) -> str:
    return f"{PREFIX}task:{task.resource_id}"


def split_arn(value: str, kind: str) -> tuple[bool, str]:
    """(True, resource) for an ARN of `kind`, (False, value) for a plain identifier. A DMS ARN of
    another kind, region or account is refused with what was expected."""
    value = value.strip()
    if not value.startswith("arn:"):
        return False, value
    parts = value.split(":", 6)
    if len(parts) != 7 or parts[1] != "aws" or parts[2] != "dms":
        raise ArnError(f"{value!r} is not a DMS ARN: expected {PREFIX}{kind}:<id>.")
    if parts[3] != REGION or parts[4] != ACCOUNT:
        raise ArnError(f"{value!r} names region {parts[3]!r} and account {parts[4]!r}; this console's ARNs "
                       f"are {PREFIX}...")
    if parts[5] != kind:
        raise ArnError(f"{value!r} is the ARN of {KINDS.get(parts[5], repr(parts[5]))}, not of {KINDS[kind]}.")
    return True, parts[6]


def find_instance(value: str):
    from .models import ReplicationInstance

    _, identifier = split_arn(value, "rep")
    instance = ReplicationInstance.objects.filter(identifier=identifier.lower()).first()
    if instance is None:
        raise ArnError(f"No replication instance {value!r}.")
    return instance


def find_endpoint(value: str):
    from endpoints.models import Endpoint

    _, identifier = split_arn(value, "endpoint")
    endpoint = Endpoint.objects.filter(identifier__iexact=identifier).first()
    if endpoint is None:
        raise ArnError(f"No endpoint {value!r}.")
    return endpoint


def find_task(value: str):
    from .models import ReplicationTask

    is_arn, resource = split_arn(value, "task")
    query = ReplicationTask.objects.select_related("instance", "source", "target")
    task = query.filter(resource_id=resource.upper()).first() if is_arn else \
        query.filter(identifier=resource.lower()).first()
    if task is None:
        raise ArnError(f"No replication task {value!r}.")
    return task
