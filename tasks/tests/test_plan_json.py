"""The dry-run plan JSON for a realistic document: MySQL shop tables, every kind of rule."""

from __future__ import annotations

import json

from endpoints.engines.catalog import SourceTable
from endpoints.engines.types import DmsType, T
from tasks.engine.mapping import build_plan

from .mapping_helpers import FakeTarget, col


def catalog() -> list[SourceTable]:
    customers = SourceTable("shop", "customers", (
        col("id", "int", DmsType(T.INT4), nullable=False),
        col("email", "varchar(100)", DmsType(T.WSTRING, 100), nullable=False),
        col("first_name", "varchar(40)", DmsType(T.WSTRING, 40)),
        col("last_name", "varchar(40)", DmsType(T.WSTRING, 40)),
        col("bio", "mediumtext", DmsType(T.NCLOB)),
        col("location", "point", None, why="spatial types are not supported"),
    ), primary_key=("id",), unique_keys=(("email",),), estimated_rows=20000)
    orders = SourceTable("shop", "orders", (
        col("id", "bigint", DmsType(T.INT8), nullable=False),
        col("customer_id", "int", DmsType(T.INT4), nullable=False),
        col("total", "decimal(12,2)", DmsType(T.NUMERIC, precision=12, scale=2)),
        col("status", "varchar(10)", DmsType(T.WSTRING, 10)),
        col("placed", "datetime", DmsType(T.DATETIME, scale=0)),
    ), primary_key=("id",), estimated_rows=350000)
    events = SourceTable("shop", "events", (
        col("happened", "datetime(6)", DmsType(T.DATETIME, scale=6), nullable=False),
        col("kind", "varchar(20)", DmsType(T.WSTRING, 20), nullable=False),
        col("payload", "json", DmsType(T.CLOB)),
    ), estimated_rows=900)
    scratch = SourceTable("shop", "tmp_import", (col("id", "int", DmsType(T.INT4), nullable=False),),
                          primary_key=("id",))
    return [customers, orders, events, scratch]


def transformation(rule_id: str, name: str, target: str, action: str, locator: dict, **extra) -> dict:
    rule = {"rule-type": "transformation", "rule-id": rule_id, "rule-name": name, "rule-target": target,
            "rule-action": action, "object-locator": locator}
    rule.update({key.replace("_", "-"): value for key, value in extra.items()})
    return rule


SHOP = {"schema-name": "shop", "table-name": "%"}
DOCUMENT = {"rules": [
    {"rule-type": "selection", "rule-id": "1", "rule-name": "shop", "rule-action": "include", "object-locator": SHOP},
    {"rule-type": "selection", "rule-id": "2", "rule-name": "no-tmp", "rule-action": "exclude",
     "object-locator": {"schema-name": "shop", "table-name": "tmp%"}},
    {"rule-type": "selection", "rule-id": "3", "rule-name": "recent-orders", "rule-action": "include",
     "object-locator": {"schema-name": "shop", "table-name": "orders"}, "load-order": 2, "filters": [
         {"filter-type": "source", "column-name": "status",
          "filter-conditions": [{"filter-operator": "noteq", "value": "cancelled"}]},
         {"filter-type": "source", "column-name": "placed",
          "filter-conditions": [{"filter-operator": "gte", "value": "2020-01-01"}]}]},
    transformation("4", "schema", "schema", "rename", {"schema-name": "shop"}, value="sales", old_value=None),
    transformation("5", "prefix", "table", "add-prefix", SHOP, value="app_"),
    transformation("6", "given-name", "column", "rename",
                   {"schema-name": "shop", "table-name": "customers", "column-name": "first_name"}, value="given_name"),
    transformation("7", "no-bio", "column", "remove-column",
                   {"schema-name": "shop", "table-name": "customers", "column-name": "bio"}),
    transformation("8", "full-name", "column", "add-column", {"schema-name": "shop", "table-name": "customers"},
                   value="full_name", expression="$first_name||' '||$last_name",
                   data_type={"type": "string", "length": 81}),
    transformation("9", "total-as-text", "column", "change-data-type",
                   {"schema-name": "shop", "table-name": "orders", "column-name": "total"},
                   data_type={"type": "string", "length": 20}),
    transformation("10", "events-key", "table", "define-primary-key", {"schema-name": "shop", "table-name": "events"},
                   primary_key_def={"name": "events_pk", "columns": ["happened", "kind"]}),
    transformation("11", "source", "column", "add-column", {"schema-name": "%", "table-name": "%"}, value="_source",
                   expression="$AR_M_SOURCE_TABLE_NAME", data_type={"type": "string", "length": 64}),
    transformation("12", "batch", "column", "add-column", {"schema-name": "shop", "table-name": "orders"},
                   value="batch", expression="7", data_type={"type": "int4"}),
    {"rule-type": "table-settings", "rule-id": "13", "rule-name": "orders-ranges",
     "object-locator": {"schema-name": "shop", "table-name": "orders"},
     "parallel-load": {"type": "ranges", "columns": ["id"], "boundaries": [["100000"], ["200000"]]}},
    {"rule-type": "table-settings", "rule-id": "14", "rule-name": "events-lobs",
     "object-locator": {"schema-name": "shop", "table-name": "events"},
     "lob-settings": {"mode": "limited", "bulk-max-size": "64"}},
]}


