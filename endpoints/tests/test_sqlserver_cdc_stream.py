"""The MS-CDC capture loop without a server: polling and timeouts, pieces handed out in commit order,
multi-table commits, the idle position advance, paging, DDL from cdc.ddl_history, capture instances the
cleanup job overtook, and retries after a lost connection.

The fake cursor answers each statement with rows shaped exactly as SQL Server returns them
(fn_cdc_get_max_lsn, cdc.change_tables, fn_cdc_get_all_changes_<instance> with its LSN range and our
paging condition, lsn_time_mapping, fn_cdc_map_lsn_to_time, cdc.ddl_history): it tests our logic,
not the database."""

from __future__ import annotations

import re
from contextlib import nullcontext
from datetime import datetime, timedelta
from decimal import Decimal

import pyodbc
import pytest

from endpoints.engines.base import UNCHANGED, Op
from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.sqlserver import SqlServerEngine
from endpoints.engines.sqlserver import engine as engine_module
from endpoints.engines.sqlserver.cdc_changes import change_page_query
from endpoints.engines.sqlserver.cdc_setup import build_instances, require_captured_columns
from endpoints.engines.sqlserver.cdc_stream import MsCdcStream
from endpoints.engines.sqlserver.errors import translate
from endpoints.engines.sqlserver.lsn import Lsn
from endpoints.engines.sqlserver.sqlfiles import sql
from endpoints.engines.types import DmsType, T

INFO = ConnectionInfo.from_url("mssql://dms:pw@src.example:1433/shop")


def lsn(text: str) -> bytes:
    return Lsn.parse(text).to_bytes()


ORDERS = SourceTable("dbo", "orders", (
    SourceColumn("id", "int", DmsType(T.INT4), nullable=False),
    SourceColumn("total", "money", DmsType(T.NUMERIC, precision=19, scale=4)),
), primary_key=("id",))
ITEMS = SourceTable("sales", "items", (
    SourceColumn("order_id", "int", DmsType(T.INT4), nullable=False),
    SourceColumn("sku", "char(8)", DmsType(T.STRING, length=8), nullable=False),
    SourceColumn("qty", "smallint", DmsType(T.INT2)),
), unique_keys=(("order_id", "sku"),))

CREATED = datetime(2024, 5, 1, 9, 0)
MIN = lsn("00000020:00000010:0001")
L1, L2, L3 = lsn("00000021:00000100:0004"), lsn("00000021:00000180:0002"), lsn("00000021:00000200:0009")
IDLE = lsn("00000021:00000300:0001")  # a later max LSN: commits of other tables only
START = "00000021:00000001:0000"


def seq(n: int) -> bytes:
    return lsn(f"00000021:00000100:{n:04X}")


def instance_rows(name, schema, table, min_lsn, columns, created=CREATED):
    # As sql/cdc_capture_instances.sql returns them: one row per captured column.
    return [{"capture_instance": name, "schema_name": schema, "table_name": table, "min_lsn": min_lsn,
             "create_date": created, "supports_net_changes": True, "column_name": column,
             "column_ordinal": ordinal, "is_computed": False}
            for ordinal, column in enumerate(columns, start=1)]


# Rows as cdc.fn_cdc_get_all_changes_<instance>(@from, @to, N'all update old') returns them.
ORDER_ROWS = [
    (L1, seq(1), 2, b"\x03", 1, Decimal("10.0000")),
    (L2, seq(5), 3, b"\x02", 1, Decimal("10.0000")),
    (L2, seq(5), 4, b"\x02", 1, Decimal("12.5000")),
]
ITEM_ROWS = [
    (L1, seq(2), 2, b"\x07", 1, "A-1", 3),
    (L2, seq(4), 1, b"\x07", 1, "A-1", 3),
    (L3, seq(9), 2, b"\x07", 2, "B-2", 1),
]


def commit_row(start_lsn: bytes, local_end: datetime, tran_id: bytes | None):
    # cdc.lsn_time_mapping: tran_end_time is what sys.fn_cdc_map_lsn_to_time returns (server local time).
    return {"start_lsn": start_lsn, "tran_begin_time": local_end - timedelta(seconds=1), "tran_end_time": local_end,
            "tran_id": tran_id}


