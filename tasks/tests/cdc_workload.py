"""A random OLTP workload on four source tables, and a row-for-row comparison with the target.

Used by the CDC convergence, crash and outage tests (PG->PG, MySQL->PG, PG->MySQL).
The tables cover what CDC must get right: a plain keyed table, a table whose rows
carry a large text value (TOAST on PostgreSQL), a composite key, and an insert-only
table with no primary key (a duplicate there proves a change was applied twice).
Transactions mix tables, and some roll back.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from endpoints.engines.conninfo import ConnectionInfo

TABLES = ("accounts", "orders", "order_lines", "audit_log")

PG_DDL = """
CREATE SCHEMA IF NOT EXISTS app;
CREATE TABLE app.accounts (id integer PRIMARY KEY, name varchar(50) NOT NULL, balance numeric(12,2),
                           updated_at timestamp(6));
CREATE TABLE app.orders (id bigint PRIMARY KEY, account_id integer, status varchar(20), note text,
                         created_at timestamp(6));
CREATE TABLE app.order_lines (order_id bigint, line integer, sku varchar(30), qty integer,
                              PRIMARY KEY (order_id, line));
CREATE TABLE app.audit_log (seq bigint NOT NULL, message varchar(100), at timestamp(6));
ALTER TABLE app.audit_log REPLICA IDENTITY FULL;
"""

MYSQL_DDL = """
CREATE TABLE accounts (id int PRIMARY KEY, name varchar(50) NOT NULL, balance decimal(12,2),
                       updated_at datetime(6));
CREATE TABLE orders (id bigint PRIMARY KEY, account_id int, status varchar(20), note text,
                     created_at datetime(6));
