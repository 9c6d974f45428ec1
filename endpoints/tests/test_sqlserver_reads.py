"""Full-load reads from SQL Server: golden SELECT text (expressions, DMS filters, key-range segments)
and the batch stream over a cursor."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from endpoints.engines.base import RowFormat
from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.plan import (
    ColumnFilter,
    FilterCondition,
    FilterOp,
    LobMode,
    LobSettings,
    Segment,
    identity_plan,
)
from endpoints.engines.sqlserver import SqlServerEngine
from endpoints.engines.sqlserver.reads import SNAPSHOT_ISOLATION, segment_sql, select_statement, stream
from endpoints.engines.sqlserver.split import bounds_query, segments
from endpoints.engines.types import DmsType, T

TARGET = SqlServerEngine(ConnectionInfo.from_url("mssql://dms@target.example/shop"))

ORDERS = SourceTable("dbo", "order]s", (
    SourceColumn("id", "int", DmsType(T.INT4), nullable=False),
    SourceColumn("line", "smallint", DmsType(T.INT2), nullable=False),
    SourceColumn("code", "nchar(10)", DmsType(T.WSTRING, length=10)),
    SourceColumn("placed", "datetimeoffset(7)", DmsType(T.WSTRING, length=34)),
    SourceColumn("uid", "uniqueidentifier", DmsType(T.STRING, length=36)),
    SourceColumn("node", "hierarchyid", DmsType(T.WSTRING, length=250)),
    SourceColumn("area", "geography", DmsType(T.CLOB)),
    SourceColumn("doc", "xml", DmsType(T.NCLOB)),
    SourceColumn("total", "money", DmsType(T.NUMERIC, precision=19, scale=4)),
), primary_key=("id", "line"))

PLAN = identity_plan(ORDERS, TARGET, source_engine="sqlserver")

EXPRESSIONS = ("[id], [line], RTRIM([code]) AS [code], CONVERT(nvarchar(34), [placed], 121) AS [placed], "
               "CONVERT(char(36), [uid]) AS [uid], [node].ToString() AS [node], [area].ToString() AS [area], "
               "CONVERT(nvarchar(max), [doc]) AS [doc], [total]")


def test_it_selects_every_column_through_its_read_expression():
    statement, params = select_statement(PLAN)
    assert statement == f"SELECT {EXPRESSIONS} FROM [dbo].[order]]s]"
    assert params == []


def test_it_keeps_char_padding_when_trim_space_in_char_is_off():
    statement, _ = select_statement(PLAN, trim_char=False)
    assert ", [code], " in statement and "RTRIM" not in statement


def test_it_applies_dms_filters_as_parameters():
    filters = (
        ColumnFilter("line", (FilterCondition(FilterOp.EQ, value="1"),
                              FilterCondition(FilterOp.BETWEEN, start="5", end="9"))),
        ColumnFilter("code", (FilterCondition(FilterOp.NOTEQ, value="X'; DROP TABLE t; --"),)),
        ColumnFilter("total", (FilterCondition(FilterOp.STE, value="100"), FilterCondition(FilterOp.NULL))),
        ColumnFilter("uid", (FilterCondition(FilterOp.NOTNULL),)),
        ColumnFilter("id", (FilterCondition(FilterOp.GTE, value="10"),
                            FilterCondition(FilterOp.NOTBETWEEN, start="20", end="30"))),
    )
    statement, params = select_statement(replace(PLAN, filters=filters))
    assert statement == (f"SELECT {EXPRESSIONS} FROM [dbo].[order]]s] WHERE ([line] = ? OR [line] BETWEEN ? AND ?) "
                         "AND ([code] <> ?) AND ([total] <= ? OR [total] IS NULL) AND ([uid] IS NOT NULL) "
                         "AND ([id] >= ? OR [id] NOT BETWEEN ? AND ?)")
    assert params == ["1", "5", "9", "X'; DROP TABLE t; --", "100", "10", "20", "30"]


def test_it_expands_a_key_range_segment_to_plain_comparisons():
    segment = Segment(1, ("id", "line"), lower=(10, 2), upper=(20, 5))
    assert segment_sql(segment) == (
        "(([id] > ?) OR ([id] = ? AND [line] > ?)) AND (([id] < ?) OR ([id] = ? AND [line] <= ?))",
        [10, 10, 2, 20, 20, 5])


def test_it_bounds_the_first_and_last_segments_on_one_side_and_keeps_null_keys_in_the_last():
    first = Segment(0, ("id",), upper=(100,))
    assert segment_sql(first) == ("(([id] <= ?))", [100])
    last = Segment(2, ("id", "line"), lower=(100, 3), include_nulls=True)
    assert segment_sql(last) == ("((([id] > ?) OR ([id] = ? AND [line] > ?))) OR [id] IS NULL OR [line] IS NULL",
                                 [100, 100, 3])


def test_it_combines_filters_and_a_segment():
    plan = replace(PLAN, filters=(ColumnFilter("code", (FilterCondition(FilterOp.EQ, value="A"),)),))
    statement, params = select_statement(plan, Segment(1, ("id",), lower=(1,), upper=(9,)))
    assert statement.endswith(" WHERE ([code] = ?) AND ((([id] > ?)) AND (([id] <= ?)))")
    assert params == ["A", 1, 9]


def test_it_reads_snapshot_isolation_with_its_own_statement():
    assert SNAPSHOT_ISOLATION == "SET TRANSACTION ISOLATION LEVEL SNAPSHOT;"


class FakeCursor:
    def __init__(self, rows):
        self.rows = list(rows)
        self.executed = []

    def execute(self, statement, *params):
        self.executed.append((statement, params))
        return self

    def fetchmany(self, size):
        batch, self.rows = self.rows[:size], self.rows[size:]
        return batch


def test_it_streams_canonical_rows_in_batches():
    table = SourceTable("dbo", "t", (SourceColumn("id", "int", DmsType(T.INT4)),
                                     SourceColumn("price", "smallmoney", DmsType(T.NUMERIC, precision=10, scale=4)),
                                     SourceColumn("at", "datetime2(7)", DmsType(T.DATETIME, scale=7))))
    plan = identity_plan(table, TARGET, source_engine="sqlserver")
    cursor = FakeCursor([(1, 1.5, "2024-05-01 10:00:00.1234567"), (2, Decimal("2.2500"), None), (3, None, None)])
    batches = list(stream(cursor, "SELECT ...", [7], plan, batch_rows=2))
    assert [b.rows for b in batches] == [2, 1]
    assert all(b.format is RowFormat.PYTHON for b in batches)
    assert batches[0].data == [(1, Decimal("1.5"), datetime(2024, 5, 1, 10, 0, 0, 123456)),
                               (2, Decimal("2.2500"), None)]
    assert cursor.executed == [("SELECT ...", ([7],))]


def test_it_cuts_lob_values_in_limited_lob_mode_and_counts_them():
    table = SourceTable("dbo", "t", (SourceColumn("id", "int", DmsType(T.INT4)),
                                     SourceColumn("body", "nvarchar(max)", DmsType(T.NCLOB))))
    plan = identity_plan(table, TARGET, lob=LobSettings(LobMode.LIMITED, max_bytes=4))
    batches = list(stream(FakeCursor([(1, "abcdef"), (2, "ab")]), "SELECT ...", [], plan, batch_rows=10))
    assert batches[0].data == [(1, "abcd"), (2, "ab")]
    assert batches[0].notes == {"lob_truncated": 1}
    full = identity_plan(table, TARGET, lob=LobSettings(LobMode.FULL))
    assert list(stream(FakeCursor([(1, "abcdef")]), "SELECT ...", [], full, batch_rows=10))[0].data == [(1, "abcdef")]


def test_it_splits_a_table_at_the_highest_key_of_each_tile():
    assert bounds_query(PLAN) == (
        "WITH [tiles] AS (SELECT [id], [line], NTILE(?) OVER (ORDER BY [id], [line]) AS [__tile] "
        "FROM [dbo].[order]]s] WHERE [id] IS NOT NULL AND [line] IS NOT NULL),\n"
        "[tops] AS (SELECT [id], [line], [__tile], ROW_NUMBER() OVER (PARTITION BY [__tile] ORDER BY [id] DESC, "
        "[line] DESC) AS [__rank] FROM [tiles])\n"
        "SELECT [id], [line] FROM [tops] WHERE [__rank] = 1 ORDER BY [__tile];")


def test_it_turns_tile_tops_into_segments_covering_every_key_once():
    assert segments(("id",), [(10,), (20,), (30,)]) == (
        Segment(0, ("id",), upper=(10,)),
        Segment(1, ("id",), lower=(10,), upper=(20,)),
        Segment(2, ("id",), lower=(20,), include_nulls=True))
    assert segments(("id",), [(10,)]) == ()
    assert segments(("id",), []) == ()
