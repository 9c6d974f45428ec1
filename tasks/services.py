"""Replication instance actions, audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from dmsconsole import audit
from dmsconsole.usage import InUseError, in_use_by
from monitoring import broadcast

from .models import ReplicationInstance


def save_instance(form: Any, request: Any) -> ReplicationInstance:
    creating = form.instance.pk is None
    with transaction.atomic():
        instance = form.save()
        if creating:
            audit.record(request, "instance.create", f"replication instance {instance.identifier}",
                         f"{instance.instance_class}, {instance.allocated_storage_gb} GiB, "
                         f"{'Multi-AZ' if instance.multi_az else 'Single-AZ'}")
        else:
            audit.record(request, "instance.modify", f"replication instance {instance.identifier}",
                         "changed: " + (", ".join(form.changed_data) or "nothing"))
        broadcast.instances_changed()
    return instance


def delete_instance(instance: ReplicationInstance, request: Any) -> None:
    """Delete an instance no task uses; raises InUseError naming the users otherwise."""
    users = in_use_by(instance)
    if users:
        raise InUseError(instance, users)
    with transaction.atomic():
        identifier = instance.identifier
        instance.delete()
        audit.record(request, "instance.delete", f"replication instance {identifier}")
        broadcast.instances_changed()
