"""Helpers shared by the PostgreSQL engine tests: admin SQL on a test database, engines, throwaway roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from conftest import PG_URL
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.postgres import PostgresEngine


def run_sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def fetch(url: str, statement: str, params: tuple | None = None) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def engine_for(url: str, **extra: str) -> PostgresEngine:
    info = ConnectionInfo.from_url(url)
    if extra:
        from dataclasses import replace
        from types import MappingProxyType

        info = replace(info, extra=MappingProxyType({**info.extra, **extra}))
    return PostgresEngine(info)


@contextmanager
def throwaway_role(*options: str) -> Iterator[str]:
    """A LOGIN role with a random name (trust auth lets it in), dropped afterwards."""
    name = "dmst_role_" + uuid.uuid4().hex[:10]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}" LOGIN ' + " ".join(options))
    try:
        yield name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')
