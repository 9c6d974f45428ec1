"""Selection rules in the plan: which tables are migrated, in what order, with which filters."""

from __future__ import annotations

import pytest

from endpoints.engines.plan import ColumnFilter, FilterCondition, FilterOp
from tasks.engine.mapping import build_plan

from .mapping_helpers import FakeTarget, departments, employees, messages, rules, select, simple


def plan_of(tables, document, settings=None, source_engine="postgres"):
    return build_plan(tables, document, settings, target=FakeTarget(), source_engine=source_engine)


def names(plan) -> list[str]:
    return [f"{t.source_schema}.{t.source_table}" for t in plan.tables]


SOURCE = [simple("Test", "ORDERS"), simple("Test", "DMS_LOG"), simple("Test", "dms_audit"), simple("Test", "ITEMS"),
          simple("Other", "ORDERS"), simple("Test", "V_SALES", kind="view"), simple("Test", "order_1"),
          simple("Test", "orderX1")]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (rules(select("Test", "%")),
         ["Test.DMS_LOG", "Test.ITEMS", "Test.ORDERS", "Test.dms_audit", "Test.orderX1", "Test.order_1"]),
        (rules(select("Test", "%"), select("Test", "DMS%", rule_id="2", action="exclude")),
         ["Test.ITEMS", "Test.ORDERS", "Test.dms_audit", "Test.orderX1", "Test.order_1"]),
        (rules(select("Test", "DMS%", rule_id="1", action="exclude"), select("Test", "%", rule_id="2")),
         ["Test.ITEMS", "Test.ORDERS", "Test.dms_audit", "Test.orderX1", "Test.order_1"]),  # exclude wins either way
        (rules(select("%", "ORDERS")), ["Other.ORDERS", "Test.ORDERS"]),
        (rules(select("test", "%")), []),  # names are case-sensitive
        (rules(select("Test", "order_1")), ["Test.orderX1", "Test.order_1"]),  # `_` is any one character
        (rules(select("Test", "order[_]1")), ["Test.order_1"]),
        (rules(select("Test", "[DI]%")), ["Test.DMS_LOG", "Test.ITEMS"]),
        (rules(select("Test", "[A-J]%")), ["Test.DMS_LOG", "Test.ITEMS"]),
        (rules(select("Test", "ORDERS", action="explicit")), ["Test.ORDERS"]),
        (rules(select("Test", "order_1", action="explicit")), ["Test.order_1"]),  # explicit names are literal
        (rules(select("Test", "%", table_type="view")), ["Test.V_SALES"]),
        (rules(select("Test", "%S", table_type="all")), ["Test.ITEMS", "Test.ORDERS", "Test.V_SALES"]),
        (rules(select("Test", "%S")), ["Test.ITEMS", "Test.ORDERS"]),  # table-type defaults to table
    ],
)
def test_it_selects_tables_as_dms_does(document, expected) -> None:
    assert sorted(names(plan_of(SOURCE, document))) == expected


def test_it_orders_tables_by_load_order_then_name() -> None:
    document = rules(select("Test", "%"), select("Test", "ITEMS", rule_id="2", load_order=2),
                     select("Test", "ORDERS", rule_id="3", load_order="1"))
    assert names(plan_of(SOURCE[:4], document)) == ["Test.ITEMS", "Test.ORDERS", "Test.DMS_LOG", "Test.dms_audit"]
    assert [t.load_order for t in plan_of(SOURCE[:4], document).tables] == [2, 1, 0, 0]


def conditions_rule(*conditions, column="salary"):
    return select("hr", "employees", filters=[
        {"filter-type": "source", "column-name": column, "filter-conditions": list(conditions)}])


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"filter-operator": "eq", "value": "100"}, FilterCondition(FilterOp.EQ, value="100")),
        ({"filter-operator": "noteq", "value": "100"}, FilterCondition(FilterOp.NOTEQ, value="100")),
        ({"filter-operator": "lte", "value": "100"}, FilterCondition(FilterOp.LTE, value="100")),
        ({"filter-operator": "ste", "value": "100"}, FilterCondition(FilterOp.STE, value="100")),
        ({"filter-operator": "gte", "value": 100}, FilterCondition(FilterOp.GTE, value="100")),
        ({"filter-operator": "between", "start-value": "50", "end-value": "75"},
         FilterCondition(FilterOp.BETWEEN, start="50", end="75")),
        ({"filter-operator": "notbetween", "start-value": "50", "end-value": "75.5"},
         FilterCondition(FilterOp.NOTBETWEEN, start="50", end="75.5")),
        ({"filter-operator": "null"}, FilterCondition(FilterOp.NULL)),
        ({"filter-operator": "notnull"}, FilterCondition(FilterOp.NOTNULL)),
    ],
)
def test_it_puts_every_filter_operator_in_the_plan(condition, expected) -> None:
    plan = plan_of([employees()], rules(conditions_rule(condition)))
    assert plan.errors == []
    assert plan.tables[0].filters == (ColumnFilter("salary", (expected,)),)


