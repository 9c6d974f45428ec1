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


def run(url: str, *statements: str | tuple[str, tuple]) -> None:
    """Run statements (text, or (text, parameters)) in the database of `url` as the admin user."""
    conn = admin(ConnectionInfo.from_url(url).database)
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                if isinstance(statement, tuple):
                    cursor.execute(*statement)
                else:
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


def plan_for(url: str, table: str, **kwargs):
    """The identity plan of `table` in the database of `url` (MySQL-to-MySQL types)."""
    from endpoints.engines.mysql import MySQLEngine
    from endpoints.engines.plan import identity_plan

    engine = MySQLEngine(ConnectionInfo.from_url(url))
    source = next(t for t in engine.list_tables([ConnectionInfo.from_url(url).database]) if t.name == table)
    kwargs.setdefault("source_engine", "mysql")
    return identity_plan(source, engine, **kwargs)


def read_all(url: str, plan, fmt=None, segment=None, batch_rows: int = 1000):
    """Every batch of one read (PYTHON unless `fmt`)."""
    from endpoints.engines.base import RowFormat
    from endpoints.engines.mysql import MySQLEngine

    engine = MySQLEngine(ConnectionInfo.from_url(url))
    return list(engine.read(plan, segment, fmt=fmt or RowFormat.PYTHON, batch_rows=batch_rows))


# A table with every MySQL type family and its edge values: row 1 the extremes, row 2 all NULL,
# row 3 zero dates (inserted with an empty sql_mode, as old applications did).
ZOO_DDL = """CREATE TABLE zoo (
  id int PRIMARY KEY,
  u64 bigint unsigned, i8 tinyint, tf tinyint(1), u8 tinyint unsigned, i16 smallint, mi mediumint,
  mu mediumint unsigned, i32 int, u32 int unsigned, i64 bigint,
  dec65 decimal(65,30), dec12 decimal(12,2), f float, d double,
  b1 bit(1), b10 bit(10),
  dt date, dtm datetime(6), ts timestamp(6) NULL, tm time, tm2 time(2), y year,
  c char(3), vc varchar(20), tt tinytext, tx text, mt mediumtext, lt longtext,
  bn binary(4), vb varbinary(8), bl blob, lb longblob,
  j json, e enum('a','bbb'), s set('x','yy')
) DEFAULT CHARSET=utf8mb4"""

ZOO_INSERTS = (
    "SET SESSION sql_mode = '', SESSION time_zone = '+02:00'",
    "INSERT INTO zoo VALUES (1, 18446744073709551615, -128, 1, 255, -32768, -8388608, 16777215, -2147483648,"
    " 4294967295, -9223372036854775808,"
    " '12345678901234567890123456789012345.123456789012345678901234567890', -9999999999.99, 1.5, 0.1,"
    " b'1', b'1000000001',"
    " '0099-12-31', '1899-12-31 23:59:59.999999', '2024-06-01 12:00:00.250000', '-838:59:59', '12:34:56.78',"
    " 2155, 'ab', '\U0001F600 emoji', '', 'tab\\there\\nnew\\\\end', 'medium', 'long',"
    " X'00010200', X'00FF00', X'', X'DEADBEEF',"
    " '{\"a\": [1, 2]}', 'bbb', 'x,yy')",
    "INSERT INTO zoo (id) VALUES (2)",
    "INSERT INTO zoo (id, dt, dtm, ts) VALUES (3, '0000-00-00', '2020-00-10 00:00:00', '0000-00-00 00:00:00')",
)
