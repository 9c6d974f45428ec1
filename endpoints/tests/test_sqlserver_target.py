"""SQL Server as a target: golden DDL per PrepMode, control tables, bulk INSERT, MERGE/UPDATE/DELETE for
applying one row change, the checkpoint statements, and the loader's driver paths and IDENTITY_INSERT."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from endpoints.engines.base import RowBatch, RowFormat
from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.plan import PrepMode, identity_plan
from endpoints.engines.sqlserver import SqlServerEngine
from endpoints.engines.sqlserver.ddl import (
    CONTROL_TABLES,
    add_key_statement,
    control_table_statements,
    create_schema,
    prepare_statements,
)
from endpoints.engines.sqlserver.load import input_sizes, load
from endpoints.engines.sqlserver.statements import (
    apply_exception_insert,
    checkpoint_select,
    checkpoint_upsert,
    delete_statement,
    identity_insert,
    insert_statement,
    keyless_delete_statement,
    rows_per_insert,
    truncate_statement,
    update_statement,
    upsert_statement,
)
from endpoints.engines.types import DmsType, T

TARGET = SqlServerEngine(ConnectionInfo.from_url("mssql://dms@target.example/shop"))

SOURCE = SourceTable("public", "orders", (
    SourceColumn("id", "bigint", DmsType(T.INT8), nullable=False),
    SourceColumn("name", "character varying(50)", DmsType(T.WSTRING, length=50)),
    SourceColumn("body", "text", DmsType(T.NCLOB), nullable=False),
    SourceColumn("price", "numeric(12,2)", DmsType(T.NUMERIC, precision=12, scale=2), nullable=False),
    SourceColumn("flag", "boolean", DmsType(T.BOOLEAN)),
), primary_key=("id",))

PLAN = identity_plan(SOURCE, TARGET, source_engine="postgres", target_schema="sales")

CREATE = """CREATE TABLE [sales].[orders] (
    [id] bigint NOT NULL,
    [name] nvarchar(50) NULL,
    [body] nvarchar(max) NULL,
    [price] numeric(12,2) NOT NULL,
    [flag] tinyint NULL,
    PRIMARY KEY ([id])
);"""
SCHEMA = "IF SCHEMA_ID(N'sales') IS NULL EXEC(N'CREATE SCHEMA [sales]');"
EXISTS = "OBJECT_ID(N'[sales].[orders]', N'U')"


def test_it_creates_a_schema_only_when_missing_with_names_quoted():
    assert create_schema("sales") == SCHEMA
    assert create_schema("o'brien]x") == "IF SCHEMA_ID(N'o''brien]x') IS NULL EXEC(N'CREATE SCHEMA [o''brien]]x]');"


def test_it_drops_and_creates_the_table():
    assert prepare_statements(PLAN, PrepMode.DROP_AND_CREATE) == [
        SCHEMA, f"IF {EXISTS} IS NOT NULL DROP TABLE [sales].[orders];", CREATE]


def test_it_truncates_an_existing_table_and_creates_a_missing_one():
    assert prepare_statements(PLAN, PrepMode.TRUNCATE_BEFORE_LOAD) == [
        SCHEMA, f"IF {EXISTS} IS NOT NULL TRUNCATE TABLE [sales].[orders];", f"IF {EXISTS} IS NULL\n{CREATE}"]


def test_it_leaves_an_existing_table_alone_in_do_nothing_mode():
    assert prepare_statements(PLAN, PrepMode.DO_NOTHING) == [SCHEMA, f"IF {EXISTS} IS NULL\n{CREATE}"]


def test_it_defers_the_key_until_after_the_load():
    statements = prepare_statements(PLAN, PrepMode.DROP_AND_CREATE, create_key=False)
    assert "PRIMARY KEY" not in statements[-1] and statements[-1].endswith("[flag] tinyint NULL\n);")
    assert add_key_statement(PLAN) == (
        f"IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = {EXISTS} AND is_primary_key = 1)\n"
        "ALTER TABLE [sales].[orders] ADD PRIMARY KEY ([id]);")


def test_it_uses_a_unique_constraint_when_the_key_came_from_a_unique_index():
    plan = replace(PLAN, key_origin="unique-index")
    assert prepare_statements(plan, PrepMode.DROP_AND_CREATE)[-1].endswith("    UNIQUE ([id])\n);")
    assert "is_unique_constraint = 1" in add_key_statement(plan)
    assert add_key_statement(replace(PLAN, key=())) is None


def test_it_creates_the_control_tables_in_dbo_by_default():
    statements = control_table_statements()
    assert statements[0] == "IF SCHEMA_ID(N'dbo') IS NULL EXEC(N'CREATE SCHEMA [dbo]');"
    assert CONTROL_TABLES == ("awsdms_apply_exceptions", "awsdms_status", "awsdms_suspended_tables",
                              "awsdms_history", "awsdms_txn_state", "awsdms_table_state")
    assert statements[6] == """IF OBJECT_ID(N'[dbo].[awsdms_table_state]', N'U') IS NULL