CREATE TABLE order_lines (order_id bigint, line int, sku varchar(30), qty int, PRIMARY KEY (order_id, line));
CREATE TABLE audit_log (seq bigint NOT NULL, message varchar(100), at datetime(6));
"""

KEYS = {"accounts": ("id",), "orders": ("id",), "order_lines": ("order_id", "line"), "audit_log": ()}


def connect(url: str) -> Any:
    info = ConnectionInfo.from_url(url)
    if info.engine == "postgres":
        import psycopg

        return psycopg.connect(url.split("?")[0])
    import pymysql

    return pymysql.connect(host=info.host, port=info.port, user=info.username, password=info.password,
                           database=info.database, charset="utf8mb4", autocommit=False)


def is_pg(url: str) -> bool:
    return ConnectionInfo.from_url(url).engine == "postgres"


def schema_of(url: str) -> str:
    return "app" if is_pg(url) else ConnectionInfo.from_url(url).database


class Workload:
    def __init__(self, url: str, seed: int = 1):
        self.url = url
        self.pg = is_pg(url)
        self.random = random.Random(seed)
        self.next_order = 1_000_000
        self.next_seq = 1
        self.committed = 0
        self.rolled_back = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- schema and seed data ------------------------------------------------------------------
    def create(self, accounts: int = 200, orders: int = 500) -> None:
        with connect(self.url) as conn:
            cur = conn.cursor()
            for statement in (PG_DDL if self.pg else MYSQL_DDL).split(";"):
                if statement.strip():
                    cur.execute(statement)
            for i in range(1, accounts + 1):
                cur.execute(self._sql("INSERT INTO {accounts} VALUES (%s, %s, %s, %s)"),
                            (i, f"account {i}", Decimal(i) * 10, _when(i)))
            for i in range(1, orders + 1):
                self._insert_order(cur, i, self.random.randint(1, accounts))
            conn.commit()

    def _sql(self, template: str) -> str:
        prefix = "app." if self.pg else ""
        return template.format(**{t: prefix + t for t in TABLES})

    def _insert_order(self, cur: Any, order_id: int, account: int) -> None:
        big = self.random.random() < 0.1
        note = ("long note " * 900 + str(order_id)) if big else f"note {order_id}"
        cur.execute(self._sql("INSERT INTO {orders} VALUES (%s, %s, %s, %s, %s)"),
                    (order_id, account, "new", note, _when(order_id)))
        for line in range(1, self.random.randint(1, 3) + 1):
            cur.execute(self._sql("INSERT INTO {order_lines} VALUES (%s, %s, %s, %s)"),
                        (order_id, line, f"SKU-{order_id}-{line}", self.random.randint(1, 9)))

    # -- the writer ----------------------------------------------------------------------------
    def start(self, rate: float = 200.0) -> None:
        self._thread = threading.Thread(target=self._run, args=(rate,), daemon=True, name="workload")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        if self.error is not None:
            raise self.error

    def run_for(self, transactions: int) -> None:
        with connect(self.url) as conn:
            for _ in range(transactions):
                self.transaction(conn)

    def _run(self, rate: float) -> None:
        try:
            with connect(self.url) as conn:
                while not self._stop.is_set():
                    started = time.monotonic()
                    self.transaction(conn)
                    time.sleep(max(0.0, 1.0 / rate - (time.monotonic() - started)))
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def transaction(self, conn: Any) -> None:
        cur = conn.cursor()
        for _ in range(self.random.randint(1, 4)):
            self.random.choice(self._actions)(self, cur)
        if self.random.random() < 0.1:
            conn.rollback()
            self.rolled_back += 1
        else:
            conn.commit()
            self.committed += 1

    def _new_order(self, cur: Any) -> None:
        self.next_order += 1
        self._insert_order(cur, self.next_order, self.random.randint(1, 200))
        self._audit(cur, f"order {self.next_order} created")

    def _update_account(self, cur: Any) -> None:
        account = self.random.randint(1, 200)
        cur.execute(self._sql("UPDATE {accounts} SET balance = balance + %s, updated_at = %s WHERE id = %s"),
                    (Decimal(self.random.randint(-500, 500)) / 4, _when(self.random.randint(1, 10**6)), account))

    def _update_order_status(self, cur: Any) -> None:
        # touches only `status`: on PostgreSQL the large `note` stays an unchanged TOAST value
        cur.execute(self._sql("UPDATE {orders} SET status = %s WHERE id = %s"),
                    (self.random.choice(["paid", "shipped", "cancelled"]), self._some_order()))

    def _delete_order(self, cur: Any) -> None:
        order = self._some_order()
        cur.execute(self._sql("DELETE FROM {order_lines} WHERE order_id = %s"), (order,))
        cur.execute(self._sql("DELETE FROM {orders} WHERE id = %s"), (order,))
        self._audit(cur, f"order {order} deleted")

    def _change_lines(self, cur: Any) -> None:
        cur.execute(self._sql("UPDATE {order_lines} SET qty = qty + 1 WHERE order_id = %s"), (self._some_order(),))

    def _rename_account(self, cur: Any) -> None:
        account = self.random.randint(1, 200)
        cur.execute(self._sql("UPDATE {accounts} SET name = %s WHERE id = %s"),
                    (f"renamed {self.random.randint(1, 10**6)} ✓", account))

    def _audit(self, cur: Any, message: str) -> None:
        cur.execute(self._sql("INSERT INTO {audit_log} VALUES (%s, %s, %s)"), (self.next_seq, message, _when(1)))
        self.next_seq += 1

    def _some_order(self) -> int:
        return self.random.choice([self.random.randint(1, 500), self.random.randint(1_000_001, self.next_order + 1)])

    _actions: list[Callable[[Workload, Any], None]] = [
        _new_order, _update_account, _update_order_status, _delete_order, _change_lines, _rename_account,
    ]


def _when(n: int) -> datetime:
    return datetime(2024, 1, 1, 12, 0, 0) + timedelta(seconds=n, microseconds=n % 1_000_000)


# -- comparison --------------------------------------------------------------------------------
def table_rows(url: str, schema: str, table: str) -> list[tuple]:
    """Every row, normalised (Decimal, naive datetime, str), sorted; duplicates kept."""
    with connect(url) as conn:
        cur = conn.cursor()
        quote = '"' if is_pg(url) else "`"
        cur.execute(f"SELECT * FROM {quote}{schema}{quote}.{quote}{table}{quote}")  # noqa: S608 - test names
        rows = [tuple(_normal(v) for v in row) for row in cur.fetchall()]
    return sorted(rows, key=repr)


def _normal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def differences(source_url: str, target_url: str, target_schema: str | None = None) -> dict[str, str]:
    """Tables whose rows differ between source and target, with a short description of how."""
    found = {}
    source_schema = schema_of(source_url)
    for table in TABLES:
        source = table_rows(source_url, source_schema, table)
        target = table_rows(target_url, target_schema or source_schema, table)
        if source != target:
            missing = [r for r in source if r not in target][:3]
            extra = [r for r in target if r not in source][:3]
            found[table] = f"source {len(source)} rows, target {len(target)}; missing {missing}; extra {extra}"
    return found


def wait_until_equal(source_url: str, target_url: str, *, timeout: float = 120,
                     target_schema: str | None = None) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        diff = differences(source_url, target_url, target_schema)
        if not diff or time.monotonic() > deadline:
            return diff
        time.sleep(1)


MAPPINGS = {"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "all",
                       "object-locator": {"schema-name": "%", "table-name": "%"}, "rule-action": "include"}]}


def mappings_for(source_url: str) -> dict:
    schema = schema_of(source_url)
    return {"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "app",
                       "object-locator": {"schema-name": schema, "table-name": "%"}, "rule-action": "include"}]}
