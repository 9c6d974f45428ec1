"""Small factories for endpoints and instances, shared by the console's tests."""

from __future__ import annotations

import uuid

from endpoints.models import Endpoint
from tasks.models import ReplicationInstance


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_instance(identifier: str | None = None, **fields) -> ReplicationInstance:
    return ReplicationInstance.objects.create(identifier=identifier or unique("ri"), **fields)


def make_endpoint(identifier: str | None = None, *, password: str = "", **fields) -> Endpoint:
    values = {"endpoint_type": "source", "engine": "postgres", "server_name": "127.0.0.1", "port": 5432,
              "database_name": "postgres", "username": "postgres"}
    values.update(fields)
    endpoint = Endpoint(identifier=identifier or unique("ep"), **values)
    endpoint.set_password(password)
    endpoint.save()
    return endpoint
