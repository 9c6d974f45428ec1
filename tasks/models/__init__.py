"""Models of the tasks app, one module per concern (replication tasks get their own module)."""

from .instances import INSTANCE_CLASSES, ReplicationInstance, Worker
from .task import MigrationType, ReplicationTask, StartType, Status

__all__ = ["INSTANCE_CLASSES", "MigrationType", "ReplicationInstance", "ReplicationTask", "StartType", "Status",
           "Worker"]