class FakeServer:
    """Answers the reader's statements from in-memory change tables, checking the LSN ranges the way
    fn_cdc_get_all_changes does (error 313 outside the capture instance's validity interval)."""

    def __init__(self, *, utc_offset: int = 120):
        self.max_lsns: list[bytes | None] = [L3]
        self.utc_offset = utc_offset
        self.instances = (instance_rows("dbo_orders", "dbo", "orders", MIN, ["id", "total"])
                          + instance_rows("sales_items", "sales", "items", MIN, ["order_id", "sku", "qty"]))
        self.changes = {"dbo_orders": list(ORDER_ROWS), "sales_items": list(ITEM_ROWS)}
        self.commits = [commit_row(L1, datetime(2024, 5, 1, 10, 0, 0, 100000), bytes.fromhex("0000000003E9")),
                        commit_row(L2, datetime(2024, 5, 1, 10, 0, 1), bytes.fromhex("0000000003EA")),
                        commit_row(L3, datetime(2024, 5, 1, 10, 0, 2), None)]
        self.ddl: list[dict] = []
        self.lsn_times: dict[bytes, datetime] = {}
        self.log: list[tuple[str, tuple]] = []
        self.fail: dict[str, Exception] = {}  # statement name -> raised once by its next execution
        self.connections = 0
        self.closed = 0

    def connect(self):
        self.connections += 1
        return FakeConnection(self)

    def statements(self, name: str) -> list[tuple]:
        return [params for statement, params in self.log if statement == name]


class FakeConnection:
    def __init__(self, server: FakeServer):
        self.server = server

    def cursor(self):
        return FakeCursor(self.server)

    def close(self):
        self.server.closed += 1


NAMES = ("cdc_poll", "cdc_capture_instances", "cdc_commit_page", "cdc_ddl_history", "cdc_lsn_to_time")


class FakeCursor:
    def __init__(self, server: FakeServer):
        self.server = server
        self.rows: list[tuple] = []
        self.description: list[tuple] = []

    def execute(self, statement, *params):
        if len(params) == 1 and isinstance(params[0], list | tuple):
            params = tuple(params[0])
        name = next((n for n in NAMES if statement == sql(n)), None)
        if name is None and statement.startswith("SELECT TOP (?) WITH TIES"):
            name = "changes:" + re.search(r"fn_cdc_get_all_changes_(.+?)\]\(", statement)[1]
        assert name is not None, statement
        self.server.log.append((name, params))
        if name in self.server.fail:
            raise self.server.fail.pop(name)
        getattr(self, "_" + name.split(":")[0])(params, name)
        return self

    def _result(self, columns, rows):
        self.description = [(c,) for c in columns]
        self.rows = [tuple(r[c] for c in columns) if isinstance(r, dict) else tuple(r) for r in rows]

    def _cdc_poll(self, params, name):
        queue = self.server.max_lsns
        value = queue.pop(0) if len(queue) > 1 else queue[0]
        self._result(["max_lsn", "utc_offset_minutes"], [(value, self.server.utc_offset)])

    def _cdc_capture_instances(self, params, name):
        self._result(list(self.server.instances[0]), self.server.instances)

    def _changes(self, params, name):
        instance = name.split(":", 1)[1]
        top, low, high, after_lsn, _, after_seq, _, after_op = params
        min_lsn = next(r["min_lsn"] for r in self.server.instances if r["capture_instance"] == instance)
        if low < min_lsn:
            raise pyodbc.ProgrammingError("42000", "[42000] [FreeTDS][SQL Server]An insufficient number of arguments "
                                                   "were supplied for the procedure or function "
                                                   "cdc.fn_cdc_get_all_changes_ ... . (313) (SQLExecDirectW)")
        found = sorted((r for r in self.server.changes[instance] if low <= r[0] <= high
                        and (r[0], r[1], r[2]) > (after_lsn, after_seq, after_op)), key=lambda r: r[:3])
        self.rows = found[:top]

    def _cdc_commit_page(self, params, name):
        top, low, high = params
        rows = sorted((r for r in self.server.commits if low <= r["start_lsn"] <= high), key=lambda r: r["start_lsn"])
        self._result(["start_lsn", "tran_begin_time", "tran_end_time", "tran_id"], rows[:top])

    def _cdc_ddl_history(self, params, name):
        low, high = params
        rows = [r for r in self.server.ddl if low <= r["ddl_lsn"] <= high]
        self._result(["schema_name", "table_name", "ddl_lsn", "ddl_time", "ddl_command"], rows)

    def _cdc_lsn_to_time(self, params, name):
        self.rows = [(self.server.lsn_times.get(params[0]),)]

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return list(self.rows)


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(round(seconds, 3))
        self.now += seconds
        return False