CREATE TABLE [dbo].[awsdms_table_state] (
    [TASK_NAME] varchar(255) NOT NULL,
    [TABLE_OWNER] nvarchar(128) NOT NULL,
    [TABLE_NAME] nvarchar(128) NOT NULL,
    [STATE] varchar(32) NOT NULL,
    [SNAPSHOT_POSITION] nvarchar(max) NULL,
    [APPLIED_POSITION] nvarchar(max) NULL,
    [UPDATED_AT] datetime2(6) NOT NULL,
    PRIMARY KEY ([TASK_NAME], [TABLE_OWNER], [TABLE_NAME])
);"""
    assert statements[5] == """IF OBJECT_ID(N'[dbo].[awsdms_txn_state]', N'U') IS NULL
CREATE TABLE [dbo].[awsdms_txn_state] (
    [TASK_NAME] varchar(255) NOT NULL PRIMARY KEY,
    [CHECKPOINT] nvarchar(max) NOT NULL,
    [COMMIT_POSITION] varchar(64) NULL,
    [COMMIT_TIME] datetime2(6) NULL,
    [UPDATED_AT] datetime2(6) NOT NULL
);"""
    assert statements[1] == """IF OBJECT_ID(N'[dbo].[awsdms_apply_exceptions]', N'U') IS NULL
