"""Factories for replication-task tests: endpoints, instances and tasks without live databases."""

from __future__ import annotations

import json
from typing import Any

from dmsconsole.tests.fixtures import make_endpoint, make_instance, unique
from tasks.models import ReplicationTask

MAPPINGS = json.dumps({"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "shop",
                                  "object-locator": {"schema-name": "shop", "table-name": "%"},
                                  "rule-action": "include"}]})


def make_task(*, status: str = "ready", has_run: bool = False, migration_type: str = "full-load-and-cdc",
              **fields: Any) -> ReplicationTask:
    """A task saved straight to the database (documents valid), in any status."""
    from django.utils import timezone

    source = fields.pop("source", None) or make_endpoint(unique("src"), endpoint_type="source", engine="mysql",
                                                         port=3306, database_name="shop", username="root")
    target = fields.pop("target", None) or make_endpoint(unique("tgt"), endpoint_type="target")
    instance = fields.pop("instance", None) or make_instance()
    values = dict(identifier=unique("task"), instance=instance, source=source, target=target,
                  migration_type=migration_type, table_mappings=MAPPINGS, status=status)
    if has_run:
        values.update(fresh_start_date=timezone.now(), start_date=timezone.now())
    values.update(fields)
    return ReplicationTask.objects.create(**values)