def open_stream(server: FakeServer, clock: Clock, start: str = START, *, interval: float = 5.0,
                tables=(ORDERS, ITEMS), **kwargs) -> MsCdcStream:
    return MsCdcStream(server.connect, list(tables), Lsn.parse(start), polling_interval=interval,
                       translate=lambda exc: translate(exc, INFO, "reading MS-CDC changes"), clock=clock,
                       wait=clock.wait, **kwargs)


def read_all(stream: MsCdcStream, timeout: float = 0.5) -> list:
    found = []
    while (piece := stream.read(timeout)) is not None:
        found.append(piece)
    return found


# ---- polling -------------------------------------------------------------------------------------

def test_it_polls_at_once_then_every_polling_interval_never_sleeping_past_the_timeout():
    server, clock = FakeServer(), Clock()
    server.max_lsns = [None]  # the capture job has not run yet
    stream = open_stream(server, clock, interval=5.0)
    assert stream.read(0.5) is None
    assert len(server.statements("cdc_poll")) == 1 and clock.waits == [0.5]
    for _ in range(8):
        assert stream.read(0.5) is None
    assert len(server.statements("cdc_poll")) == 1 and clock.now == 1004.5
    assert stream.read(2.0) is None  # polls at 1005, then waits out its timeout
    assert len(server.statements("cdc_poll")) == 2 and clock.waits[-2:] == [0.5, 1.5]
    assert stream.position == START


def test_it_waits_at_most_the_time_left_until_the_next_poll():
    server, clock = FakeServer(), Clock()
    server.max_lsns = [None]
    stream = open_stream(server, clock, interval=1.0)
    assert stream.read(10.0) is None
    assert clock.waits == [1.0] * 10 and len(server.statements("cdc_poll")) == 11


# ---- transactions --------------------------------------------------------------------------------

def test_it_hands_out_commits_in_order_grouping_a_multi_table_commit_into_one_transaction():
    server, clock = FakeServer(), Clock()
    stream = open_stream(server, clock)
    found = read_all(stream)
    assert [t.position for t in found] == ["00000021:00000100:0004", "00000021:00000180:0002",
                                           "00000021:00000200:0009"]
    first, second, third = found
    assert [(c.op, c.relation.schema, c.relation.table) for c in first.changes] == [
        (Op.INSERT, "dbo", "orders"), (Op.INSERT, "sales", "items")]
    assert first.changes[0].after == (1, Decimal("10.0000")) and first.changes[1].after == (1, "A-1", 3)
    assert first.xid == "0x0000000003E9" and first.complete
    assert [(c.op, c.relation.table) for c in second.changes] == [(Op.DELETE, "items"), (Op.UPDATE, "orders")]
    assert second.changes[1].before == (1, Decimal("10.0000")) and second.changes[1].after == (1, Decimal("12.5000"))
    assert third.xid == "00000021:00000200:0009"
    assert stream.read_changes == 5 and stream.read_bytes == 3 * 2 * 8 + 3 * (8 + 3 + 8)


def test_it_gives_commit_times_in_utc_from_the_servers_local_time():
    server, clock = FakeServer(utc_offset=120), Clock()
    found = read_all(open_stream(server, clock))
    assert [t.commit_time for t in found] == [datetime(2024, 5, 1, 8, 0, 0, 100000), datetime(2024, 5, 1, 8, 0, 1),
                                              datetime(2024, 5, 1, 8, 0, 2)]
    west = FakeServer(utc_offset=-300)
    assert read_all(open_stream(west, Clock()))[0].commit_time == datetime(2024, 5, 1, 15, 0, 0, 100000)


def test_it_reads_only_commits_after_the_start_position():
    server, clock = FakeServer(), Clock()
    found = read_all(open_stream(server, clock, start="00000021:00000100:0004"))
    assert [t.position for t in found] == ["00000021:00000180:0002", "00000021:00000200:0009"]
    pages = server.statements("changes:dbo_orders")
    assert pages[0] == (2000, lsn("00000021:00000100:0005"), L3, lsn("00000021:00000100:0005"),
                        lsn("00000021:00000100:0005"), bytes(10), bytes(10), 0)


