"""The source catalog the create-task wizard previews against, read from the web process.

DMS reads schemas through the replication instance ("Refresh schemas"). The console reads
them itself, straight from the source endpoint: the wizard needs an answer within a
request, and the endpoint's own Test connection already proves the console's side of
the network in the usual deployment. So that a slow or unreachable source never holds a
request for long, the read runs in a small thread pool and the wizard waits at most
CATALOG_TIMEOUT seconds; a read that finishes later still fills the cache for the next
look. Results are cached per endpoint (and per set of schemas) for CATALOG_TTL seconds;
"Refresh schemas" starts a new generation, so every cached read of that endpoint is
dropped at once. Editing the endpoint changes `updated_at`, which is part of the key too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.core.cache import cache

from endpoints.engines import get_engine
from endpoints.engines.catalog import SourceTable
from endpoints.engines.errors import EngineError

log = logging.getLogger("dms.catalog")

CATALOG_TIMEOUT = 20.0  # seconds a wizard request waits for the source's catalog
CATALOG_TTL = 600  # seconds a catalog read stays cached (a wizard session, roughly)
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dms-catalog")


class CatalogUnavailable(Exception):
    """The source's catalog could not be read; the message says why, in a DBA's words."""


def _generation(endpoint: Any) -> int:
    return cache.get(f"dms:catalog-gen:{endpoint.pk}", 0)


def refresh(endpoint: Any) -> None:
    """Forget every cached catalog read of `endpoint` (DMS's "Refresh schemas")."""
    key = f"dms:catalog-gen:{endpoint.pk}"
    cache.set(key, _generation(endpoint) + 1, None)


def _key(endpoint: Any, schemas: list[str] | None) -> str:
    stamp = endpoint.updated_at.timestamp() if endpoint.updated_at else 0
    names = ",".join(schemas) if schemas is not None else "*"
    return f"dms:catalog:{endpoint.pk}:{stamp}:{_generation(endpoint)}:{names}"


def _read(engine_name: str, info: Any, schemas: list[str] | None) -> list[SourceTable]:
    engine = get_engine(engine_name)(info)
    try:
        return engine.list_tables(schemas)
    finally:
        engine.close()


def list_source_tables(endpoint: Any, schemas: Iterable[str] | None = None) -> list[SourceTable]:
    """Tables (with columns and types) of `schemas` (None: every user schema) on `endpoint`."""
    wanted = sorted(set(schemas)) if schemas is not None else None
    key = _key(endpoint, wanted)
    cached = cache.get(key)
    if cached is not None:
        return cached
    started = time.monotonic()
    future = _POOL.submit(_read, endpoint.engine, endpoint.connection_info(), wanted)
    try:
        tables = future.result(timeout=CATALOG_TIMEOUT)
    except FutureTimeout:
        future.add_done_callback(lambda done: _store_late(key, done))
        raise CatalogUnavailable(f"Source {endpoint.identifier} did not list its tables within "
                                 f"{CATALOG_TIMEOUT:.0f} s. Check that it answers (Test connection), then "
                                 "Refresh schemas.") from None
    except EngineError as exc:
        raise CatalogUnavailable(f"Reading the tables of source {endpoint.identifier} failed: {exc}") from None
    cache.set(key, tables, CATALOG_TTL)
    log.info("catalog of %s read: %d tables in %.2f s", endpoint.identifier, len(tables),
             time.monotonic() - started)
    return tables


def _store_late(key: str, future: Any) -> None:
    if future.exception() is None:
        cache.set(key, future.result(), CATALOG_TTL)


class CachedSource:
    """What tasks.engine.planning.build_task_plan needs of a source engine, served from the cache."""

    def __init__(self, endpoint: Any):
        self.endpoint = endpoint
        self.name = get_engine(endpoint.engine).name
        self.read: list[SourceTable] = []  # every table listed for the last plan

    def list_tables(self, schemas: Iterable[str] | None = None) -> list[SourceTable]:
        self.read = list_source_tables(self.endpoint, schemas)
        return self.read
