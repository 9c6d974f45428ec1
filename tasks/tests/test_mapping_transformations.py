"""Transformation rules in the plan: names, columns, types, keys, and which rule wins."""

from __future__ import annotations

import pytest

from endpoints.engines.catalog import SourceTable
from endpoints.engines.plan import LobMode
from endpoints.engines.types import DmsType, T
from tasks.engine.mapping import build_plan

from .mapping_helpers import (
    FakeTarget,
    col,
    departments,
    employees,
    messages,
    rules,
    select,
    simple,
    transform,
)


def plan_of(tables, *items, settings=None, target=None, source_engine="postgres"):
    return build_plan(tables, rules(*items), settings, target=target or FakeTarget(), source_engine=source_engine)


def only(plan):
    assert plan.errors == [], messages(plan.errors)
    assert len(plan.tables) == 1
    return plan.tables[0]


def column_names(table_plan) -> list[str]:
    return [c.name for c in table_plan.columns]


EMP = {"schema-name": "hr", "table-name": "employees"}


def at(column: str) -> dict[str, str]:
    return {**EMP, "column-name": column}


NAME_CASES = [
    ("rename", {"value": "orders"}, "orders"),
    ("convert-lowercase", {}, "pre_orders_dms"),
    ("convert-uppercase", {}, "PRE_ORDERS_DMS"),
    ("add-prefix", {"value": "X_"}, "X_Pre_Orders_DMS"),
    ("remove-prefix", {"value": "Pre_"}, "Orders_DMS"),
    ("remove-prefix", {"value": "Post_"}, "Pre_Orders_DMS"),
    ("replace-prefix", {"value": "New_", "old_value": "Pre_"}, "New_Orders_DMS"),
    ("replace-prefix", {"value": "", "old_value": "Pre_"}, "Orders_DMS"),
    ("replace-prefix", {"value": "New_", "old_value": "Post_"}, "Pre_Orders_DMS"),
    ("add-suffix", {"value": "_v2"}, "Pre_Orders_DMS_v2"),
    ("remove-suffix", {"value": "_DMS"}, "Pre_Orders"),
    ("remove-suffix", {"value": "_OLD"}, "Pre_Orders_DMS"),
    ("replace-suffix", {"value": "_OLD", "old_value": "_DMS"}, "Pre_Orders_OLD"),
]
NAME = "Pre_Orders_DMS"
NAMED = SourceTable(NAME, NAME, (col("id", "bigint", DmsType(T.INT8), nullable=False),
                                 col(NAME, "text", DmsType(T.WSTRING, 10))), primary_key=("id",))


@pytest.mark.parametrize(("action", "extra", "expected"), NAME_CASES)
def test_it_applies_each_name_action_to_schemas(action, extra, expected) -> None:
    table = only(plan_of([NAMED], select(NAME, "%"), transform("2", "schema", action, {"schema-name": NAME},
                                                                 **extra)))
    assert (table.target_schema, table.target_table) == (expected, NAME)


@pytest.mark.parametrize(("action", "extra", "expected"), NAME_CASES)
def test_it_applies_each_name_action_to_tables(action, extra, expected) -> None:
    table = only(plan_of([NAMED], select(NAME, "%"), transform("2", "table", action,
                                                                 {"schema-name": "%", "table-name": NAME}, **extra)))
    assert (table.target_schema, table.target_table) == (NAME, expected)


@pytest.mark.parametrize(("action", "extra", "expected"), NAME_CASES)
def test_it_applies_each_name_action_to_columns(action, extra, expected) -> None:
    table = only(plan_of([NAMED], select(NAME, "%"), transform(
        "2", "column", action, {"schema-name": "%", "table-name": "%", "column-name": NAME}, **extra)))
    assert column_names(table) == ["id", expected]
    assert table.columns[1].source == NAME


def test_it_refuses_a_rule_that_leaves_an_empty_name() -> None:
    plan = plan_of([NAMED], select(NAME, "%"), transform("2", "table", "remove-prefix",
                                                         {"schema-name": "%", "table-name": NAME}, value=NAME))
    assert messages(plan.errors) == [
        'rules[1] (rule-id "2", rule-name "t-2"): remove-prefix leaves table Pre_Orders_DMS.Pre_Orders_DMS with an '
        "empty name; allowed: a rule that leaves at least one character"]