def test_it_moves_the_position_to_the_max_lsn_once_a_poll_is_handed_out_and_on_idle_polls():
    server, clock = FakeServer(), Clock()
    server.max_lsns = [L3, IDLE]
    stream = open_stream(server, clock)
    stream.read(0.5)
    assert stream.position == "00000021:00000100:0004"
    read_all(stream)
    assert stream.position == "00000021:00000200:0009"
    clock.now += 5
    assert stream.read(0.5) is None
    assert stream.position == "00000021:00000300:0001"
    assert server.statements("changes:dbo_orders")[-1][1] == lsn("00000021:00000200:000A")


def test_it_keeps_its_position_when_the_max_lsn_has_not_moved():
    server, clock = FakeServer(), Clock()
    stream = open_stream(server, clock)
    read_all(stream)
    pages = len(server.statements("changes:dbo_orders"))
    clock.now += 5
    assert stream.read(0.5) is None and stream.position == "00000021:00000200:0009"
    assert len(server.statements("changes:dbo_orders")) == pages  # nothing new: no change query at all


def test_it_hands_a_large_transaction_out_in_pieces_and_pages_each_capture_instance():
    server, clock = FakeServer(), Clock()
    server.changes = {"dbo_orders": [(L1, lsn(f"00000021:{n // 0x10000:08X}:{n % 0x10000:04X}"), 2, b"\x03", n,
                                      Decimal(1)) for n in range(1, 5004)],
                      "sales_items": [(L1, lsn("00000022:00000000:0001"), 2, b"\x07", 1, "S", 1)]}
    server.commits = server.commits[:1]
    server.max_lsns = [L1]
    stream = open_stream(server, clock, page_rows=1000)
    pieces = read_all(stream)
    assert [(len(p.changes), p.complete) for p in pieces] == [(5000, False), (4, True)]
    assert {p.position for p in pieces} == {"00000021:00000100:0004"} and {p.xid for p in pieces} == {"0x0000000003E9"}
    assert [c.after[0] for p in pieces for c in p.changes if c.relation.table == "orders"] == list(range(1, 5004))
    assert pieces[1].changes[-1].relation.table == "items"
    pages = server.statements("changes:dbo_orders")
    assert len(pages) == 6 and pages[1][1] == L1 and pages[1][5] == lsn("00000021:00000000:03E8")


def test_it_reads_the_old_capture_instance_until_the_new_one_starts():
    server, clock = FakeServer(), Clock()
    new = lsn("00000021:00000180:0000")
    server.instances += instance_rows("dbo_orders_v2", "dbo", "orders", new, ["id", "total", "note"])
    server.changes["dbo_orders"] = [r for r in ORDER_ROWS if r[0] < new]
    server.changes["dbo_orders_v2"] = [r + ("hi",) for r in ORDER_ROWS if r[0] >= new]
    wide = SourceTable("dbo", "orders", (*ORDERS.columns, SourceColumn("note", "nvarchar(10)", DmsType(T.WSTRING, 10))),
                       primary_key=("id",))
    found = read_all(open_stream(server, clock, tables=(wide, ITEMS)))
    first, second = found[0].changes[0], found[1].changes[1]
    assert first.relation.columns == ("id", "total", "note") and first.after == (1, Decimal("10.0000"), UNCHANGED)
    assert second.relation.columns == ("id", "total", "note") and second.after == (1, Decimal("12.5000"), "hi")
    assert server.statements("changes:dbo_orders")[0][2] == lsn("00000021:0000017F:FFFF")
    assert server.statements("changes:dbo_orders_v2")[0][1] == new


# ---- DDL -----------------------------------------------------------------------------------------

def test_it_hands_out_an_alter_table_before_the_rows_of_its_commit():
    server, clock = FakeServer(), Clock()
    statement = "ALTER TABLE dbo.orders ADD note nvarchar(10) NULL"
    for _ in range(2):  # ddl_history has a row per capture instance of the table
        server.ddl.append({"schema_name": "dbo", "table_name": "orders", "ddl_lsn": L2,
                           "ddl_time": datetime(2024, 5, 1, 10, 0, 1), "ddl_command": statement})
    server.ddl.append({"schema_name": "dbo", "table_name": "other", "ddl_lsn": L2,
                       "ddl_time": datetime(2024, 5, 1, 10, 0, 1), "ddl_command": "ALTER TABLE dbo.other ..."})
    second = read_all(open_stream(server, clock))[1]
    assert [c.op for c in second.changes] == [Op.DDL, Op.DELETE, Op.UPDATE]
    assert second.changes[0].ddl == statement and second.changes[0].relation.columns == ("id", "total")


