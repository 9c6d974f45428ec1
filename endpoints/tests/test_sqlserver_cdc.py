"""MS-CDC without a server: LSN arithmetic, golden change queries, CDC enablement checks and statements,
capture-instance changes, and grouping change rows (shaped as fn_cdc_get_all_changes returns them)
into source transactions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from endpoints.engines.base import UNCHANGED, Op
from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.sqlserver import SqlServerEngine
from endpoints.engines.sqlserver.cdc_changes import (
    Commit,
    change_queries,
    commits_from_rows,
    merge_rows,
    transactions,
)
from endpoints.engines.sqlserver.cdc_setup import (
    build_instances,
    by_table,
    capture_changes,
    enable_table_statement,
    missing_statements,
    plan_reads,
    require_cdc,
)
from endpoints.engines.sqlserver.lsn import Lsn
from endpoints.engines.sqlserver.sqlfiles import sql
from endpoints.engines.types import DmsType, T


def lsn(text: str) -> bytes:
    return Lsn.parse(text).to_bytes()


# ---- LSN -----------------------------------------------------------------------------------------

def test_it_prints_and_parses_lsns_as_dms_does():
    value = Lsn.from_bytes(bytes.fromhex("00000014000000610001"))
    assert str(value) == "00000014:00000061:0001"
    assert Lsn.parse("00000014:00000061:0001") == value
    assert Lsn.parse("0x00000014000000610001") == value
    assert Lsn.parse("14:61:1") == value
    assert value.to_bytes() == b"\x00\x00\x00\x14\x00\x00\x00\x61\x00\x01"
    assert value.parts == (0x14, 0x61, 1)


def test_it_orders_lsns_as_sql_server_orders_binary_10():
    values = [Lsn.from_bytes(bytes.fromhex(h)) for h in
              ("0000003D00001A500003", "0000003D000019B80004", "0000003D000019F00011")]
    assert [str(v) for v in sorted(values)] == ["0000003D:000019B8:0004", "0000003D:000019F0:0011",
                                                "0000003D:00001A50:0003"]
    assert Lsn.parse("00000001:FFFFFFFF:FFFF") < Lsn.parse("00000002:00000000:0000")


def test_it_increments_and_decrements_lsns_like_the_cdc_functions():
    assert str(Lsn.parse("00000014:00000061:0001").increment()) == "00000014:00000061:0002"
    assert str(Lsn.parse("00000014:00000061:FFFF").increment()) == "00000014:00000062:0000"
    assert str(Lsn.parse("00000014:FFFFFFFF:FFFF").increment()) == "00000015:00000000:0000"
    assert str(Lsn.parse("00000015:00000000:0000").decrement()) == "00000014:FFFFFFFF:FFFF"
    with pytest.raises(ValueError):
        Lsn.parse("FFFFFFFF:FFFFFFFF:FFFF").increment()


def test_it_refuses_text_that_is_not_an_lsn():
    with pytest.raises(EngineError) as caught:
        Lsn.parse("mysql-bin.000003:154")
    assert caught.value.kind is ErrorKind.CONFIGURATION and "00000014:00000061:0001" in caught.value.message


def test_it_sorts_positions_by_lsn():
    engine = SqlServerEngine(ConnectionInfo.from_url("mssql://u@h/db"))
    positions = ["0000003D:00001A50:0003", "0000003D:000019B8:0004", "00000009:FFFFFFFF:0001"]
    assert sorted(positions, key=engine.position_key) == ["00000009:FFFFFFFF:0001", "0000003D:000019B8:0004",
                                                          "0000003D:00001A50:0003"]


# ---- capture instances and the change queries ----------------------------------------------------

ORDERS = SourceTable("dbo", "orders", (
    SourceColumn("id", "int", DmsType(T.INT4), nullable=False),
    SourceColumn("placed", "datetimeoffset(7)", DmsType(T.WSTRING, length=34)),
    SourceColumn("total", "money", DmsType(T.NUMERIC, precision=19, scale=4)),
    SourceColumn("with_tax", "decimal(19,4)", DmsType(T.NUMERIC, precision=19, scale=4), generated=True),
), primary_key=("id",))
ITEMS = SourceTable("sales", "items", (
    SourceColumn("order_id", "int", DmsType(T.INT4), nullable=False),
    SourceColumn("sku", "char(8)", DmsType(T.STRING, length=8), nullable=False),
    SourceColumn("qty", "smallint", DmsType(T.INT2)),
), unique_keys=(("order_id", "sku"),))
TABLES = {("dbo", "orders"): ORDERS, ("sales", "items"): ITEMS}


def _instance_rows(name, schema, table, min_lsn, columns, computed=()):
    # Shaped as sql/cdc_capture_instances.sql returns them: one row per captured column.
    return [{"capture_instance": name, "schema_name": schema, "table_name": table, "min_lsn": min_lsn,
             "create_date": datetime(2024, 5, 1, 9, 0), "supports_net_changes": schema == "dbo",
             "column_name": column, "column_ordinal": ordinal, "is_computed": column in computed}
            for ordinal, column in enumerate(columns, start=1)]


INSTANCE_ROWS = (_instance_rows("dbo_orders", "dbo", "orders", lsn("00000020:00000010:0001"),
                                ["id", "placed", "total", "with_tax"], computed=("with_tax",))
                 + _instance_rows("sales_items", "sales", "items", lsn("00000020:00000010:0001"),
                                  ["order_id", "sku", "qty"]))
INSTANCES = {i.name: i for i in build_instances(list(reversed(INSTANCE_ROWS)))}


def test_it_reads_capture_instances_from_cdc_change_tables():
    orders = INSTANCES["dbo_orders"]
    assert orders.columns == ("id", "placed", "total", "with_tax") and orders.computed == {"with_tax"}
    assert str(orders.min_lsn) == "00000020:00000010:0001" and orders.supports_net_changes
    assert sql("cdc_capture_instances").startswith("-- Every capture instance of the database")
    assert "sys.fn_cdc_get_min_lsn(ct.capture_instance) AS min_lsn" in sql("cdc_capture_instances")
    assert "JOIN cdc.captured_columns AS cc ON cc.object_id = ct.object_id" in sql("cdc_capture_instances")


def test_it_builds_the_change_query_of_a_two_table_capture():
    queries = change_queries(INSTANCES.values(), TABLES)
    assert queries == {
        "dbo_orders": (
            "SELECT [__$start_lsn], [__$seqval], [__$operation], [__$update_mask], [id], "
            "CONVERT(nvarchar(34), [placed], 121) AS [placed], [total], [with_tax]\n"
            "FROM [cdc].[fn_cdc_get_all_changes_dbo_orders](CAST(? AS binary(10)), CAST(? AS binary(10)), "
            "N'all update old')\n"
            "ORDER BY [__$start_lsn], [__$seqval], [__$operation];"),
        "sales_items": (
            "SELECT [__$start_lsn], [__$seqval], [__$operation], [__$update_mask], [order_id], "
            "RTRIM([sku]) AS [sku], [qty]\n"
            "FROM [cdc].[fn_cdc_get_all_changes_sales_items](CAST(? AS binary(10)), CAST(? AS binary(10)), "
            "N'all update old')\n"
            "ORDER BY [__$start_lsn], [__$seqval], [__$operation];"),
    }


def test_it_quotes_capture_instance_names_in_the_function_name():
    instance = build_instances(_instance_rows("odd]name", "dbo", "odd", None, ["id"]))[0]
    assert "FROM [cdc].[fn_cdc_get_all_changes_odd]]name](" in change_queries([instance], {})["odd]name"]


def test_it_asks_sql_server_for_the_lsn_bounds_and_commit_times():
    assert sql("cdc_max_lsn").endswith("SELECT sys.fn_cdc_get_max_lsn() AS max_lsn;")
    assert sql("cdc_lsn_to_time").endswith("SELECT sys.fn_cdc_map_lsn_to_time(CAST(? AS binary(10))) AS commit_time;")
    assert sql("cdc_time_to_lsn").endswith(
        "SELECT sys.fn_cdc_map_time_to_lsn(N'largest less than',\n"
        "    DATEADD(minute, DATEPART(TZOFFSET, SYSDATETIMEOFFSET()), CAST(? AS datetime2(3)))) AS lsn;")
    assert sql("cdc_poll").endswith("SELECT sys.fn_cdc_get_max_lsn() AS max_lsn, "
                                    "DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) AS utc_offset_minutes;")
    assert sql("cdc_commit_times").endswith(
        "SELECT m.start_lsn, m.tran_begin_time, m.tran_end_time, m.tran_id\n"
        "FROM cdc.lsn_time_mapping AS m\n"
        "WHERE m.start_lsn BETWEEN CAST(? AS binary(10)) AND CAST(? AS binary(10));")


# ---- enabling CDC --------------------------------------------------------------------------------

def test_it_prints_the_statements_that_enable_cdc():
    assert enable_table_statement(ORDERS) == (
        "EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'orders', @role_name = NULL, "
        "@supports_net_changes = 1;")
    assert enable_table_statement(ITEMS, capture_instance="sales_items_v2") == (
        "EXEC sys.sp_cdc_enable_table @source_schema = N'sales', @source_name = N'items', @role_name = NULL, "
        "@supports_net_changes = 0, @capture_instance = N'sales_items_v2';")
    odd = SourceTable("it's", "a]b", ())
    assert "@source_schema = N'it''s', @source_name = N'a]b'" in enable_table_statement(odd)


def test_it_refuses_cdc_when_the_database_and_a_table_are_not_enabled():
    with pytest.raises(EngineError) as caught:
        require_cdc("shop", False, [ORDERS, ITEMS], [INSTANCES["sales_items"]])
    error = caught.value
    assert error.kind is ErrorKind.CONFIGURATION
    assert "MS-CDC is not enabled for database 'shop' and 1 selected table." in error.message
    assert "\nEXEC sys.sp_cdc_enable_db;\nEXEC sys.sp_cdc_enable_table @source_schema = N'dbo', " \
           "@source_name = N'orders', @role_name = NULL, @supports_net_changes = 1;\n" in error.message
    assert "rds_cdc_enable_db N'shop'" in error.message and "setUpMsCdcForTables=Y" in error.message


def test_it_accepts_a_database_with_every_table_captured():
    require_cdc("shop", True, [ORDERS, ITEMS], INSTANCES.values())
    assert missing_statements(True, [ORDERS, ITEMS], INSTANCES.values()) == []
    assert missing_statements(True, [ORDERS], [INSTANCES["sales_items"]]) == [enable_table_statement(ORDERS)]


# ---- capture instance changes after ALTER TABLE ---------------------------------------------------

OLD = build_instances(_instance_rows("dbo_orders", "dbo", "orders", lsn("00000020:00000010:0001"),
                                     ["id", "placed", "total"]))[0]
NEW = build_instances(_instance_rows("dbo_orders_v2", "dbo", "orders", lsn("00000030:00000001:0001"),
                                     ["id", "placed", "total", "with_tax"]))[0]


def test_it_reports_a_column_added_after_the_capture_instance():
    notes = capture_changes(ORDERS, [OLD])
    assert notes == [
        "Column with_tax of table dbo.orders is not captured by capture instance dbo_orders (added after it was "
        "created): changes to them are not replicated. Create a new capture instance (the task switches to it by "
        "itself): EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'orders', @role_name = "
        "NULL, @supports_net_changes = 1, @capture_instance = N'dbo_orders_v2';"]


def test_it_reports_two_capture_instances_and_when_to_drop_the_old_one():
    grouped = by_table([NEW, OLD])[("dbo", "orders")]
    assert [i.name for i in grouped] == ["dbo_orders", "dbo_orders_v2"]
    notes = capture_changes(ORDERS, grouped)
    assert len(notes) == 1 and "until LSN 00000030:00000001:0001, then from dbo_orders_v2" in notes[0]
    assert "EXEC sys.sp_cdc_disable_table @source_schema = N'dbo', @source_name = N'orders', " \
           "@capture_instance = N'dbo_orders';" in notes[0]


def test_it_reports_captured_columns_the_table_dropped():
    narrow = SourceTable("dbo", "orders", ORDERS.columns[:2], primary_key=("id",))
    assert "total, with_tax captured by dbo_orders_v2 are no longer in table dbo.orders" in \
        capture_changes(narrow, [NEW])[0]


def test_it_reads_the_old_capture_instance_until_the_new_one_starts():
    start, end = Lsn.parse("00000025:00000000:0000"), Lsn.parse("00000040:00000000:0000")
    ranges = plan_reads([NEW, OLD], start, end)
    assert [(r.instance.name, str(r.start), str(r.end), r.late) for r in ranges] == [
        ("dbo_orders", "00000025:00000000:0000", "00000030:00000001:0000", False),
        ("dbo_orders_v2", "00000030:00000001:0001", "00000040:00000000:0000", False)]
    after = plan_reads([NEW, OLD], Lsn.parse("00000031:00000000:0000"), end)
    assert [r.instance.name for r in after] == ["dbo_orders_v2"]


def test_it_flags_a_position_older_than_the_capture_instance():
    ranges = plan_reads([OLD], Lsn.parse("00000010:00000000:0000"), Lsn.parse("00000040:00000000:0000"))
    assert ranges[0].late and str(ranges[0].start) == "00000020:00000010:0001"


# ---- change rows into transactions ---------------------------------------------------------------

L1, L2, L3 = lsn("00000021:00000100:0004"), lsn("00000021:00000180:0002"), lsn("00000021:00000200:0009")


def seq(n: int) -> bytes:
    return lsn(f"00000021:00000100:{n:04X}")


MASK_ALL_ORDERS, MASK_ALL_ITEMS = b"\x0f", b"\x07"

# Rows exactly as cdc.fn_cdc_get_all_changes_<instance>(@from, @to, N'all update old') returns them:
# __$start_lsn, __$seqval, __$operation, __$update_mask, then the captured columns; ordered per instance.
ORDER_ROWS = [
    (L1, seq(1), 2, MASK_ALL_ORDERS, 1, "2024-05-01 10:00:00.0000000 +02:00", Decimal("10.0000"), None),
    (L2, seq(5), 3, b"\x04", 1, "2024-05-01 10:00:00.0000000 +02:00", Decimal("10.0000"), None),
    (L2, seq(5), 4, b"\x04", 1, "2024-05-01 10:00:00.0000000 +02:00", Decimal("12.5000"), None),
]
ITEM_ROWS = [
    (L1, seq(2), 2, MASK_ALL_ITEMS, 1, "A-1", 3),
    (L2, seq(4), 1, MASK_ALL_ITEMS, 1, "A-1", 3),
    (L3, seq(9), 2, MASK_ALL_ITEMS, 2, "B-2", 1),
]
COMMITS = {
    L1: Commit(datetime(2024, 5, 1, 8, 0, 0, 100000), bytes.fromhex("0000000003E9")),
    L2: Commit(datetime(2024, 5, 1, 8, 0, 1), bytes.fromhex("0000000003EA")),
    L3: Commit(datetime(2024, 5, 1, 8, 0, 2), None),
}


def _transactions(**kwargs):
    merged = merge_rows({"dbo_orders": ORDER_ROWS, "sales_items": ITEM_ROWS})
    return list(transactions(merged, INSTANCES, TABLES, COMMITS, **kwargs))


def test_it_merges_capture_instances_in_commit_lsn_then_seqval_order():
    merged = list(merge_rows({"dbo_orders": ORDER_ROWS, "sales_items": ITEM_ROWS}))
    assert [(name, row[2]) for name, row in merged] == [
        ("dbo_orders", 2), ("sales_items", 2), ("sales_items", 1), ("dbo_orders", 3), ("dbo_orders", 4),
        ("sales_items", 2)]


def test_it_groups_a_multi_table_commit_into_one_transaction():
    first = _transactions()[0]
    assert (first.position, first.xid, first.commit_time) == (
        "00000021:00000100:0004", "0x0000000003E9", datetime(2024, 5, 1, 8, 0, 0, 100000))
    assert [(c.op, c.relation.table) for c in first.changes] == [(Op.INSERT, "orders"), (Op.INSERT, "items")]
    assert first.changes[0].after == (1, "2024-05-01 10:00:00.0000000 +02:00", Decimal("10.0000"), UNCHANGED)
    assert first.changes[1].after == (1, "A-1", 3) and first.changes[1].before is None
    assert first.complete


def test_it_pairs_update_before_and_after_rows_and_keeps_source_order():
    second = _transactions()[1]
    assert second.position == "00000021:00000180:0002"
    delete, update = second.changes
    assert (delete.op, delete.relation.schema, delete.before, delete.after) == (Op.DELETE, "sales", (1, "A-1", 3),
                                                                                 None)
    assert update.op is Op.UPDATE
    assert update.before == (1, "2024-05-01 10:00:00.0000000 +02:00", Decimal("10.0000"), UNCHANGED)
    assert update.after == (1, "2024-05-01 10:00:00.0000000 +02:00", Decimal("12.5000"), UNCHANGED)


def test_it_describes_each_relation_with_its_key_and_native_types():
    changes = _transactions()[0].changes
    assert changes[0].relation.columns == ("id", "placed", "total", "with_tax")
    assert changes[0].relation.key == ("id",)
    assert changes[0].relation.types == ("int", "datetimeoffset(7)", "money", "decimal(19,4)")
    assert changes[1].relation.key == ("order_id", "sku")


def test_it_uses_the_commit_lsn_as_xid_when_the_mapping_has_no_transaction_id():
    third = _transactions()[2]
    assert third.xid == third.position == "00000021:00000200:0009"
    assert [c.op for c in third.changes] == [Op.INSERT]


def test_it_makes_values_canonical_on_the_way():
    rows = [(L3, seq(9), 2, MASK_ALL_ORDERS, 7, None, 12.5, None)]
    change = list(transactions(merge_rows({"dbo_orders": rows}), INSTANCES, TABLES, COMMITS))[0].changes[0]
    assert change.after == (7, None, Decimal("12.5"), UNCHANGED)


def test_it_hands_a_large_transaction_over_in_pieces():
    rows = [(L1, seq(n), 2, MASK_ALL_ITEMS, n, "S", 1) for n in range(1, 6)]
    pieces = list(transactions(merge_rows({"sales_items": rows}), INSTANCES, TABLES, COMMITS, piece=2))
    assert [len(p.changes) for p in pieces] == [2, 2, 1]
    assert [p.complete for p in pieces] == [False, False, True]
    assert {p.xid for p in pieces} == {"0x0000000003E9"}


def test_it_keeps_an_update_whole_across_a_piece_boundary():
    rows = [(L2, seq(1), 2, MASK_ALL_ITEMS, 1, "S", 1), (L2, seq(2), 3, b"\x04", 1, "S", 1),
            (L2, seq(2), 4, b"\x04", 1, "S", 2)]
    pieces = list(transactions(merge_rows({"sales_items": rows}), INSTANCES, TABLES, COMMITS, piece=1))
    assert [[c.op for c in p.changes] for p in pieces] == [[Op.INSERT], [Op.UPDATE]]
    assert pieces[1].changes[0].before == (1, "S", 1) and pieces[1].changes[0].after == (1, "S", 2)


def test_it_refuses_an_unknown_operation():
    rows = [(L1, seq(1), 5, MASK_ALL_ITEMS, 1, "S", 1)]
    with pytest.raises(EngineError) as caught:
        list(transactions(merge_rows({"sales_items": rows}), INSTANCES, TABLES, COMMITS))
    assert "__$operation 5" in caught.value.message


def test_it_retries_when_a_commit_lsn_left_the_time_mapping():
    rows = [(lsn("00000099:00000001:0001"), seq(1), 2, MASK_ALL_ITEMS, 1, "S", 1)]
    with pytest.raises(EngineError) as caught:
        list(transactions(merge_rows({"sales_items": rows}), INSTANCES, TABLES, COMMITS))
    assert caught.value.permanent is False and "00000099:00000001:0001" in caught.value.message


def test_it_reads_commit_times_as_lsn_time_mapping_returns_them():
    rows = [{"start_lsn": L1, "tran_begin_time": datetime(2024, 5, 1, 7, 59), "tran_end_time": datetime(2024, 5, 1, 8),
             "tran_id": bytes.fromhex("0000000003E9")}]
    assert commits_from_rows(rows) == {L1: Commit(datetime(2024, 5, 1, 8), bytes.fromhex("0000000003E9"))}
