"""table-settings rules in the plan: range segments, partitions, LOB handling."""

from __future__ import annotations

from endpoints.engines.catalog import SourceTable
from endpoints.engines.plan import LobMode, LobSettings, Segment
from endpoints.engines.types import DmsType, T
from tasks.engine.mapping import build_plan

from .mapping_helpers import FakeTarget, col, departments, employees, messages, rules, select, simple, table_settings


def plan_of(tables, *items, settings=None, source_engine="postgres"):
    return build_plan(tables, rules(*items), settings, target=FakeTarget(), source_engine=source_engine)


SALES = SourceTable("HR", "SALES", (col("SALES_NO", "int", DmsType(T.INT4), nullable=False),
                                    col("REGION", "varchar(10)", DmsType(T.STRING, 10), nullable=False),
                                    col("AMOUNT", "float", DmsType(T.REAL8)),
                                    col("MEMO", "text", DmsType(T.CLOB)),
                                    col("ZONE", "varchar(5)", DmsType(T.STRING, 5))),
                    primary_key=("SALES_NO", "REGION"))


def ranges(columns, boundaries, rule_id="2"):
    return table_settings(rule_id, "HR", "SALES", parallel_load={"type": "ranges", "columns": columns,
                                                                 "boundaries": boundaries})


def test_it_makes_one_more_segment_than_boundaries() -> None:
    plan = plan_of([SALES], select("HR", "%"), ranges(["SALES_NO", "REGION"], [["1000", "NORTH"], ["3000", "WEST"]]))
    assert plan.errors == []
    assert plan.tables[0].segments == (
        Segment(0, ("SALES_NO", "REGION"), None, ("1000", "NORTH")),
        Segment(1, ("SALES_NO", "REGION"), ("1000", "NORTH"), ("3000", "WEST")),
        Segment(2, ("SALES_NO", "REGION"), ("3000", "WEST"), None),
    )


def test_it_keeps_boundary_values_as_given_and_numbers_as_written() -> None:
    plan = plan_of([SALES], select("HR", "%"), ranges(["SALES_NO"], [[10], ["20"], [30.5]]))
    assert [s.upper for s in plan.tables[0].segments] == [("10",), ("20",), ("30.5",), None]


def test_it_gives_rows_with_null_range_columns_to_the_last_segment() -> None:
    plan = plan_of([SALES], select("HR", "%"), ranges(["ZONE"], [["M"]]))
    assert [s.include_nulls for s in plan.tables[0].segments] == [False, True]
    plan = plan_of([SALES], select("HR", "%"), ranges(["REGION"], [["M"]]))
    assert [s.include_nulls for s in plan.tables[0].segments] == [False, False]  # NOT NULL: nothing to add


def test_it_refuses_range_columns_that_cannot_bound_a_range() -> None:
    plan = plan_of([SALES], select("HR", "%"), ranges(["AMOUNT", "MEMO", "NOPE"], [["1", "a", "b"]]))
    assert messages(plan.errors) == [
        'rules[1].parallel-load.columns[0] (rule-id "2", rule-name "ts-2"): "AMOUNT" is REAL8; allowed: range '
        "columns of any type but REAL4, REAL8, BLOB, CLOB and NCLOB",
        'rules[1].parallel-load.columns[1] (rule-id "2", rule-name "ts-2"): "MEMO" is CLOB; allowed: range columns '
        "of any type but REAL4, REAL8, BLOB, CLOB and NCLOB",
        'rules[1].parallel-load.columns[2] (rule-id "2", rule-name "ts-2"): HR.SALES has no column "NOPE"; columns: '
        "SALES_NO, REGION, AMOUNT, MEMO, ZONE"]
    assert plan.tables[0].segments == ()


def test_it_refuses_number_boundaries_out_of_order() -> None:
    plan = plan_of([SALES], select("HR", "%"), ranges(["SALES_NO"], [["3000"], ["1000"]]))
    assert messages(plan.errors) == [
        'rules[1].parallel-load.boundaries[1] (rule-id "2", rule-name "ts-2"): ["1000"] is not above the boundary '
        'before it ["3000"]; allowed: boundaries in ascending order']
    plan = plan_of([SALES], select("HR", "%"), ranges(["SALES_NO"], [["ten"]]))
    assert messages(plan.errors) == [
        'rules[1].parallel-load.boundaries[0] (rule-id "2", rule-name "ts-2"): ["ten"] is not all numbers; allowed: '
        "numbers for the number columns SALES_NO"]