def test_it_times_a_commit_holding_only_ddl_from_ddl_history():
    server, clock = FakeServer(), Clock()
    ddl_lsn = lsn("00000021:00000250:0001")
    server.max_lsns = [IDLE]
    server.ddl.append({"schema_name": "sales", "table_name": "items", "ddl_lsn": ddl_lsn,
                       "ddl_time": datetime(2024, 5, 1, 10, 5), "ddl_command": "ALTER TABLE sales.items DROP COLUMN x"})
    last = read_all(open_stream(server, clock))[-1]
    assert (last.position, last.commit_time) == ("00000021:00000250:0001", datetime(2024, 5, 1, 8, 5))
    assert last.changes[0].relation.columns == ("order_id", "sku", "qty")


# ---- capture instances and the cleanup job -------------------------------------------------------

def test_it_refuses_to_go_on_when_the_cleanup_job_removed_changes_the_task_needs():
    server, clock = FakeServer(), Clock()
    for row in server.instances:
        row["min_lsn"] = lsn("00000021:00000150:0000")
    server.lsn_times[Lsn.parse(START).to_bytes()] = datetime(2024, 5, 1, 9, 30)  # after the instances' creation
    with pytest.raises(EngineError) as caught:
        open_stream(server, clock).read(0.5)
    error = caught.value
    assert error.kind is ErrorKind.CONFIGURATION and error.permanent
    assert error.message.startswith("Changes to table dbo.orders from LSN 00000021:00000001:0001 on are no longer "
                                    "all in capture instance dbo_orders: it holds changes from LSN "
                                    "00000021:00000150:0000 on.")
    assert "@retention = <minutes>" in error.message
    assert not server.statements("changes:dbo_orders")


def test_it_accepts_a_capture_instance_created_after_the_start_position():
    server, clock = FakeServer(), Clock()
    for row in server.instances:
        row["min_lsn"] = L1
    server.lsn_times[Lsn.parse(START).to_bytes()] = datetime(2024, 5, 1, 8, 0)  # before the creation (9:00)
    stream = open_stream(server, clock)
    assert len(read_all(stream)) == 3
    assert server.statements("cdc_lsn_to_time") == [(Lsn.parse(START).to_bytes(),)]
    assert server.statements("changes:dbo_orders")[0][1] == L1


def test_it_says_when_cdc_was_disabled_on_a_table_while_the_task_ran():
    server, clock = FakeServer(), Clock()
    server.instances = [r for r in server.instances if r["capture_instance"] != "sales_items"]
    with pytest.raises(EngineError) as caught:
        open_stream(server, clock).read(0.5)
    assert "Table sales.items has no MS-CDC capture instance any more" in caught.value.message
    assert "EXEC sys.sp_cdc_enable_table @source_schema = N'sales', @source_name = N'items'" in caught.value.message


def test_it_refuses_a_table_with_columns_its_capture_instance_does_not_capture():
    wide = SourceTable("dbo", "orders", (*ORDERS.columns, SourceColumn("note", "nvarchar(10)", DmsType(T.WSTRING, 10))),
                       primary_key=("id",))
    instances = build_instances(instance_rows("dbo_orders", "dbo", "orders", MIN, ["id", "total"]))
    with pytest.raises(EngineError) as caught:
        require_captured_columns([wide, ITEMS], {("dbo", "orders"): instances})
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert caught.value.message.startswith("Column note of table dbo.orders is not captured by capture instance "
                                           "dbo_orders")
    require_captured_columns([ORDERS], {("dbo", "orders"): instances})


# ---- errors and retries --------------------------------------------------------------------------

LOST = pyodbc.OperationalError("08S01", "[08S01] [FreeTDS][SQL Server]Write to the server failed (20006) "
                                        "(SQLExecDirectW)")


