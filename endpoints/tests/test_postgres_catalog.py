"""PostgreSQL catalog: tables, views, partitioned parents, columns in order with types, keys, estimates."""

from __future__ import annotations

import psycopg
import pytest

from endpoints.engines.types import DmsType, T
from endpoints.tests.postgres_support import engine_for, run_sql

SCHEMA_SQL = [
    "CREATE SCHEMA app",
    "CREATE SCHEMA other",
    "CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy')",
    "CREATE DOMAIN app.positive AS integer CHECK (VALUE > 0)",
    """CREATE TABLE app.orders (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        code character varying(20) NOT NULL,
        amount numeric(12,2) DEFAULT 0,
        total numeric(12,2) GENERATED ALWAYS AS (amount * 2) STORED,
        mood app.mood,
        qty app.positive,
        created timestamp(3) with time zone NOT NULL DEFAULT now(),
        CONSTRAINT orders_code_key UNIQUE (code))""",
    "CREATE TABLE app.pairs (a integer NOT NULL, b text NOT NULL, c integer, UNIQUE (b, a))",
    "CREATE UNIQUE INDEX pairs_c_partial ON app.pairs (c) WHERE c > 0",
    "CREATE VIEW app.big_orders AS SELECT id, code FROM app.orders WHERE amount > 100",
    """CREATE TABLE app.events (id integer NOT NULL, at date NOT NULL, PRIMARY KEY (id, at))
       PARTITION BY RANGE (at)""",
    "CREATE TABLE app.events_2023 PARTITION OF app.events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')",
    "CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "INSERT INTO app.events SELECT g, DATE '2023-06-01' + (g % 300) FROM generate_series(1, 400) g",
    "CREATE TABLE other.never_analyzed (id serial PRIMARY KEY)",
    "INSERT INTO other.never_analyzed SELECT FROM generate_series(1, 50)",
    "CREATE TABLE app.counted (id integer)",
    "INSERT INTO app.counted SELECT generate_series(1, 1234)",
    "ANALYZE app.counted",
    "ANALYZE app.events",
]


@pytest.fixture
def catalog_db(pg_database):
    url = pg_database()
    run_sql(url, *SCHEMA_SQL)
    return url


def _by_name(tables):
    return {t.qualified: t for t in tables}


@pytest.mark.live
def test_it_lists_tables_views_and_partitioned_parents_only(catalog_db):
    tables = _by_name(engine_for(catalog_db).list_tables())
    assert sorted(tables) == ["app.big_orders", "app.counted", "app.events", "app.orders", "app.pairs",
                              "other.never_analyzed"]
    assert tables["app.big_orders"].kind == "view"
    assert tables["app.orders"].kind == "table"
    assert tables["app.events"].kind == "table"
    assert tables["app.events"].partitions == ("events_2023", "events_2024")


@pytest.mark.live
def test_it_lists_only_the_schemas_asked_for(catalog_db):
    tables = engine_for(catalog_db).list_tables(["other"])
    assert [t.qualified for t in tables] == ["other.never_analyzed"]


@pytest.mark.live
def test_it_never_lists_system_or_temporary_schemas(catalog_db):
    tables = engine_for(catalog_db).list_tables(["pg_catalog", "information_schema", "pg_toast"])
    assert tables == []
    with psycopg.connect(catalog_db, autocommit=True) as other_session:
        other_session.execute("CREATE TEMPORARY TABLE scratch (id integer)")
        names = [t.name for t in engine_for(catalog_db).list_tables()]
    assert "scratch" not in names
    assert len(names) == 6


@pytest.mark.live
def test_it_reads_columns_in_order_with_native_and_dms_types(catalog_db):
    orders = _by_name(engine_for(catalog_db).list_tables(["app"]))["app.orders"]
    assert [c.name for c in orders.columns] == ["id", "code", "amount", "total", "mood", "qty", "created"]
    assert [c.native_type for c in orders.columns] == [
        "bigint", "character varying(20)", "numeric(12,2)", "numeric(12,2)", "app.mood", "app.positive",
        "timestamp(3) with time zone"]
    assert [c.dms_type for c in orders.columns] == [
        DmsType(T.INT8), DmsType(T.WSTRING, length=20), DmsType(T.NUMERIC, precision=12, scale=2),
        DmsType(T.NUMERIC, precision=12, scale=2), DmsType(T.STRING, length=64), DmsType(T.INT4),
        DmsType(T.DATETIME, scale=3)]


@pytest.mark.live
def test_it_reads_nullability_generated_identity_and_defaults(catalog_db):
    orders = _by_name(engine_for(catalog_db).list_tables(["app"]))["app.orders"]
    columns = {c.name: c for c in orders.columns}
    assert columns["id"].identity is True
    assert columns["id"].nullable is False
    assert columns["code"].nullable is False
    assert columns["amount"].nullable is True
    assert columns["amount"].default == "0"
    assert columns["total"].generated is True
    assert columns["total"].identity is False
    assert columns["created"].default == "now()"
    assert columns["mood"].default is None


@pytest.mark.live
def test_it_reads_primary_and_unique_keys(catalog_db):
    tables = _by_name(engine_for(catalog_db).list_tables(["app"]))
    assert tables["app.orders"].primary_key == ("id",)
    assert tables["app.orders"].unique_keys == (("code",),)
    assert tables["app.pairs"].primary_key == ()
    assert tables["app.pairs"].unique_keys == (("b", "a"),)  # key order, not column order; partial index skipped
    assert tables["app.pairs"].best_key == ("b", "a")
    assert tables["app.events"].primary_key == ("id", "at")


@pytest.mark.live
def test_it_estimates_rows_from_statistics(catalog_db):
    tables = _by_name(engine_for(catalog_db).list_tables())
    assert tables["app.counted"].estimated_rows == 1234
    assert tables["app.events"].estimated_rows == 400  # summed over the partitions
    assert tables["other.never_analyzed"].estimated_rows == 0
    assert tables["app.big_orders"].estimated_rows == 0


@pytest.mark.live
def test_it_says_public_is_the_default_schema(pg_database):
    assert engine_for(pg_database()).default_schema() == "public"
