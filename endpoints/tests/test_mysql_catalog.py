"""MySQL/MariaDB catalog: tables, views, columns in order with exact types, keys, partitions."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.mysql import MySQLEngine
from endpoints.engines.types import DmsType, T

from .mysql_helpers import run

pytestmark = pytest.mark.live


def _db(url: str) -> str:
    return urlparse(url).path.lstrip("/")


@pytest.fixture
def shop(mysql_database):
    url = mysql_database()
    run(url,
        "CREATE TABLE orders (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " code varchar(20) NOT NULL, amount decimal(12,2), doubled int AS (id * 2) VIRTUAL,"
        " payload json, UNIQUE KEY by_code (code)) ENGINE=InnoDB",
        "CREATE TABLE pairs (a int NOT NULL, b varchar(5) NOT NULL, note text, PRIMARY KEY (b, a))",
        "CREATE TABLE keyless (x int, y int, UNIQUE KEY xy (x, y))",
        "CREATE TABLE parts (id int NOT NULL, PRIMARY KEY (id)) PARTITION BY RANGE (id)"
        " (PARTITION p_low VALUES LESS THAN (100), PARTITION p_high VALUES LESS THAN MAXVALUE)",
        "CREATE TABLE shapes (id int PRIMARY KEY, spot point)",
        "CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100",
        "INSERT INTO orders (code, amount) VALUES ('a', 1), ('b', 2), ('c', 300)",
        "ANALYZE TABLE orders")
    return url


def _tables(url: str, schemas=None) -> dict:
    engine = MySQLEngine(ConnectionInfo.from_url(url))
    return {t.name: t for t in engine.list_tables([_db(url)] if schemas is None else schemas)}


def test_it_lists_tables_and_views_of_the_database(shop):
    tables = _tables(shop)
    assert sorted(tables) == ["big_orders", "keyless", "orders", "pairs", "parts", "shapes"]
    assert tables["big_orders"].kind == "view"
    assert tables["orders"].kind == "table"
    assert tables["orders"].schema == _db(shop)


def test_it_reads_columns_in_order_with_exact_types(shop):
    orders = _tables(shop)["orders"]
    assert [(c.name, c.native_type, c.nullable) for c in orders.columns] == [
        ("id", "bigint(20) unsigned", False),
        ("code", "varchar(20)", False),
        ("amount", "decimal(12,2)", True),
        ("doubled", "int(11)", True),
        ("payload", "json", True),
    ]
    assert [c.dms_type for c in orders.columns] == [
        DmsType(T.UINT8), DmsType(T.WSTRING, length=20), DmsType(T.NUMERIC, precision=12, scale=2),
        DmsType(T.INT4), DmsType(T.CLOB)]


def test_it_marks_identity_and_generated_columns(shop):
    orders = _tables(shop)["orders"]
    assert orders.column("id").identity and not orders.column("id").generated
    assert orders.column("doubled").generated and not orders.column("doubled").identity
    assert not orders.column("code").identity and not orders.column("code").generated


def test_it_reads_primary_and_unique_keys_in_key_order(shop):
    tables = _tables(shop)
    assert tables["orders"].primary_key == ("id",)
    assert tables["orders"].unique_keys == (("code",),)
    assert tables["pairs"].primary_key == ("b", "a")
    assert tables["keyless"].primary_key == ()
    assert tables["keyless"].unique_keys == (("x", "y"),)
    assert tables["keyless"].best_key == ()  # nullable unique key: not a row identity


def test_it_estimates_rows_and_names_partitions(shop):
    tables = _tables(shop)
    assert tables["orders"].estimated_rows == 3
    assert tables["parts"].partitions == ("p_low", "p_high")
    assert tables["orders"].partitions == ()


def test_it_reports_spatial_columns_as_unsupported(shop):
    spot = _tables(shop)["shapes"].column("spot")
    assert spot.dms_type is None
    assert "WKB" in spot.unsupported


def test_it_never_lists_system_schemas(shop):
    engine = MySQLEngine(ConnectionInfo.from_url(shop))
    assert engine.list_tables(["mysql", "information_schema", "performance_schema", "sys"]) == []
    everything = engine.list_tables()
    assert {t.schema for t in everything} & {"mysql", "information_schema", "performance_schema", "sys"} == set()
    assert any(t.schema == _db(shop) and t.name == "orders" for t in everything)


def test_it_lists_only_the_schemas_asked_for(shop, mysql_database):
    other = mysql_database()
    run(other, "CREATE TABLE elsewhere (id int)")
    engine = MySQLEngine(ConnectionInfo.from_url(shop))
    assert [t.name for t in engine.list_tables([_db(other)])] == ["elsewhere"]
    both = {(t.schema, t.name) for t in engine.list_tables([_db(other), _db(shop)])}
    assert (_db(other), "elsewhere") in both and (_db(shop), "orders") in both


def test_it_quotes_odd_names(mysql_database):
    url = mysql_database()
    run(url, "CREATE TABLE `we``ird %s name` (`col``one` int PRIMARY KEY, `50% off` int)")
    table = _tables(url)["we`ird %s name"]
    assert [c.name for c in table.columns] == ["col`one", "50% off"]
    assert table.primary_key == ("col`one",)


def test_it_uses_the_connection_database_as_default_schema(shop):
    assert MySQLEngine(ConnectionInfo.from_url(shop)).default_schema() == _db(shop)