def test_it_retries_a_lost_connection_between_transactions_on_a_new_connection():
    server, clock = FakeServer(), Clock()
    server.fail["cdc_commit_page"] = LOST
    stream = open_stream(server, clock)
    assert stream.read(0.5) is None and server.closed == 1
    clock.now += 5
    found = read_all(stream)
    assert len(found) == 3 and server.connections == 2
    assert found[0].position == "00000021:00000100:0004"


def test_it_raises_a_lost_connection_in_the_middle_of_a_transaction():
    server, clock = FakeServer(), Clock()
    server.changes["dbo_orders"] = [(L1, lsn(f"00000021:00000001:{n:04X}"), 2, b"\x03", n, None) for n in range(5002)]
    server.commits = server.commits[:1]
    server.max_lsns = [L1]
    stream = open_stream(server, clock, page_rows=5001)
    assert stream.read(0.5).complete is False
    server.fail["changes:dbo_orders"] = LOST
    with pytest.raises(EngineError) as caught:
        stream.read(0.5)
    assert caught.value.kind is ErrorKind.CONNECTION_LOST and not caught.value.permanent


def test_it_gives_up_after_a_few_failures_in_a_row():
    server, clock = FakeServer(), Clock()
    stream = open_stream(server, clock, interval=1.0)
    for _ in range(3):
        server.fail["cdc_poll"] = LOST
        assert stream.read(0) is None
        clock.now += 1
    server.fail["cdc_poll"] = LOST
    with pytest.raises(EngineError) as caught:
        stream.read(0)
    assert caught.value.kind is ErrorKind.CONNECTION_LOST and "reading MS-CDC changes" in caught.value.message


def test_it_raises_a_cleanup_error_from_the_change_query_at_once():
    server, clock = FakeServer(), Clock()
    server.fail["changes:dbo_orders"] = pyodbc.ProgrammingError(
        "42000", "[42000] [FreeTDS][SQL Server]An insufficient number of arguments were supplied for the procedure "
                 "or function cdc.fn_cdc_get_all_changes_ ... . (313) (SQLExecDirectW)")
    with pytest.raises(EngineError) as caught:
        open_stream(server, clock).read(0.5)
    assert caught.value.kind is ErrorKind.CONFIGURATION and server.connections == 1


def test_it_only_records_acknowledgements():
    server, clock = FakeServer(), Clock()
    stream = open_stream(server, clock)
    stream.acknowledge("00000021:00000100:0004")
    assert stream.acknowledged == "00000021:00000100:0004" and server.log == []
    stream.close()
    assert stream.read(0.5) is None and server.log == []


# ---- the change page query -----------------------------------------------------------------------

def test_it_pages_the_change_query_after_the_last_row_read():
    instance = build_instances(instance_rows("sales_items", "sales", "items", MIN, ["order_id", "sku", "qty"]))[0]
    assert change_page_query(instance, ITEMS) == (
        "SELECT TOP (?) WITH TIES [__$start_lsn], [__$seqval], [__$operation], [__$update_mask], [order_id], "
        "RTRIM([sku]) AS [sku], [qty]\n"
        "FROM [cdc].[fn_cdc_get_all_changes_sales_items](CAST(? AS binary(10)), CAST(? AS binary(10)), "
        "N'all update old')\n"
        "WHERE [__$start_lsn] > CAST(? AS binary(10)) OR ([__$start_lsn] = CAST(? AS binary(10)) AND "
        "([__$seqval] > CAST(? AS binary(10)) OR ([__$seqval] = CAST(? AS binary(10)) AND [__$operation] > ?)))\n"
        "ORDER BY [__$start_lsn], [__$seqval], [__$operation];")


# ---- the engine: begin_capture, open_stream, position_at -----------------------------------------