CREATE TABLE [dbo].[awsdms_apply_exceptions] (
    [TASK_NAME] varchar(255) NOT NULL,
    [TABLE_OWNER] nvarchar(128) NOT NULL,
    [TABLE_NAME] nvarchar(128) NOT NULL,
    [ERROR_TIME] datetime2(6) NOT NULL,
    [STATEMENT] nvarchar(max) NOT NULL,
    [ERROR] nvarchar(max) NOT NULL
);"""


def test_it_gives_the_control_tables_the_dms_columns():
    statements = control_table_statements("dmslogs")
    assert statements[0] == "IF SCHEMA_ID(N'dmslogs') IS NULL EXEC(N'CREATE SCHEMA [dmslogs]');"
    status, suspended, history = statements[2], statements[3], statements[4]
    for name in ("SERVER_NAME", "TASK_NAME", "TASK_STATUS", "STATUS_TIME", "PENDING_CHANGES", "DISK_SWAP_SIZE",
                 "TASK_MEMORY", "SOURCE_CURRENT_POSITION", "SOURCE_CURRENT_TIMESTAMP", "SOURCE_TAIL_POSITION",
                 "SOURCE_TAIL_TIMESTAMP", "SOURCE_TIMESTAMP_APPLIED"):
        assert f"[{name}]" in status
    assert "CREATE TABLE [dmslogs].[awsdms_status]" in status
    for name in ("TABLE_OWNER", "TABLE_NAME", "SUSPEND_REASON", "SUSPEND_TIMESTAMP"):
        assert f"[{name}]" in suspended
    for name in ("TIMESLOT_TYPE", "TIMESLOT", "TIMESLOT_DURATION", "TIMESLOT_LATENCY", "RECORDS", "TIMESLOT_VOLUME"):
        assert f"[{name}]" in history


def test_it_puts_the_control_tables_on_the_filegroup_asked_for():
    statements = control_table_statements("dbo", "DMS]FG")
    assert all(s.endswith("\n) ON [DMS]]FG];") for s in statements[1:])


# ---- row statements ------------------------------------------------------------------------------

def test_it_inserts_with_plain_markers_for_parameter_arrays():
    assert insert_statement(PLAN) == ("INSERT INTO [sales].[orders] ([id], [name], [body], [price], [flag]) "
                                      "VALUES (?, ?, ?, ?, ?);")


def test_it_inserts_many_rows_per_statement_within_sql_servers_limits():
    assert insert_statement(PLAN, 2).endswith("VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?);")
    assert rows_per_insert(5) == 419  # 2099 parameters / 5
    assert rows_per_insert(1) == 1000  # at most 1000 rows in one VALUES list
    assert rows_per_insert(3000) == 1


def test_it_parses_text_into_clr_typed_target_columns():
    source = SourceTable("dbo", "places", (SourceColumn("id", "int", DmsType(T.INT4), nullable=False),
                                           SourceColumn("area", "geography", DmsType(T.CLOB)),
                                           SourceColumn("node", "hierarchyid", DmsType(T.WSTRING, length=250))),
                         primary_key=("id",))
    plan = identity_plan(source, TARGET, source_engine="sqlserver")
    assert insert_statement(plan) == ("INSERT INTO [dbo].[places] ([id], [area], [node]) "
                                      "VALUES (?, geography::Parse(?), hierarchyid::Parse(?));")
    assert update_statement(plan, ["area"]) == ("UPDATE [dbo].[places] SET [area] = geography::Parse(?) "
                                                "WHERE [id] = CAST(? AS int);")


def test_it_switches_identity_insert():
    assert identity_insert(PLAN, True) == "SET IDENTITY_INSERT [sales].[orders] ON;"
    assert identity_insert(PLAN, False) == "SET IDENTITY_INSERT [sales].[orders] OFF;"


def test_it_upserts_one_row_with_merge_keyed_by_the_plan_key():
    assert upsert_statement(PLAN) == (
        "MERGE INTO [sales].[orders] WITH (HOLDLOCK) AS t\n"
        "USING (SELECT CAST(? AS bigint) AS [id], CAST(? AS nvarchar(50)) AS [name], "
        "CAST(? AS nvarchar(max)) AS [body], CAST(? AS numeric(12,2)) AS [price], CAST(? AS tinyint) AS [flag]) AS s\n"
        "ON t.[id] = s.[id]\n"
        "WHEN MATCHED THEN UPDATE SET [name] = s.[name], [body] = s.[body], [price] = s.[price], [flag] = s.[flag]\n"
        "WHEN NOT MATCHED THEN INSERT ([id], [name], [body], [price], [flag]) "
        "VALUES (s.[id], s.[name], s.[body], s.[price], s.[flag]);")


def test_it_upserts_only_the_columns_the_change_carries():
    text = upsert_statement(PLAN, ["id", "price"])
    assert "USING (SELECT CAST(? AS bigint) AS [id], CAST(? AS numeric(12,2)) AS [price]) AS s" in text
    assert "WHEN MATCHED THEN UPDATE SET [price] = s.[price]\n" in text
    assert text.endswith("INSERT ([id], [price]) VALUES (s.[id], s.[price]);")


def test_it_merges_a_key_only_row_without_an_update_clause():
    assert "WHEN MATCHED" not in upsert_statement(PLAN, ["id"])


def test_it_refuses_an_upsert_without_the_key():
    try:
        upsert_statement(PLAN, ["name"])
    except ValueError as exc:
        assert "id" in str(exc)
    else:
        raise AssertionError("an upsert without its key column must be refused")


def test_it_updates_and_deletes_by_key_with_typed_parameters():
    assert update_statement(PLAN, ["name", "flag"]) == (
        "UPDATE [sales].[orders] SET [name] = CAST(? AS nvarchar(50)), [flag] = CAST(? AS tinyint) "
        "WHERE [id] = CAST(? AS bigint);")
    assert delete_statement(PLAN) == "DELETE FROM [sales].[orders] WHERE [id] = CAST(? AS bigint);"
    assert truncate_statement(PLAN) == "TRUNCATE TABLE [sales].[orders];"


def test_it_deletes_one_equal_row_from_a_table_without_a_key():
    plan = replace(PLAN, key=(), columns=PLAN.columns[:2])
    assert keyless_delete_statement(plan) == (
        "DELETE TOP (1) FROM [sales].[orders] WHERE ([id] = CAST(? AS bigint) OR ([id] IS NULL AND ? IS NULL)) "
        "AND ([name] = CAST(? AS nvarchar(50)) OR ([name] IS NULL AND ? IS NULL));")


def test_it_writes_the_checkpoint_with_one_merge():
    assert checkpoint_upsert() == (
        "MERGE INTO [dbo].[awsdms_txn_state] WITH (HOLDLOCK) AS t\n"
        "USING (SELECT CAST(? AS varchar(255)) AS [TASK_NAME], CAST(? AS nvarchar(max)) AS [CHECKPOINT], "
        "CAST(? AS varchar(64)) AS [COMMIT_POSITION], CAST(? AS datetime2(6)) AS [COMMIT_TIME]) AS s\n"
        "ON t.[TASK_NAME] = s.[TASK_NAME]\n"
        "WHEN MATCHED THEN UPDATE SET [CHECKPOINT] = s.[CHECKPOINT], [COMMIT_POSITION] = s.[COMMIT_POSITION], "
        "[COMMIT_TIME] = COALESCE(s.[COMMIT_TIME], t.[COMMIT_TIME]), [UPDATED_AT] = SYSUTCDATETIME()\n"
        "WHEN NOT MATCHED THEN INSERT ([TASK_NAME], [CHECKPOINT], [COMMIT_POSITION], [COMMIT_TIME], [UPDATED_AT]) "
        "VALUES (s.[TASK_NAME], s.[CHECKPOINT], s.[COMMIT_POSITION], s.[COMMIT_TIME], SYSUTCDATETIME());")
    assert checkpoint_select("ctl") == ("SELECT [CHECKPOINT], [COMMIT_POSITION], [COMMIT_TIME] FROM "
                                        "[ctl].[awsdms_txn_state] WHERE [TASK_NAME] = ?;")


def test_it_records_apply_exceptions():
    assert apply_exception_insert() == (
        "INSERT INTO [dbo].[awsdms_apply_exceptions] ([TASK_NAME], [TABLE_OWNER], [TABLE_NAME], [ERROR_TIME], "
        "[STATEMENT], [ERROR]) VALUES (?, ?, ?, SYSUTCDATETIME(), ?, ?);")


# ---- the loader ----------------------------------------------------------------------------------

class FakeCursor:
    def __init__(self, log, identity):
        self.log, self.identity, self.fast_executemany = log, identity, False
        self._rows = []

    def execute(self, statement, *params):
        self.log.append(("execute", statement, params))
        self._rows = [(name,) for name in self.identity] if "identity_columns" in statement else []
        return self

    def fetchall(self):
        return self._rows

    def executemany(self, statement, rows):
        self.log.append(("executemany", statement, self.fast_executemany, list(rows)))

    def setinputsizes(self, sizes):
        self.log.append(("setinputsizes", sizes))

    def close(self):
        pass


class FakeConnection:
    def __init__(self, identity=()):
        self.log = []
        self.identity = identity

    def cursor(self):
        return FakeCursor(self.log, self.identity)

    def commit(self):
        self.log.append(("commit",))


def _batches(*sizes):
    start = 0
    for size in sizes:
        rows = [(i, f"n{i}", "body", Decimal("1.50"), True) for i in range(start, start + size)]
        start += size
        yield RowBatch(RowFormat.PYTHON, size, rows, nbytes=10 * size, notes={"lob_truncated": 1})


def test_it_loads_with_parameter_arrays_and_sizes_max_columns():
    connection = FakeConnection()
    result = load(connection, PLAN, _batches(2, 1), commit_rows=2, parameter_arrays=True)
    assert (result.rows, result.nbytes, result.notes) == (3, 30, {"lob_truncated": 2})
    calls = [entry for entry in connection.log if entry[0] != "execute"]
    assert calls[0] == ("setinputsizes", [None, None, (-9, 0, 0), None, None])
    assert calls[1] == ("executemany", insert_statement(PLAN), True,
                        [(0, "n0", "body", Decimal("1.50"), 1), (1, "n1", "body", Decimal("1.50"), 1)])
    assert [c[0] for c in calls[2:]] == ["commit", "executemany", "commit"]


def test_it_loads_with_multi_row_inserts_when_the_driver_has_no_parameter_arrays():
    connection = FakeConnection()
    load(connection, PLAN, _batches(420), commit_rows=10_000, parameter_arrays=False)
    inserts = [entry for entry in connection.log if entry[0] == "execute" and "INSERT" in entry[1]]
    assert [entry[1].count("(?, ?, ?, ?, ?)") for entry in inserts] == [419, 1]
    assert len(inserts[0][2][0]) == 419 * 5 and inserts[1][2][0][:2] == [419, "n419"]


def test_it_switches_identity_insert_around_the_load_when_the_target_has_identity():
    connection = FakeConnection(identity=("id",))
    load(connection, PLAN, _batches(1), commit_rows=10, parameter_arrays=True)
    statements = [entry[1] for entry in connection.log if entry[0] == "execute"]
    assert statements[1] == "SET IDENTITY_INSERT [sales].[orders] ON;"
    assert statements[-1] == "SET IDENTITY_INSERT [sales].[orders] OFF;"
    plain = FakeConnection(identity=("other",))
    load(plain, PLAN, _batches(1), commit_rows=10, parameter_arrays=True)
    assert not any("IDENTITY_INSERT" in str(entry) for entry in plain.log)


def test_it_binds_lobs_and_text_carried_types_with_explicit_sizes():
    source = SourceTable("dbo", "files", (SourceColumn("id", "int", DmsType(T.INT4), nullable=False),
                                          SourceColumn("data", "varbinary(max)", DmsType(T.BLOB)),
                                          SourceColumn("doc", "xml", DmsType(T.NCLOB)),
                                          SourceColumn("at", "datetimeoffset(3)", DmsType(T.WSTRING, length=34)),
                                          SourceColumn("uid", "uniqueidentifier", DmsType(T.STRING, length=36)),
                                          SourceColumn("node", "hierarchyid", DmsType(T.WSTRING, length=250)),
                                          SourceColumn("area", "geography", DmsType(T.CLOB)),
                                          SourceColumn("code", "varbinary(16)", DmsType(T.BYTES, length=16))),
                         primary_key=("id",))
    plan = identity_plan(source, TARGET, source_engine="sqlserver")
    assert input_sizes(plan) == [None, (-3, 0, 0), (-9, 0, 0), (-9, 34, 0), (-9, 36, 0), (-9, 4000, 0),
                                 (-9, 0, 0), None]