def test_it_puts_tables_in_target_schema_from_settings() -> None:
    table = only(plan_of([employees()], select(), settings={"TargetMetadata": {"TargetSchema": "dw"}}))
    assert table.target_schema == "dw"
    table = only(plan_of([employees()], select(), transform("2", "schema", "convert-uppercase", {"schema-name": "hr"}),
                         settings={"TargetMetadata": {"TargetSchema": "dw"}}))
    assert table.target_schema == "DW"


def test_it_uses_the_source_schema_or_else_the_target_default() -> None:
    assert only(plan_of([employees()], select())).target_schema == "hr"
    no_schema = simple("", "t")
    assert only(plan_of([no_schema], select("%", "%"), target=FakeTarget("app"))).target_schema == "app"


def test_it_removes_columns_matching_a_pattern() -> None:
    table = only(plan_of([employees()], select(), transform("2", "column", "remove-column", at("%_name"))))
    assert column_names(table) == ["id", "salary", "rating", "notes", "hired", "dept_id"]


def test_it_keeps_only_included_columns_once_a_table_has_include_column_rules() -> None:
    table = only(plan_of([employees()], select(),
                         transform("2", "column", "include-column", at("id")),
                         transform("3", "column", "include-column", at("salary"))))
    assert column_names(table) == ["id", "salary"]
    assert table.key == ("id",)


def test_it_leaves_tables_without_include_column_rules_whole() -> None:
    plan = plan_of([employees(), departments()], select(), transform("2", "column", "include-column", at("id")))
    assert {t.source_table: column_names(t) for t in plan.tables}["departments"] == ["id", "name"]


def test_it_applies_the_lower_rule_id_when_rules_hit_the_same_column() -> None:
    plan = plan_of([employees()], select(), transform("3", "column", "remove-column", at("salary")),
                   transform("2", "column", "include-column", at("salary")))
    table = plan.tables[0]
    assert column_names(table) == ["salary"]
    assert messages(plan.warnings)[0] == (
        'rules[1] (rule-id "3", rule-name "t-3"): also matches column hr.employees.salary, where rule-id "2" '
        "(include-column) has the lower rule-id and wins; remove-column is not applied there")


def test_it_lets_the_lower_rule_id_name_a_table() -> None:
    plan = plan_of([employees(), departments()], select(),
                   transform("2", "table", "convert-uppercase", {"schema-name": "hr", "table-name": "%"}),
                   transform("3", "table", "rename", EMP, value="staff"))
    assert sorted(t.target_table for t in plan.tables) == ["DEPARTMENTS", "EMPLOYEES"]
    assert messages(plan.warnings) == [
        'rules[2] (rule-id "3", rule-name "t-3"): also matches table hr.employees, where rule-id "2" '
        "(convert-uppercase) has the lower rule-id and wins; rename is not applied there",
        'hr.employees.area: type "geometry" is not supported (PostGIS types are not supported); the column is not '
        "migrated"]
    plan = plan_of([employees(), departments()], select(),
                   transform("3", "table", "convert-uppercase", {"schema-name": "hr", "table-name": "%"}),
                   transform("2", "table", "rename", EMP, value="staff"))
    assert sorted(t.target_table for t in plan.tables) == ["DEPARTMENTS", "staff"]


def test_it_applies_rules_that_change_different_things_of_one_column() -> None:
    table = only(plan_of([employees()], select(), transform("2", "column", "rename", at("salary"), value="pay"),
                         transform("3", "column", "change-data-type", at("salary"), data_type={"type": "string",
                                                                                               "length": "20"})))
    pay = table.columns[3]
    assert (pay.name, pay.source, pay.dms_type, pay.source_dms_type) == (
        "pay", "salary", DmsType(T.STRING, 20), DmsType(T.NUMERIC, precision=10, scale=2))


def test_it_changes_a_column_type_and_asks_the_target_for_the_new_native_type() -> None:
    target = FakeTarget()
    table = only(plan_of([employees()], select(), transform("2", "column", "change-data-type", at("salary"),
                                                            data_type={"type": "int8"}), target=target))
    salary = table.columns[3]
    assert salary.dms_type == DmsType(T.INT8)
    assert salary.source_dms_type == DmsType(T.NUMERIC, precision=10, scale=2)
    assert salary.target_type == "int8"
    assert salary.source_type == "numeric(10,2)"
    assert salary.converts
    assert (DmsType(T.INT8), None, None) in target.calls
    assert table.columns[0].target_type == "integer"  # untouched columns keep the source's type (PG to PG)


