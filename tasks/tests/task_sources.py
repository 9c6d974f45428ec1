"""Sources for live task tests: the CDC workload's four tables, optionally a big table, per engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .cdc_workload import Workload, connect, is_pg, schema_of

BIG = "big"


def mysql_capture_ready() -> bool:
    """MySQL binlog capture has landed when the MySQL engine overrides the base class's open_stream."""
    from endpoints.engines.base import Engine
    from endpoints.engines.mysql.engine import MySQLEngine

    return MySQLEngine.open_stream is not Engine.open_stream and MySQLEngine.begin_capture is not Engine.begin_capture


NEEDS_MYSQL_CAPTURE = pytest.mark.skipif(
    not mysql_capture_ready(), reason="waits on MySQL binlog capture (MySQLEngine.begin_capture/open_stream)")
CDC_SOURCES = [pytest.param("mysql", marks=NEEDS_MYSQL_CAPTURE), "postgres"]


def cdc_source(kind: str, pg_database: Callable[[], str], mysql_database: Callable[[], str], *, seed: int = 1,
               big_rows: int = 0) -> tuple[str, Workload]:
    """A fresh source database of `kind` with the workload's tables (and `big` with big_rows rows)."""
    url = pg_database() if kind == "postgres" else mysql_database()
    workload = Workload(url, seed=seed)
    workload.create(accounts=200, orders=500)
    if big_rows:
        create_big(url, big_rows)
    return url, workload


def create_big(url: str, rows: int) -> None:
    with connect(url) as conn:
        cur = conn.cursor()
        if is_pg(url):
            cur.execute("CREATE TABLE app.big (id bigint PRIMARY KEY, payload varchar(120), n integer)")
            cur.execute("INSERT INTO app.big SELECT g, repeat('x', 60) || g, 0 FROM generate_series(1, %s) g",
                        (rows,))
        else:
            cur.execute("CREATE TABLE big (id bigint PRIMARY KEY, payload varchar(120), n int)")
            cur.execute(f"INSERT INTO big SELECT seq, CONCAT(REPEAT('x', 60), seq), 0 FROM seq_1_to_{int(rows)}")
        conn.commit()


def touch_big(url: str, ids: range) -> None:
    """Change some rows of `big` (one transaction)."""
    with connect(url) as conn:
        cur = conn.cursor()
        table = "app.big" if is_pg(url) else "big"
        cur.execute(f"UPDATE {table} SET n = n + 1 WHERE id BETWEEN %s AND %s", (ids.start, ids.stop - 1))  # noqa: S608
        conn.commit()


def count_and_sum(url: str, schema: str, table: str = BIG) -> tuple[int, int]:
    with connect(url) as conn:
        cur = conn.cursor()
        quote = '"' if is_pg(url) else "`"
        cur.execute(f"SELECT count(*), coalesce(sum(n), 0) FROM {quote}{schema}{quote}.{quote}{table}{quote}")  # noqa: S608
        count, total = cur.fetchone()
    return int(count), int(total)


def insert_marker(url: str, marker_id: int) -> None:
    """A new account row: lands in a table other than the one being reloaded."""
    with connect(url) as conn:
        cur = conn.cursor()
        table = "app.accounts" if is_pg(url) else "accounts"
        cur.execute(f"INSERT INTO {table} (id, name, balance) VALUES (%s, %s, 0)", (marker_id, f"marker {marker_id}"))  # noqa: S608
        conn.commit()


def has_account(url: str, schema: str, marker_id: int) -> bool:
    with connect(url) as conn:
        cur = conn.cursor()
        quote = '"' if is_pg(url) else "`"
        cur.execute(f"SELECT 1 FROM {quote}{schema}{quote}.{quote}accounts{quote} WHERE id = %s",  # noqa: S608
                    (marker_id,))
        return cur.fetchone() is not None


__all__ = ["BIG", "CDC_SOURCES", "cdc_source", "count_and_sum", "has_account", "insert_marker", "schema_of",
           "touch_big"]
