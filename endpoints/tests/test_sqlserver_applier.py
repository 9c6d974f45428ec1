"""The SQL Server applier against a recording fake pyodbc connection: the exact statements and parameters
of every primitive (golden SQL), the call sequence of transactions and savepoints, row counts, IDENTITY_INSERT,
the control tables, and errors translated from real driver texts (DUPLICATE, DATA, CONNECTION_LOST)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pyodbc
import pytest

from endpoints.engines.base import UNCHANGED, Op, TableSyncState, TargetChange
from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.plan import identity_plan
from endpoints.engines.sqlserver import SqlServerEngine
from endpoints.engines.sqlserver import engine as engine_module
from endpoints.engines.sqlserver.applier import SqlServerApplier
from endpoints.engines.sqlserver.ddl import control_table_statements
from endpoints.engines.sqlserver.sqlfiles import sql
from endpoints.engines.types import DmsType, T
from tasks.engine.apply_writer import ErrorPolicies, GroupWriter, Item
from tasks.engine.reporting import NullReporter
from tasks.engine.routing import Route, RouteStatus

INFO = ConnectionInfo.from_url("mssql://dms:pw@tgt.example:1433/shop")
TARGET = SqlServerEngine(INFO)
SOURCE = SourceTable("public", "orders", (
    SourceColumn("id", "bigint", DmsType(T.INT8), nullable=False),
    SourceColumn("name", "character varying(20)", DmsType(T.WSTRING, length=20)),
    SourceColumn("paid", "boolean", DmsType(T.BOOLEAN)),
), primary_key=("id",))
PLAN = identity_plan(SOURCE, TARGET, source_engine="postgres", target_schema="sales")
KEYLESS = replace(PLAN, key=())

UPDATE = "UPDATE [sales].[orders] SET [name] = CAST(? AS nvarchar(20)), [paid] = CAST(? AS tinyint) " \
         "WHERE [id] = CAST(? AS bigint);"
DELETE = "DELETE FROM [sales].[orders] WHERE [id] = CAST(? AS bigint);"
MERGE = ("MERGE INTO [sales].[orders] WITH (HOLDLOCK) AS t\n"
         "USING (SELECT CAST(? AS bigint) AS [id], CAST(? AS nvarchar(20)) AS [name], "
         "CAST(? AS tinyint) AS [paid]) AS s\n"
         "ON t.[id] = s.[id]\n"
         "WHEN MATCHED THEN UPDATE SET [name] = s.[name], [paid] = s.[paid]\n"
         "WHEN NOT MATCHED THEN INSERT ([id], [name], [paid]) VALUES (s.[id], s.[name], s.[paid]);")


def counted(*statements: str) -> str:
    return "\n".join(["SET NOCOUNT ON;", "DECLARE @dms_rows int = 0;",
                      *[line for s in statements for line in (s, "SET @dms_rows += @@ROWCOUNT;")],
                      "SELECT @dms_rows AS [rows];"])


class FakeConnection:
    """Records what pyodbc is asked to do. `counts` answers counted batches in turn; `fail` maps a
    statement prefix (or a prefix and its parameters) to the error its next execution raises."""

    def __init__(self, *, identity=(), counts=(), rows=None):
        self.log: list[tuple] = []
        self.identity = tuple(identity)
        self.counts = list(counts)
        self.rows = rows or {}
        self.fail: dict[str | tuple[str, tuple], Exception] = {}
        self.closed = False

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True

    def raise_for(self, statement: str, params: tuple = ()) -> None:
        for rule in list(self.fail):
            prefix, wanted = rule if isinstance(rule, tuple) else (rule, None)
            if statement.startswith(prefix) and wanted in (None, params):
                raise self.fail.pop(rule)


class FakeCursor:
    def __init__(self, connection: FakeConnection):
        self.connection = connection
        self.fast_executemany = False
        self.result: list[tuple] = []

    def execute(self, statement, *params):
        if len(params) == 1 and isinstance(params[0], list):
            params = tuple(params[0])
        self.connection.log.append(("execute", statement, params))
        self.connection.raise_for(statement, params)
        if statement == sql("target_identity_columns"):
            self.result = [(name,) for name in self.connection.identity]
        elif statement.endswith("SELECT @dms_rows AS [rows];"):
            self.result = [(self.connection.counts.pop(0),)]
        else:
            self.result = self.connection.rows.get(statement, [])
        return self

    def executemany(self, statement, rows):
        self.connection.log.append(("executemany", statement, self.fast_executemany, [tuple(r) for r in rows]))
        self.connection.raise_for(statement)

    def setinputsizes(self, sizes):
        self.connection.log.append(("setinputsizes", sizes))

    def fetchone(self):
        return self.result[0] if self.result else None

    def fetchall(self):
        return list(self.result)

    def nextset(self):
        return False

    def close(self):
        pass


def applier(connection: FakeConnection, *, parameter_arrays: bool = False, schema: str = "dbo") -> SqlServerApplier:
    made = SqlServerApplier(connection, INFO, schema, parameter_arrays=parameter_arrays)
    connection.log.clear()  # set-up statements are checked in their own test
    return made


def calls(connection: FakeConnection) -> list[tuple]:
    """What the applier asked of pyodbc, without the (cached) identity-column lookups."""
    return [entry for entry in connection.log if entry[0] != "execute" or entry[1] != sql("target_identity_columns")]


def executed(connection: FakeConnection) -> list[str]:
    return [entry[1] for entry in calls(connection) if entry[0] == "execute"]


# ---- set-up and transactions ---------------------------------------------------------------------

def test_it_sets_up_the_session_and_creates_the_control_tables_in_the_control_schema():
    connection = FakeConnection()
    SqlServerApplier(connection, INFO, "dmsctl", parameter_arrays=False)
    assert executed(connection) == ["SET XACT_ABORT OFF;", *control_table_statements("dmsctl")]
    assert "CREATE TABLE [dmsctl].[awsdms_table_state]" in executed(connection)[-1]


def test_it_puts_the_control_tables_in_dbo_when_the_control_schema_is_empty(monkeypatch):
    connection = FakeConnection()
    monkeypatch.setattr(engine_module, "connect", lambda conn, **kwargs: connection)
    monkeypatch.setattr(engine_module, "current_driver", lambda conn: type("D", (), {"microsoft": True})())
    made = TARGET.open_applier("")
    assert made.schema == "dbo" and made.parameter_arrays
    assert executed(connection)[1:] == control_table_statements("dbo")


def test_it_runs_a_group_as_one_transaction_with_savepoints():
    connection = FakeConnection()
    target = applier(connection)
    target.begin()
    target.savepoint()
    target.rollback_to_savepoint()
    target.savepoint()
    target.commit()
    target.begin()
    target.rollback()
    assert executed(connection) == [
        "BEGIN TRANSACTION;", "SAVE TRANSACTION [dms_savepoint];", "ROLLBACK TRANSACTION [dms_savepoint];",
        "SAVE TRANSACTION [dms_savepoint];", "COMMIT TRANSACTION;", "BEGIN TRANSACTION;",
        "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;"]


def test_it_rolls_back_an_open_transaction_when_closed():
    connection = FakeConnection()
    target = applier(connection)
    target.begin()
    target.close()
    assert executed(connection)[-1] == "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;" and connection.closed


# ---- inserts -------------------------------------------------------------------------------------

def test_it_inserts_with_parameter_arrays_when_the_driver_has_them():
    connection = FakeConnection()
    rows = [(1, "one", True), (2, None, False)]
    assert applier(connection, parameter_arrays=True).insert(PLAN, rows) == 2
    assert calls(connection) == [
        ("setinputsizes", [None, None, None]),
        ("executemany", "INSERT INTO [sales].[orders] ([id], [name], [paid]) VALUES (?, ?, ?);", True,
         [(1, "one", 1), (2, None, 0)])]


def test_it_inserts_with_multi_row_statements_on_freetds():
    connection = FakeConnection()
    assert applier(connection).insert(PLAN, [(1, "one", True), (2, "two", None)]) == 2
    assert calls(connection) == [("execute", "INSERT INTO [sales].[orders] ([id], [name], [paid]) VALUES "
                                              "(?, ?, ?), (?, ?, ?);", (1, "one", 1, 2, "two", None))]


def test_it_leaves_values_the_source_did_not_send_out_of_an_insert():
    connection = FakeConnection()
    applier(connection).insert(PLAN, [(1, "one", UNCHANGED), (2, "two", UNCHANGED), (3, "three", False)])
    assert calls(connection) == [
        ("execute", "INSERT INTO [sales].[orders] ([id], [name]) VALUES (?, ?), (?, ?);", (1, "one", 2, "two")),
        ("execute", "INSERT INTO [sales].[orders] ([id], [name], [paid]) VALUES (?, ?, ?);", (3, "three", 0))]


def test_it_switches_identity_insert_on_around_inserts_of_identity_values():
    connection = FakeConnection(identity=("id",))
    applier(connection).insert(PLAN, [(7, "seven", None)])
    assert executed(connection) == ["SET IDENTITY_INSERT [sales].[orders] ON;",
                                    "INSERT INTO [sales].[orders] ([id], [name], [paid]) VALUES (?, ?, ?);",
                                    "SET IDENTITY_INSERT [sales].[orders] OFF;"]
    plain = FakeConnection(identity=("other",))
    applier(plain).insert(PLAN, [(7, "seven", None)])
    assert not any("IDENTITY_INSERT" in s for s in executed(plain))


def test_it_switches_identity_insert_off_even_when_the_insert_fails():
    connection = FakeConnection(identity=("id",))
    connection.fail["INSERT INTO"] = pyodbc.IntegrityError(
        "23000", "[23000] [FreeTDS][SQL Server]Violation of PRIMARY KEY constraint 'PK_orders'. Cannot insert "
                 "duplicate key in object 'sales.orders'. The duplicate key value is (7). (2627) (SQLExecDirectW)")
    with pytest.raises(EngineError) as caught:
        applier(connection).insert(PLAN, [(7, "seven", None)])
    assert caught.value.kind is ErrorKind.DUPLICATE
    assert executed(connection)[-1] == "SET IDENTITY_INSERT [sales].[orders] OFF;"


def test_it_reads_the_identity_columns_of_a_table_once():
    connection = FakeConnection(identity=("id",))
    target = applier(connection)
    target.insert(PLAN, [(1, "a", None)])
    target.insert(PLAN, [(2, "b", None)], upsert=True)
    lookups = [e for e in connection.log if e[0] == "execute" and e[1] == sql("target_identity_columns")]
    assert lookups == [("execute", sql("target_identity_columns"), ("[sales].[orders]",))]


def test_it_upserts_with_merge_in_batches():
    connection = FakeConnection()
    assert applier(connection).insert(PLAN, [(1, "one", True), (2, "two", False)], upsert=True) == 2
    assert calls(connection) == [("execute", "\n".join(["SET NOCOUNT ON;", MERGE, MERGE]),
                                   (1, "one", 1, 2, "two", 0))]


def test_it_never_updates_an_identity_column_in_an_upsert():
    source = replace(SOURCE, columns=(*SOURCE.columns, SourceColumn("seq", "int", DmsType(T.INT4))))
    plan = identity_plan(source, TARGET, source_engine="postgres", target_schema="sales")
    connection = FakeConnection(identity=("seq",))
    applier(connection).insert(plan, [(1, "one", True, 5)], upsert=True)
    merge = executed(connection)[1]
    assert "WHEN MATCHED THEN UPDATE SET [name] = s.[name], [paid] = s.[paid]\n" in merge
    assert "INSERT ([id], [name], [paid], [seq])" in merge
    assert executed(connection)[0] == "SET IDENTITY_INSERT [sales].[orders] ON;"


def test_it_upserts_a_keyless_table_by_deleting_equal_rows_first():
    connection = FakeConnection(counts=[1])
    assert applier(connection).insert(KEYLESS, [(1, "one", None)], upsert=True) == 1
    delete = ("DELETE TOP (1) FROM [sales].[orders] WHERE ([id] = CAST(? AS bigint) OR ([id] IS NULL AND ? IS NULL)) "
              "AND ([name] = CAST(? AS nvarchar(20)) OR ([name] IS NULL AND ? IS NULL)) "
              "AND ([paid] = CAST(? AS tinyint) OR ([paid] IS NULL AND ? IS NULL));")
    assert calls(connection) == [
        ("execute", counted(delete), (1, 1, "one", "one", None, None)),
        ("execute", "INSERT INTO [sales].[orders] ([id], [name], [paid]) VALUES (?, ?, ?);", (1, "one", None))]


# ---- updates and deletes -------------------------------------------------------------------------

def test_it_updates_rows_found_by_their_old_key_and_counts_them():
    connection = FakeConnection(counts=[1])
    changes = [TargetChange(Op.UPDATE, key=(1,), row=(1, "uno", UNCHANGED)),
               TargetChange(Op.UPDATE, key=(2,), row=(3, "tres", UNCHANGED))]
    assert applier(connection).update(PLAN, changes) == 1
    statement = ("UPDATE [sales].[orders] SET [id] = CAST(? AS bigint), [name] = CAST(? AS nvarchar(20)) "
                 "WHERE [id] = CAST(? AS bigint);")
    assert calls(connection) == [("execute", counted(statement, statement), (1, "uno", 1, 3, "tres", 2))]


def test_it_never_sets_an_identity_column_in_an_update():
    connection = FakeConnection(identity=("id",), counts=[1])
    applier(connection).update(PLAN, [TargetChange(Op.UPDATE, key=(1,), row=(1, "uno", True))])
    assert executed(connection) == [counted(UPDATE)]
    assert connection.log[-1][2] == ("uno", 1, 1)


def test_it_updates_one_equal_row_of_a_keyless_table():
    connection = FakeConnection(counts=[1])
    applier(connection).update(KEYLESS, [TargetChange(Op.UPDATE, key=(1, "one", None), row=(1, "uno", None))])
    assert connection.log[-1] == ("execute", counted(
        "UPDATE TOP (1) [sales].[orders] SET [id] = CAST(? AS bigint), [name] = CAST(? AS nvarchar(20)), "
        "[paid] = CAST(? AS tinyint) WHERE ([id] = CAST(? AS bigint) OR ([id] IS NULL AND ? IS NULL)) "
        "AND ([name] = CAST(? AS nvarchar(20)) OR ([name] IS NULL AND ? IS NULL)) "
        "AND ([paid] = CAST(? AS tinyint) OR ([paid] IS NULL AND ? IS NULL));"),
        (1, "uno", None, 1, 1, "one", "one", None, None))


def test_it_deletes_in_batches_within_the_statement_and_parameter_limits():
    connection = FakeConnection(counts=[100, 99, 50])
    assert applier(connection).delete(PLAN, [(n,) for n in range(250)]) == 249
    batches = calls(connection)
    assert [b[1] for b in batches] == [counted(*[DELETE] * 100), counted(*[DELETE] * 100), counted(*[DELETE] * 50)]
    assert batches[2][2] == tuple(range(200, 250))
    wide = FakeConnection(counts=[1, 1])
    applier(wide).update(PLAN, [TargetChange(Op.UPDATE, key=(n,), row=(n, "x", True)) for n in range(120)])
    assert [len(e[2]) for e in calls(wide)] == [400, 80]  # 4 parameters each: 2099 // 4 > 100 statements


def test_it_truncates_and_changes_columns():
    connection = FakeConnection()
    target = applier(connection)
    target.truncate(PLAN)
    column = replace(PLAN.columns[1], name="note", target_type="nvarchar(40)")
    target.execute_ddl(PLAN, "add-column", column)
    target.execute_ddl(PLAN, "drop-column", "note")
    assert executed(connection) == [
        "TRUNCATE TABLE [sales].[orders];",
        "IF COL_LENGTH(N'[sales].[orders]', N'note') IS NULL "
        "ALTER TABLE [sales].[orders] ADD [note] nvarchar(40) NULL;",
        "IF COL_LENGTH(N'[sales].[orders]', N'note') IS NOT NULL ALTER TABLE [sales].[orders] DROP COLUMN [note];"]
    with pytest.raises(EngineError) as caught:
        target.execute_ddl(PLAN, "rename-column", "note")
    assert caught.value.kind is ErrorKind.UNSUPPORTED


# ---- control tables ------------------------------------------------------------------------------

CHECKPOINT = '{"v": 1, "phase": "cdc", "start": "00000021:00000001:0000", "position": "00000021:00000180:0002"}'


def test_it_writes_the_checkpoint_and_the_table_states_that_changed():
    connection = FakeConnection()
    target = applier(connection, schema="ctl")
    states = {("public", "orders"): TableSyncState("replicating", None, "00000021:00000180:0002"),
              ("public", "items"): TableSyncState("loaded", "00000021:00000001:0000", None)}
    target.begin()
    target.save_state("task-1", CHECKPOINT, datetime(2024, 5, 1, 8, 0, 1), states)
    target.commit()
    merge = [entry for entry in connection.log if "awsdms_txn_state" in entry[1]][0]
    assert merge[2] == ("task-1", CHECKPOINT, "00000021:00000180:0002", datetime(2024, 5, 1, 8, 0, 1))
    assert merge[1].startswith("MERGE INTO [ctl].[awsdms_txn_state] WITH (HOLDLOCK) AS t\n")
    table_merge = [entry for entry in connection.log if "awsdms_table_state" in entry[1]][0]
    assert table_merge[1].startswith("SET NOCOUNT ON;\nMERGE INTO [ctl].[awsdms_table_state] WITH (HOLDLOCK) AS t\n")
    assert table_merge[1].count("MERGE INTO") == 2
    assert table_merge[2] == ("task-1", "public", "orders", "replicating", None, "00000021:00000180:0002",
                              "task-1", "public", "items", "loaded", "00000021:00000001:0000", None)
    connection.log.clear()
    states[("public", "items")].state = "replicating"
    target.begin()
    target.save_state("task-1", CHECKPOINT, None, states)
    target.commit()
    assert [e[2][:4] for e in connection.log if "awsdms_table_state" in e[1]] == [
        ("task-1", "public", "items", "replicating")]


def test_it_writes_the_table_states_again_after_a_rollback():
    connection = FakeConnection()
    target = applier(connection)
    states = {("public", "orders"): TableSyncState("replicating", None, "00000021:00000180:0002")}
    target.begin()
    target.save_state("task-1", CHECKPOINT, None, states)
    target.rollback()
    connection.log.clear()
    target.begin()
    target.save_state("task-1", CHECKPOINT, None, states)
    assert any("awsdms_table_state" in e[1] for e in connection.log)


def test_it_loads_the_checkpoint_and_the_table_states():
    rows = {"SELECT [CHECKPOINT], [COMMIT_POSITION], [COMMIT_TIME] FROM [dbo].[awsdms_txn_state] WHERE "
            "[TASK_NAME] = ?;": [(CHECKPOINT, "00000021:00000180:0002", datetime(2024, 5, 1, 8))],
            "SELECT [TABLE_OWNER], [TABLE_NAME], [STATE], [SNAPSHOT_POSITION], [APPLIED_POSITION] FROM "
            "[dbo].[awsdms_table_state] WHERE [TASK_NAME] = ?;": [("public", "orders", "replicating", None, "x")]}
    connection = FakeConnection(rows=rows)
    target = applier(connection)
    checkpoint, states = target.load_state("task-1")
    assert checkpoint == CHECKPOINT
    assert states == {("public", "orders"): TableSyncState("replicating", None, "x")}
    connection.log.clear()
    target.save_state("task-1", CHECKPOINT, None, states)  # nothing changed since: the checkpoint only
    assert len(connection.log) == 1 and "awsdms_txn_state" in connection.log[0][1]
    assert applier(FakeConnection()).load_state("task-2") == (None, {})


def test_it_records_apply_exceptions_against_the_target_table():
    connection = FakeConnection()
    applier(connection).log_exception("task-1", PLAN, "INSERT INTO sales.orders ...", "duplicate key")
    assert connection.log == [("execute", "INSERT INTO [dbo].[awsdms_apply_exceptions] ([TASK_NAME], [TABLE_OWNER], "
                                          "[TABLE_NAME], [ERROR_TIME], [STATEMENT], [ERROR]) VALUES (?, ?, ?, "
                                          "SYSUTCDATETIME(), ?, ?);",
                               ("task-1", "sales", "orders", "INSERT INTO sales.orders ...", "duplicate key"))]


# ---- errors --------------------------------------------------------------------------------------

DUPLICATE = pyodbc.IntegrityError(
    "23000", "[23000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Violation of PRIMARY KEY constraint "
             "'PK_orders'. Cannot insert duplicate key in object 'sales.orders'. The duplicate key value is (2). "
             "(2627) (SQLExecDirectW); [01000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]The statement "
             "has been terminated. (3621)")
TRUNCATED = pyodbc.ProgrammingError(
    "22001", "[22001] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]String or binary data would be truncated "
             "in table 'shop.sales.orders', column 'name'. Truncated value: 'aaaa'. (2628) (SQLExecDirectW)")
LOST = pyodbc.OperationalError("08S01", "[08S01] [Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: An "
                                        "existing connection was forcibly closed by the remote host. (10054) "
                                        "(SQLExecDirectW)")


def test_it_reports_a_duplicate_key_as_duplicate_and_a_refused_value_as_data():
    connection = FakeConnection()
    connection.fail["INSERT INTO [sales]"] = DUPLICATE
    with pytest.raises(EngineError) as caught:
        applier(connection, parameter_arrays=True).insert(PLAN, [(2, "two", None)])
    assert caught.value.kind is ErrorKind.DUPLICATE
    assert caught.value.message.startswith("SQL Server at tgt.example:1433 already has a row with this key while "
                                           "applying inserts to sales.orders: Violation of PRIMARY KEY")
    connection.fail["SET NOCOUNT ON;"] = TRUNCATED
    with pytest.raises(EngineError) as caught:
        applier(connection).update(PLAN, [TargetChange(Op.UPDATE, key=(1,), row=(1, "a" * 30, None))])
    assert caught.value.kind is ErrorKind.DATA and "applying updates to sales.orders" in caught.value.message


def test_it_reports_a_dropped_connection_as_lost_so_the_group_is_retried():
    connection = FakeConnection()
    target = applier(connection)
    target.begin()
    connection.fail["COMMIT"] = LOST
    with pytest.raises(EngineError) as caught:
        target.commit()
    assert caught.value.kind is ErrorKind.CONNECTION_LOST and not caught.value.permanent


class FailingNextSet(FakeCursor):
    def nextset(self):
        raise DUPLICATE


def test_it_surfaces_an_error_reported_after_a_batchs_count():
    connection = FakeConnection(counts=[1])
    connection.cursor = lambda: FailingNextSet(connection)
    with pytest.raises(EngineError) as caught:
        applier(connection).insert(PLAN, [(1, "one", None)], upsert=True)
    assert caught.value.kind is ErrorKind.DUPLICATE


# ---- with the generic apply writer ---------------------------------------------------------------

def test_it_lets_the_apply_writer_find_and_log_the_one_refused_row():
    connection = FakeConnection()
    target = applier(connection)
    route = Route(PLAN, RouteStatus.REPLICATING)
    items = [Item(route, TargetChange(Op.INSERT, row=(n, f"n{n}", None))) for n in (1, 2)]
    writer = GroupWriter(target, ErrorPolicies(), "task-1", NullReporter())
    connection.fail["INSERT INTO [sales].[orders] ([id], [name], [paid]) VALUES (?, ?, ?), ("] = DUPLICATE
    connection.fail[("INSERT INTO [sales].[orders]", (2, "n2", None))] = DUPLICATE
    writer.write(items, careful=True)
    assert [(e[1].split(" (")[0], e[2][:2]) for e in connection.log if e[0] == "execute"
            and e[1] != sql("target_identity_columns")] == [
        ("SAVE TRANSACTION [dms_savepoint];", ()),
        ("INSERT INTO [sales].[orders]", (1, "n1")),  # the run at once: refused
        ("ROLLBACK TRANSACTION [dms_savepoint];", ()),
        ("SAVE TRANSACTION [dms_savepoint];", ()),
        ("INSERT INTO [sales].[orders]", (1, "n1")),
        ("SAVE TRANSACTION [dms_savepoint];", ()),
        ("INSERT INTO [sales].[orders]", (2, "n2")),  # the duplicate
        ("ROLLBACK TRANSACTION [dms_savepoint];", ()),
        ("INSERT INTO [dbo].[awsdms_apply_exceptions]", ("task-1", "sales")),
    ]
    assert writer.take_counts()[route.key].inserts == 1 and writer.errors == 1


def test_it_gives_the_apply_writer_rows_affected_to_spot_missing_rows():
    connection = FakeConnection(counts=[2, 0, 0])
    target = applier(connection)
    route = Route(PLAN, RouteStatus.REPLICATING)
    writer = GroupWriter(target, ErrorPolicies(), "task-1", NullReporter())
    writer.write([Item(route, TargetChange(Op.DELETE, key=(n,))) for n in (1, 2)], careful=False)
    assert writer.take_counts()[route.key].deletes == 2
    writer.write([Item(route, TargetChange(Op.UPDATE, key=(3,), row=(3, "x", True)))], careful=False)
    assert writer.errors == 1 and writer.take_counts() == {}
    logged = connection.log[-1]
    assert logged[1].startswith("INSERT INTO [dbo].[awsdms_apply_exceptions]")
    assert logged[2][3:] == ("UPDATE sales.orders SET id = 3, name = 'x', paid = True WHERE id = 3",
                             "0 rows affected: no row to update with key (3,)")