def test_it_matches_columns_by_data_type() -> None:
    table = only(plan_of([employees()], select(), transform(
        "2", "column", "change-data-type", {"schema-name": "%", "table-name": "%", "column-name": "%",
                                            "data-type": "int4"}, data_type={"type": "int8"})))
    assert [c.name for c in table.columns if c.dms_type == DmsType(T.INT8)] == ["id", "dept_id"]
    table = only(plan_of([employees()], select(), transform(
        "2", "column", "convert-uppercase", {"schema-name": "%", "table-name": "%", "column-name": "%",
                                             "data-type": "WSTRING"})))
    assert column_names(table)[:3] == ["id", "FIRST_NAME", "LAST_NAME"]


def test_it_adds_a_column_from_an_expression() -> None:
    table = only(plan_of([employees()], select(),
                         transform("2", "column", "remove-column", at("first_name")),
                         transform("3", "column", "add-column", EMP, value="full_name",
                                   expression="$first_name||' '||$last_name",
                                   data_type={"type": "string", "length": 50})))
    full = table.columns[-1]
    assert (full.name, full.added, full.source, full.dms_type, full.target_type) == (
        "full_name", True, None, DmsType(T.STRING, 50), "string(50)")
    assert full.expression is not None and full.expression.columns == ("first_name", "last_name")
    assert "first_name" not in column_names(table)
    assert table.read_columns[-1] == "first_name"  # still read, to feed the expression


@pytest.mark.parametrize(
    ("expression", "constant"),
    [("'web'", "web"), ("42", 42), ("-1.5", -1.5), (None, None), ("NULL", None)],
)
def test_it_adds_a_column_with_a_constant(expression, constant) -> None:
    extra = {"expression": expression} if expression is not None else {}
    table = only(plan_of([departments()], select(), transform(
        "2", "column", "add-column", {"schema-name": "hr", "table-name": "departments"}, value="origin",
        data_type={"type": "string", "length": 10}, **extra)))
    origin = table.columns[-1]
    assert (origin.name, origin.added, origin.expression, origin.constant) == ("origin", True, None, constant)


def test_it_adds_source_metadata_columns_to_every_table() -> None:
    plan = plan_of([employees(), departments()], select(), transform(
        "2", "column", "add-column", {"schema-name": "%", "table-name": "%"}, value="_source",
        expression="$AR_M_SOURCE_SCHEMA||'.'||$AR_M_SOURCE_TABLE_NAME", data_type={"type": "string", "length": 100}))
    assert [t.columns[-1].name for t in plan.tables] == ["_source", "_source"]
    assert plan.tables[0].columns[-1].expression.columns == ()


def test_it_refuses_expressions_over_unknown_columns() -> None:
    plan = plan_of([departments()], select(), transform(
        "2", "column", "add-column", {"schema-name": "hr", "table-name": "departments"}, value="label",
        expression="$name||$code", data_type={"type": "string", "length": 50}))
    assert messages(plan.errors) == [
        'rules[1].expression (rule-id "2", rule-name "t-2"): $code refers to no column of hr.departments; columns: '
        "id, name"]


def test_it_refuses_to_add_a_column_that_exists() -> None:
    plan = plan_of([departments()], select(), transform(
        "2", "column", "add-column", {"schema-name": "hr", "table-name": "departments"}, value="name",
        data_type={"type": "string", "length": 50}))
    assert messages(plan.errors) == [
        'rules[1].value (rule-id "2", rule-name "t-2"): hr.departments already has a target column "name"; '
        "allowed: a name no other column of the table has"]


def test_it_refuses_two_columns_with_one_target_name() -> None:
    plan = plan_of([departments()], select(), transform("2", "column", "rename", {
        "schema-name": "hr", "table-name": "departments", "column-name": "name"}, value="id"))
    assert messages(plan.errors) == [
        'hr.departments: source columns "id" and "name" both become target column "id"; allowed: one column per '
        "target name"]