class Recorder:
    """A session() stand-in answering the engine's CDC set-up statements."""

    def __init__(self, *, enabled: bool, instances: list[dict], max_lsn: bytes | None = L3):
        self.enabled, self.instances, self.max_lsn = enabled, instances, max_lsn
        self.executed: list[tuple[str, tuple]] = []

    def __call__(self, conn, doing, **kwargs):
        return nullcontext(self)

    def cursor(self):
        return self

    def execute(self, statement, *params):
        self.executed.append((statement, params))
        if statement.startswith("EXEC sys.sp_cdc_enable_db"):
            self.enabled = True
        elif statement.startswith("EXEC sys.sp_cdc_enable_table"):
            schema, table = re.search(r"@source_schema = N'(.*?)', @source_name = N'(.*?)'", statement).groups()
            columns = [c.name for t in (ORDERS, ITEMS) if (t.schema, t.name) == (schema, table) for c in t.columns]
            self.instances += instance_rows(f"{schema}_{table}", schema, table, L3, columns)
        rows = {sql("cdc_database"): [{"database_name": "shop", "is_cdc_enabled": self.enabled,
                                       "recovery_model_desc": "FULL"}],
                sql("cdc_capture_instances"): self.instances,
                sql("cdc_max_lsn"): [{"max_lsn": self.max_lsn}],
                sql("cdc_time_to_lsn"): [{"lsn": L2}]}.get(statement, [{"none": None}])
        self.description = [(c,) for c in rows[0]] if rows else []
        self.rows = [tuple(r.values()) for r in rows]
        return self

    def fetchone(self):
        return self.rows[0]

    def fetchall(self):
        return self.rows


def test_it_prints_the_statements_enabling_cdc_when_it_may_not_run_them(monkeypatch):
    monkeypatch.setattr(engine_module, "session", Recorder(enabled=False, instances=[]))
    with pytest.raises(EngineError) as caught, SqlServerEngine(INFO).begin_capture("t1", [ORDERS]):
        pass
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "\nEXEC sys.sp_cdc_enable_db;\nEXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = " \
           "N'orders', @role_name = NULL, @supports_net_changes = 1;\n" in caught.value.message


def test_it_enables_cdc_with_set_up_ms_cdc_for_tables_and_starts_from_the_max_lsn(monkeypatch):
    recorder = Recorder(enabled=False, instances=[])
    monkeypatch.setattr(engine_module, "session", recorder)
    info = ConnectionInfo.from_url("mssql://dms:pw@src.example:1433/shop?setUpMsCdcForTables=Y")
    with SqlServerEngine(info).begin_capture("t1", [ORDERS, ITEMS], with_snapshot=True) as start:
        assert (start.position, start.snapshot, start.snapshot_position, start.created) == (
            "00000021:00000200:0009", None, None, True)
    executed = [s for s, _ in recorder.executed]
    assert executed[1:4] == ["EXEC sys.sp_cdc_enable_db;",
                             "EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'orders', "
                             "@role_name = NULL, @supports_net_changes = 1;",
                             "EXEC sys.sp_cdc_enable_table @source_schema = N'sales', @source_name = N'items', "
                             "@role_name = NULL, @supports_net_changes = 0;"]
    SqlServerEngine(info).end_capture("t1")  # leaves CDC enabled: nothing is executed
    assert len(recorder.executed) == len(executed)


def test_it_starts_from_a_given_lsn_or_from_lsn_zero_before_the_capture_jobs_first_run(monkeypatch):
    instances = (instance_rows("dbo_orders", "dbo", "orders", MIN, ["id", "total"]))
    monkeypatch.setattr(engine_module, "session", Recorder(enabled=True, instances=instances, max_lsn=None))
    engine = SqlServerEngine(INFO)
    with engine.begin_capture("t1", [ORDERS], start="0x00000021000001800002") as start:
        assert start.position == "00000021:00000180:0002" and not start.created
    with engine.begin_capture("t1", [ORDERS]) as start:
        assert start.position == "00000000:00000000:0000"


def test_it_maps_a_utc_time_to_an_lsn_through_the_servers_offset(monkeypatch):
    recorder = Recorder(enabled=True, instances=[])
    monkeypatch.setattr(engine_module, "session", recorder)
    assert SqlServerEngine(INFO).position_at(datetime(2024, 5, 1, 8, 0)) == "00000021:00000180:0002"
    assert recorder.executed == [(sql("cdc_time_to_lsn"), (datetime(2024, 5, 1, 8, 0),))]


def test_it_opens_a_stream_polling_at_the_endpoints_interval():
    info = ConnectionInfo.from_url("mssql://dms:pw@src.example:1433/shop?pollingInterval=2")
    stream = SqlServerEngine(info).open_stream("t1", [ORDERS], "00000021:00000100:0004")
    assert stream.polling_interval == 2.0 and stream.position == "00000021:00000100:0004"
    assert SqlServerEngine(info).open_stream("t1", [ORDERS], START, {"polling_interval": 0.5}).polling_interval == 0.5
