"""Shared helpers for the MySQL engine tests: an admin connection and throw-away users."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pymysql

from endpoints.engines.conninfo import ConnectionInfo

MYSQL_URL = os.environ.get("DMS_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/")


def admin(database: str | None = None) -> pymysql.connections.Connection:
    info = ConnectionInfo.from_url(MYSQL_URL)
    return pymysql.connect(host=info.host, port=info.port, user=info.username, password=info.password,
                           database=database, autocommit=True, charset="utf8mb4")


def run(url: str, *statements: str) -> None:
    """Run statements in the database named by `url` as the admin user."""
    conn = admin(ConnectionInfo.from_url(url).database)
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def query(url: str, statement: str, args: tuple = ()) -> list[tuple]:
    conn = admin(ConnectionInfo.from_url(url).database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement, args)
            return list(cursor.fetchall())
    finally:
        conn.close()


@contextmanager
def temp_user(*grants: str) -> Iterator[tuple[str, str]]:
    """A user with a random name and password, given `grants` ('SELECT ON db.*'), dropped afterwards."""
    name = "dmst_u_" + secrets.token_hex(5)
    password = "pw-" + secrets.token_hex(8)
    conn = admin()
    try:
        with conn.cursor() as cursor:
            cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, password))
            for grant in grants:
                cursor.execute(f"GRANT {grant} TO %s@'%%'", (name,))
        yield name, password
    finally:
        with conn.cursor() as cursor:
            cursor.execute("DROP USER IF EXISTS %s@'%%'", (name,))
        conn.close()