def test_it_keeps_or_ed_conditions_and_and_ed_filters() -> None:
    rule = select("hr", "employees", filters=[
        {"filter-type": "source", "column-name": "id", "filter-conditions": [
            {"filter-operator": "lte", "value": "10"},
            {"filter-operator": "between", "start-value": "50", "end-value": "75"},
            {"filter-operator": "gte", "value": "100"}]},
        {"filter-type": "source", "column-name": "first_name", "filter-conditions": [
            {"filter-operator": "eq", "value": "tech"}]}])
    plan = plan_of([employees()], rules(rule))
    assert plan.tables[0].filters == (
        ColumnFilter("id", (FilterCondition(FilterOp.LTE, value="10"),
                            FilterCondition(FilterOp.BETWEEN, start="50", end="75"),
                            FilterCondition(FilterOp.GTE, value="100"))),
        ColumnFilter("first_name", (FilterCondition(FilterOp.EQ, value="tech"),)),
    )


def test_it_and_s_filters_from_every_rule_that_includes_the_table() -> None:
    document = rules(select("hr", "%"), select("hr", "emp%", rule_id="2", filters=[
        {"filter-type": "source", "column-name": "dept_id", "filter-conditions": [
            {"filter-operator": "eq", "value": "7"}]}]),
        select("hr", "employees", rule_id="3", filters=[
            {"filter-type": "source", "column-name": "hired", "filter-conditions": [
                {"filter-operator": "gte", "value": "2020-01-01"}]}]))
    plan = plan_of([employees(), departments()], document)
    by_name = {t.source_table: t for t in plan.tables}
    assert [f.column for f in by_name["employees"].filters] == ["dept_id", "hired"]
    assert by_name["departments"].filters == ()


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("salry", 'rules[0].filters[0].column-name (rule-id "1", rule-name "select-1"): hr.employees has no column '
                  '"salry"; columns: id, first_name, last_name, salary, rating, notes, hired, dept_id, area'),
        ("notes", 'rules[0].filters[0].column-name (rule-id "1", rule-name "select-1"): "notes" is a LOB column '
                  "(NCLOB); allowed: filters on columns that are not BLOB, CLOB or NCLOB"),
        ("area", 'rules[0].filters[0].column-name (rule-id "1", rule-name "select-1"): "area" has type geometry, '
                 "which this engine cannot read"),
    ],
)
def test_it_checks_filter_columns_against_the_source(column, expected) -> None:
    plan = plan_of([employees()], rules(conditions_rule({"filter-operator": "notnull"}, column=column)))
    assert messages(plan.errors) == [expected]


def test_it_fails_when_nothing_is_selected_and_the_settings_say_so() -> None:
    plan = plan_of(SOURCE, rules(select("Nope", "%")))
    assert messages(plan.errors) == [
        "rules: the selection rules match no table or view of the source; allowed: rules that select at least one "
        "table (or ErrorBehavior.FailOnNoTablesCaptured false to accept an empty task)"]


def test_it_only_warns_about_an_empty_selection_when_allowed() -> None:
    plan = plan_of(SOURCE, rules(select("Nope", "%")), {"ErrorBehavior": {"FailOnNoTablesCaptured": False}})
    assert plan.errors == []
    assert "rules: the selection rules match no table or view of the source" in messages(plan.warnings)


def test_it_warns_about_selection_rules_that_match_nothing() -> None:
    document = rules(select("Test", "%"), select("Test", "dms%", rule_id="2", action="exclude"),
                     select("Test", "ORDERZ", rule_id="3"), select("Test", "V%", rule_id="4", table_type="view"))
    plan = plan_of(SOURCE, document)
    assert messages(plan.warnings) == [
        'rules[2] (rule-id "3", rule-name "select-3"): matches no table of the source',
    ]
    plan = plan_of(SOURCE, rules(select("Test", "%"), select("Test", "TMP%", rule_id="2", action="exclude")))
    assert messages(plan.warnings) == [
        'rules[1] (rule-id "2", rule-name "select-2"): excludes nothing: it matches no table of the source']


def test_it_includes_document_errors_in_the_plan() -> None:
    plan = plan_of(SOURCE, rules(select("Test", "%"), select("Test", "X", rule_id="2", action="add")))
    assert messages(plan.errors) == [
        'rules[1].rule-action (rule-id "2", rule-name "select-2"): got "add"; allowed: include, exclude, explicit']
    assert len(plan.tables) == 6  # the valid rules still give a preview
