"""Endpoint actions: save, delete, and Test connection (started in the console, run on a worker).

Test connection, step by step:
1. `start_connection_test` (console) stores a Connection in state "testing" with a fresh
   token and, once that commits, sends the job to the instance's queue.
2. `run_connection_test` (worker) claims the attempt with a conditional UPDATE, asks
   the engine, and writes the result for that token only.
3. `refresh_connection` (console, on every look at a testing row) fails an attempt no
   worker picked up within its timeout, saying which command starts one.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dmsconsole import audit
from dmsconsole.usage import InUseError, in_use_by

from .engines.base import EndpointRole
from .engines.errors import EngineError
from .models import Connection, Endpoint

log = logging.getLogger("dms.endpoints")

# How long the engine may take to connect and check (passed to Engine.test_connection).
ENGINE_TIMEOUT_SECONDS = 10
# After a worker picked the job up: time it has to report before the attempt is called lost.
REPORT_GRACE_SECONDS = 20


def answer_timeout() -> int:
    """Seconds a worker of the instance has to pick the test up (DMS_TEST_CONNECTION_TIMEOUT)."""
    return int(getattr(settings, "DMS_TEST_CONNECTION_TIMEOUT", 20))


# ---- create, modify, delete --------------------------------------------------------------------

def save_endpoint(form: Any, request: Any) -> Endpoint:
    """Save a valid EndpointForm and audit what changed (field names only; never the password)."""
    creating = form.instance.pk is None
    changed = [f for f in form.changed_data if f not in {"password", "clear_password"}]
    with transaction.atomic():
        endpoint = form.save()
        if creating:
            detail = f"{endpoint.get_endpoint_type_display()} {endpoint.get_engine_display()} " \
                     f"{endpoint.server_name}:{endpoint.port}"
            audit.record(request, "endpoint.create", f"endpoint {endpoint.identifier}", detail)
        else:
            if form.password_changed:
                changed.append("password")
            audit.record(request, "endpoint.modify", f"endpoint {endpoint.identifier}",
                         "changed: " + (", ".join(changed) or "nothing"))
    return endpoint


def delete_endpoint(endpoint: Endpoint, request: Any) -> None:
    """Delete an endpoint nothing uses; raises InUseError naming the users otherwise."""
    users = in_use_by(endpoint)
    if users:
        raise InUseError(endpoint, users)
    with transaction.atomic():
        identifier = endpoint.identifier
        endpoint.delete()
        audit.record(request, "endpoint.delete", f"endpoint {identifier}")


# ---- Test connection ---------------------------------------------------------------------------

def start_connection_test(endpoint: Endpoint, instance: Any, request: Any) -> Connection:
    from tasks.jobs import test_connection

    timeout = answer_timeout()
    token = uuid.uuid4().hex
    user = request.user if request is not None and request.user.is_authenticated else None
    with transaction.atomic():
        connection, _ = Connection.objects.update_or_create(
            endpoint=endpoint, instance=instance,
            defaults={"status": Connection.TESTING, "message": "", "server_version": "", "warnings": "",
                      "cdc_ready": None, "token": token, "timeout_seconds": timeout, "requested_by": user,
                      "requested_at": timezone.now(), "picked_up_at": None, "picked_up_by": "",
                      "finished_at": None},
        )
        audit.record(request, "endpoint.test-connection", f"endpoint {endpoint.identifier}",
                     f"from replication instance {instance.identifier}")
        transaction.on_commit(lambda: test_connection.apply_async(
            args=[connection.pk, token], queue=instance.queue, expires=timeout))
    log.info("test-connection requested endpoint=%s instance=%s queue=%s", endpoint.identifier,
             instance.identifier, instance.queue)
    return connection


def _finish(connection_id: int, token: str, **fields: Any) -> bool:
    fields.setdefault("finished_at", timezone.now())
    updated = Connection.objects.filter(pk=connection_id, token=token, status=Connection.TESTING).update(**fields)
    return updated == 1


def run_connection_test(connection_id: int, token: str, worker_name: str = "") -> None:
    """On a worker: test the endpoint and store the result for attempt `token` (if still current)."""
    from .engines.registry import get_engine

    claimed = Connection.objects.filter(pk=connection_id, token=token, status=Connection.TESTING,
                                        picked_up_at=None).update(picked_up_at=timezone.now(),
                                                                  picked_up_by=worker_name)
    if claimed != 1:
        log.info("test-connection %s: attempt %s is no longer current, skipped", connection_id, token)
        return
    connection = Connection.objects.select_related("endpoint", "instance").get(pk=connection_id)
    endpoint = connection.endpoint
    started = time.monotonic()
    try:
        info = endpoint.connection_info()
        engine = get_engine(endpoint.engine)(info)
        role = EndpointRole.SOURCE if endpoint.endpoint_type == Endpoint.SOURCE else EndpointRole.TARGET
        report = engine.test_connection(role, timeout=ENGINE_TIMEOUT_SECONDS)
    except EngineError as exc:
        _finish(connection_id, token, status=Connection.FAILED, message=exc.message)
        log.info("test-connection endpoint=%s failed kind=%s", endpoint.identifier, exc.kind)
        return
    except Exception as exc:  # an engine bug: report it plainly rather than leave "testing" forever
        log.exception("test-connection endpoint=%s: unexpected error", endpoint.identifier)
        _finish(connection_id, token, status=Connection.FAILED,
                message=f"Unexpected error while testing: {type(exc).__name__}: {exc}")
        return
    elapsed = time.monotonic() - started
    _finish(connection_id, token,
            status=Connection.SUCCESSFUL if report.ok else Connection.FAILED,
            message=report.message, server_version=report.server_version[:300],
            warnings="\n".join(report.warnings), cdc_ready=report.cdc_ready)
    log.info("test-connection endpoint=%s instance=%s ok=%s seconds=%.2f", endpoint.identifier,
             connection.instance.identifier, report.ok, elapsed)


def no_worker_message(instance_identifier: str, seconds: int) -> str:
    return (f"No worker of instance {instance_identifier} answered within {seconds} s: start one with "
            f"python manage.py dms worker --instance {instance_identifier}")


def refresh_connection(connection: Connection) -> Connection:
    """Fail a testing attempt that has waited too long, with the reason; returns the current row."""
    if connection.status != Connection.TESTING:
        return connection
    now = timezone.now()
    identifier = connection.instance.identifier
    if connection.picked_up_at is None:
        if now - connection.requested_at > timedelta(seconds=connection.timeout_seconds):
            _finish(connection.pk, connection.token, status=Connection.FAILED,
                    message=no_worker_message(identifier, connection.timeout_seconds))
    elif now - connection.picked_up_at > timedelta(seconds=ENGINE_TIMEOUT_SECONDS + REPORT_GRACE_SECONDS):
        _finish(connection.pk, connection.token, status=Connection.FAILED,
                message=f"The worker {connection.picked_up_by or 'of instance ' + identifier} picked the test up "
                        f"but did not report within {ENGINE_TIMEOUT_SECONDS + REPORT_GRACE_SECONDS} s: "
                        "it may have stopped; see its log.")
    connection.refresh_from_db()
    return connection