def source_column(name, native, dms, target, nullable=True, source=None, **extra):
    return {"name": name, "source_column": source or name, "source_type": native, "intermediate_type": dms,
            "target_type": target, "nullable": nullable, **extra}


def added_column(name, dms, target, **extra):
    return {"name": name, "source_column": None, "source_type": None, "intermediate_type": dms,
            "target_type": target, "nullable": True, **extra, "added": True}


SOURCE_TABLE_NAME = added_column("_source", "STRING(64)", "string(64)", expression="$AR_M_SOURCE_TABLE_NAME")
ID_SEGMENTS = [{"columns": ["id"], "lower": None, "upper": ["100000"]},
               {"columns": ["id"], "lower": ["100000"], "upper": ["200000"]},
               {"columns": ["id"], "lower": ["200000"], "upper": None}]
EXPECTED = {
    "tables": [
        {
            "source": {"schema": "shop", "table": "orders", "estimated_rows": 350000},
            "target": {"schema": "sales", "table": "app_orders"},
            "columns": [
                source_column("id", "bigint", "INT8", "int8", nullable=False),
                source_column("customer_id", "int", "INT4", "int4", nullable=False),
                source_column("total", "decimal(12,2)", "STRING(20)", "string(20)",
                              source_intermediate_type="NUMERIC(12,2)"),
                source_column("status", "varchar(10)", "WSTRING(10)", "wstring(10)"),
                source_column("placed", "datetime", "DATETIME(0)", "datetime(0)"),
                SOURCE_TABLE_NAME,
                added_column("batch", "INT4", "int4", value=7),
            ],
            "key": {"columns": ["id"], "origin": "primary-key"},
            "filters": [{"column": "status", "conditions": [{"operator": "noteq", "value": "cancelled"}]},
                        {"column": "placed", "conditions": [{"operator": "gte", "value": "2020-01-01"}]}],
            "segments": ID_SEGMENTS,
            "lob": {"mode": "limited", "max_bytes": 32768},
            "load_order": 2,
            "unsupported_columns": [],
            "rules": ["1", "3", "4", "5", "9", "11", "12", "13"],
        },
        {
            "source": {"schema": "shop", "table": "customers", "estimated_rows": 20000},
            "target": {"schema": "sales", "table": "app_customers"},
            "columns": [
                source_column("id", "int", "INT4", "int4", nullable=False),
                source_column("email", "varchar(100)", "WSTRING(100)", "wstring(100)", nullable=False),
                source_column("given_name", "varchar(40)", "WSTRING(40)", "wstring(40)", source="first_name"),
                source_column("last_name", "varchar(40)", "WSTRING(40)", "wstring(40)"),
                added_column("full_name", "STRING(81)", "string(81)", expression="$first_name||' '||$last_name"),
                SOURCE_TABLE_NAME,
            ],
            "key": {"columns": ["id"], "origin": "primary-key"},
            "filters": [],
            "segments": [],
            "lob": {"mode": "limited", "max_bytes": 32768},
            "load_order": 0,
            "unsupported_columns": [{"column": "location", "type": "point",
                                     "reason": "spatial types are not supported"}],
            "rules": ["1", "4", "5", "6", "7", "8", "11"],
        },
        {
            "source": {"schema": "shop", "table": "events", "estimated_rows": 900},
            "target": {"schema": "sales", "table": "app_events"},
            "columns": [
                source_column("happened", "datetime(6)", "DATETIME(6)", "datetime(6)", nullable=False),
                source_column("kind", "varchar(20)", "WSTRING(20)", "wstring(20)", nullable=False),
                source_column("payload", "json", "CLOB", "clob"),
                SOURCE_TABLE_NAME,
            ],
            "key": {"columns": ["happened", "kind"], "origin": "primary-key"},
            "filters": [],
            "segments": [],
            "lob": {"mode": "limited", "max_bytes": 65536},
            "load_order": 0,
            "unsupported_columns": [],
            "rules": ["1", "4", "5", "10", "11", "14"],
        },
    ],
    "errors": [],
    "warnings": ['shop.customers.location: type "point" is not supported (spatial types are not supported); the '
                 "column is not migrated"],
}


def test_it_describes_the_whole_plan_as_json() -> None:
    plan = build_plan(catalog(), json.dumps(DOCUMENT), {"FullLoadSettings": {"MaxFullLoadSubTasks": 4}},
                      target=FakeTarget(), source_engine="mysql")
    assert plan.to_json() == EXPECTED


def test_it_gives_json_that_serialises() -> None:
    plan = build_plan(catalog(), DOCUMENT, None, target=FakeTarget(), source_engine="mysql")
    assert json.loads(json.dumps(plan.to_json())) == EXPECTED
