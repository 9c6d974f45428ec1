"""Fixtures shared by every app's tests: fresh databases on the real servers.

Each test that asks for a database gets its own, named dmst_<random>, created on
the real PostgreSQL or MariaDB server and dropped afterwards, so tests (and
several test runs at once) never see each other's tables.

Servers come from DMS_TEST_PG_URL and DMS_TEST_MYSQL_URL (defaults: the local
services that `make test` configures).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

# The suite runs tests in parallel on a 2-core machine next to live databases: generation speed and
# per-example time say nothing about correctness there, so those two checks are off (examples stay).
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

PG_URL = os.environ.get("DMS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_URL = os.environ.get("DMS_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/")


def _new_name() -> str:
    return "dmst_" + uuid.uuid4().hex[:10]


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_URL, autocommit=True)


def _mysql_admin():
    import pymysql

    from endpoints.engines.conninfo import ConnectionInfo

    info = ConnectionInfo.from_url(MYSQL_URL)
    return pymysql.connect(host=info.host, port=info.port, user=info.username, password=info.password,
                           autocommit=True, charset="utf8mb4")


def _url_with_db(base: str, name: str) -> str:
    from urllib.parse import urlparse, urlunparse

    return urlunparse(urlparse(base)._replace(path="/" + name))


@pytest.fixture
def pg_database() -> Iterator[Callable[[], str]]:
    """Factory: each call creates a fresh PostgreSQL database and returns its URL."""
    created: list[str] = []

    def make() -> str:
        name = _new_name()
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _url_with_db(PG_URL, name)

    yield make
    with _pg_admin() as conn:
        for name in created:
            for slot in conn.execute(
                "SELECT slot_name FROM pg_replication_slots WHERE database = %s", (name,)
            ).fetchall():
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot[0],))
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            # pytest-django's test database beside it (a console run pointed here), which it leaves behind
            # when a worker process still held a connection at the end of that run
            conn.execute(f'DROP DATABASE IF EXISTS "test_{name}" WITH (FORCE)')


@pytest.fixture
def mysql_database() -> Iterator[Callable[[], str]]:
    """Factory: each call creates a fresh MariaDB/MySQL database and returns its URL."""
    created: list[str] = []

    def make() -> str:
        name = _new_name()
        conn = _mysql_admin()
        try:
            conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        finally:
            conn.close()
        created.append(name)
        return _url_with_db(MYSQL_URL, name)

    yield make
    conn = _mysql_admin()
    try:
        for name in created:
            conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()