def test_it_defines_a_primary_key() -> None:
    table = only(plan_of([employees()], select(),
                         transform("2", "column", "rename", at("last_name"), value="surname"),
                         transform("3", "table", "define-primary-key", EMP, primary_key_def={
                             "name": "emp_uk", "origin": "unique-index", "columns": ["first_name", "surname"]})))
    assert table.key == ("first_name", "surname")
    assert table.key_origin == "unique-index"
    assert table.source_key == ("first_name", "last_name")


def test_it_defines_a_key_for_a_table_without_one() -> None:
    keyless = SourceTable("hr", "events", (col("at", "timestamp", DmsType(T.DATETIME, scale=6)),
                                           col("kind", "text", DmsType(T.WSTRING, 10))))
    assert only(plan_of([keyless], select())).key == ()
    table = only(plan_of([keyless], select(), transform("2", "table", "define-primary-key", {
        "schema-name": "hr", "table-name": "events"}, primary_key_def={"name": "pk", "columns": ["at", "kind"]})))
    assert (table.key, table.key_origin) == (("at", "kind"), "primary-key")


def test_it_refuses_key_columns_the_table_does_not_have() -> None:
    plan = plan_of([departments()], select(), transform("2", "table", "define-primary-key", {
        "schema-name": "hr", "table-name": "departments"}, primary_key_def={"name": "pk", "columns": ["code"]}))
    assert messages(plan.errors) == [
        'rules[1].primary-key-def.columns[0] (rule-id "2", rule-name "t-2"): hr.departments has no target column '
        '"code"; columns: id, name']


def test_it_warns_when_the_key_column_is_removed() -> None:
    plan = plan_of([departments()], select(), transform("2", "column", "remove-column", {
        "schema-name": "hr", "table-name": "departments", "column-name": "id"}))
    assert plan.tables[0].key == ()
    assert messages(plan.warnings) == [
        "hr.departments: key column(s) id are not migrated, so the target table gets no key; define one with "
        "define-primary-key"]


def test_it_leaves_lob_columns_out_when_lobs_are_not_supported() -> None:
    plan = plan_of([employees()], select(), settings={"TargetMetadata": {"SupportLobs": False}})
    assert "notes" not in column_names(plan.tables[0])
    assert plan.tables[0].lob.mode is LobMode.NONE
    assert messages(plan.warnings)[0] == (
        "hr.employees.notes: LOB column (NCLOB) is left out because TargetMetadata.SupportLobs is false")


def test_it_lists_unsupported_columns_and_warns() -> None:
    table = plan_of([employees()], select()).tables[0]
    assert [(u.column, u.native_type) for u in table.unsupported] == [("area", "geometry")]
    assert "area" not in column_names(table)


def test_it_refuses_two_source_tables_in_one_target_table() -> None:
    plan = plan_of([employees(), departments()], select(), transform(
        "2", "table", "rename", {"schema-name": "hr", "table-name": "%"}, value="everything"))
    assert messages(plan.errors) == [
        "hr.employees and hr.departments both map to target table hr.everything; allowed: one source table per "
        "target table (DMS does not merge tables)"]


def test_it_warns_about_transformation_rules_that_match_nothing() -> None:
    plan = plan_of([departments()], select(), transform("2", "column", "rename", {
        "schema-name": "hr", "table-name": "departments", "column-name": "nmae"}, value="title"),
        transform("3", "table", "rename", {"schema-name": "sales", "table-name": "%"}, value="x"))
    assert messages(plan.warnings) == [
        'rules[1] (rule-id "2", rule-name "t-2"): matches no column of the selected tables; it changes nothing',
        'rules[2] (rule-id "3", rule-name "t-3"): matches no table of the selected tables; it changes nothing']


def test_it_does_not_transform_tables_that_are_not_selected() -> None:
    plan = plan_of([employees(), departments()], select("hr", "departments"),
                   transform("2", "table", "rename", EMP, value="staff"))
    assert [t.target_table for t in plan.tables] == ["departments"]


def test_it_lists_the_rules_that_shaped_each_table() -> None:
    plan = plan_of([employees(), departments()], select(),
                   transform("2", "schema", "rename", {"schema-name": "hr"}, value="people"),
                   transform("3", "column", "rename", at("first_name"), value="given_name"))
    assert {t.source_table: t.rule_ids for t in plan.tables} == {"employees": ("1", "2", "3"),
                                                                 "departments": ("1", "2")}
