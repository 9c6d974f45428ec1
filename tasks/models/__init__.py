"""Models of the tasks app, one module per concern (replication tasks get their own module)."""

from .instances import INSTANCE_CLASSES, ReplicationInstance, Worker

__all__ = ["INSTANCE_CLASSES", "ReplicationInstance", "Worker"]