def test_it_makes_one_segment_per_partition() -> None:
    orders = simple("shop", "orders", partitions=("p2023", "p2024", "pmax"))
    plan = plan_of([orders], select("shop", "%"), table_settings("2", "shop", "orders",
                                                                 parallel_load={"type": "partitions-auto"}),
                   source_engine="mysql")
    assert plan.tables[0].segments == (Segment(0, (), partition="p2023"), Segment(1, (), partition="p2024"),
                                       Segment(2, (), partition="pmax"))


def test_it_refuses_partitions_auto_for_postgresql_sources() -> None:
    orders = simple("shop", "orders", partitions=("p1",))
    plan = plan_of([orders], select("shop", "%"), table_settings("2", "shop", "orders",
                                                                 parallel_load={"type": "partitions-auto"}))
    assert messages(plan.errors) == [
        'rules[1].parallel-load.type (rule-id "2", rule-name "ts-2"): partitions-auto is not supported for '
        "PostgreSQL sources (DMS splits them by ranges only); allowed: ranges, none"]


def test_it_warns_when_a_table_has_no_partitions() -> None:
    plan = plan_of([simple("shop", "orders")], select("shop", "%"), table_settings(
        "2", "shop", "orders", parallel_load={"type": "partitions-auto"}), source_engine="sqlserver")
    assert plan.tables[0].segments == ()
    assert messages(plan.warnings) == [
        'rules[1].parallel-load.type (rule-id "2", rule-name "ts-2"): shop.orders has no partitions; it loads as one '
        "segment"]


def test_it_loads_in_one_piece_with_parallel_load_none() -> None:
    plan = plan_of([SALES], select("HR", "%"), table_settings("2", "HR", "SALES", parallel_load={"type": "none"}))
    assert plan.tables[0].segments == ()
    assert plan.errors == [] and plan.warnings == []


def lob_rule(mode, size=None, rule_id="2"):
    spec = {"mode": mode} if size is None else {"mode": mode, "bulk-max-size": size}
    return table_settings(rule_id, "hr", "employees", lob_settings=spec)


def test_it_sets_table_lob_handling() -> None:
    assert plan_of([employees()], select(), lob_rule("limited", "100")).tables[0].lob == LobSettings(
        LobMode.LIMITED, 102400)
    assert plan_of([employees()], select(), lob_rule("limited")).tables[0].lob == LobSettings(LobMode.LIMITED, 32768)
    assert plan_of([employees()], select(), lob_rule("unlimited")).tables[0].lob == LobSettings(LobMode.FULL, 32768)
    assert plan_of([employees()], select(), lob_rule("none"), settings={"TargetMetadata": {"LobMaxSize": 64}}) \
        .tables[0].lob == LobSettings(LobMode.LIMITED, 65536)


def test_it_carries_lobs_whole_in_combination_mode_and_says_so() -> None:
    plan = plan_of([employees()], select(), lob_rule("unlimited", 64))
    assert plan.tables[0].lob.mode is LobMode.FULL
    assert messages(plan.warnings)[0] == (
        'rules[1].lob-settings.bulk-max-size (rule-id "2", rule-name "ts-2"): unlimited mode with a bulk-max-size '
        "(DMS's combination mode) is not implemented; every LOB is carried whole")


def test_it_ignores_table_lob_settings_when_lobs_are_left_out() -> None:
    plan = plan_of([employees()], select(), lob_rule("limited", 10),
                   settings={"TargetMetadata": {"SupportLobs": False}})
    assert plan.tables[0].lob.mode is LobMode.NONE
    assert 'rules[1].lob-settings (rule-id "2", rule-name "ts-2"): is ignored for hr.employees: ' \
           "TargetMetadata.SupportLobs is false, so LOB columns are left out" in messages(plan.warnings)


def test_it_applies_the_lower_rule_id_of_two_table_settings() -> None:
    plan = plan_of([employees()], select(), lob_rule("limited", 8, rule_id="3"), lob_rule("unlimited", rule_id="2"))
    assert plan.tables[0].lob.mode is LobMode.FULL
    assert messages(plan.warnings)[0] == (
        'rules[1] (rule-id "3", rule-name "ts-3"): also sets lob-settings of hr.employees, where rule-id "2" has the '
        "lower rule-id and wins; it is not applied")


def test_it_warns_about_table_settings_for_tables_not_selected() -> None:
    plan = plan_of([employees(), departments()], select("hr", "departments"), lob_rule("limited", 8))
    assert messages(plan.warnings) == [
        'rules[1] (rule-id "2", rule-name "ts-2"): names hr.employees, which no selection rule includes; it is '
        "ignored"]
