"""The SQL Server contract suite: the engine against a real server, as source and as target.

Runs only when DMS_TEST_SQLSERVER_URL names a server (mssql://user:pass@host:port/db, a login that may
CREATE DATABASE and enable MS-CDC, i.e. sysadmin); otherwise every test is collected and skipped with
the reason. Each test works in its own database dmst_<random>, dropped afterwards.

A server in a container elsewhere (SQL Server Agent on, for MS-CDC's capture job):

    docker run -d --name mssql -p 1433:1433 -e ACCEPT_EULA=Y -e MSSQL_SA_PASSWORD='Str0ng!Passw0rd' \\
        -e MSSQL_AGENT_ENABLED=true mcr.microsoft.com/mssql/server:2022-latest
    DMS_TEST_SQLSERVER_URL='mssql://sa:Str0ng!Passw0rd@dbhost:1433/master?sslmode=require' \\
        .venv/bin/pytest -m sqlserver endpoints/tests/test_sqlserver_contract.py
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from endpoints.engines.base import EndpointRole, RowFormat
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.plan import LobMode, PrepMode, Segment, identity_plan
from endpoints.engines.sqlserver import SqlServerEngine
from endpoints.engines.sqlserver.catalog import fetch_dicts
from endpoints.engines.sqlserver.cdc_changes import change_queries, commits_from_rows, merge_rows, transactions
from endpoints.engines.sqlserver.cdc_setup import build_instances
from endpoints.engines.sqlserver.connection import connect
from endpoints.engines.sqlserver.ddl import control_table_statements
from endpoints.engines.sqlserver.lsn import Lsn
from endpoints.engines.sqlserver.sqlfiles import sql
from endpoints.engines.sqlserver.statements import (
    checkpoint_select,
    checkpoint_upsert,
    delete_statement,
    upsert_statement,
)

URL = os.environ.get("DMS_TEST_SQLSERVER_URL", "")

pytestmark = [
    pytest.mark.sqlserver,
    pytest.mark.skipif(not URL, reason="DMS_TEST_SQLSERVER_URL is not set: the SQL Server contract suite needs a "
                                       "server (mssql://user:pass@host:port/db); see this module's docstring"),
]


def _admin(database: str = "master"):
    return connect(ConnectionInfo.from_url(URL).with_database(database), autocommit=True, timeout=15)


@pytest.fixture
def sqlserver_database() -> Iterator[Callable[..., ConnectionInfo]]:
    """Factory: each call creates a fresh database (extra attributes as keyword arguments)."""
    created: list[str] = []

    def make(**extra: str) -> ConnectionInfo:
        name = "dmst_" + uuid.uuid4().hex[:10]
        admin = _admin()
        try:
            admin.cursor().execute(f"CREATE DATABASE [{name}]")
        finally:
            admin.close()
        created.append(name)
        info = ConnectionInfo.from_url(URL).with_database(name)
        return replace(info, extra={**info.extra, **extra})

    yield make
    admin = _admin()
    try:
        for name in created:
            admin.cursor().execute(f"IF DB_ID(N'{name}') IS NOT NULL BEGIN "
                                   f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; "
                                   f"DROP DATABASE [{name}]; END")
    finally:
        admin.close()


def _run(info: ConnectionInfo, *statements: str) -> None:
    connection = connect(info, autocommit=True, timeout=15)
    try:
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement)
    finally:
        connection.close()


def _rows(info: ConnectionInfo, statement: str, *params) -> list[tuple]:
    connection = connect(info, autocommit=True, timeout=15)
    try:
        return [tuple(r) for r in connection.cursor().execute(statement, *params).fetchall()]
    finally:
        connection.close()


TYPES_TABLE = """CREATE TABLE dbo.kinds (
    id int IDENTITY(1,1) NOT NULL PRIMARY KEY,
    flag bit NULL, tiny tinyint NULL, small smallint NULL, big bigint NULL,
    amount decimal(12,2) NULL, cash money NULL, petty smallmoney NULL, ratio float NULL, approx real NULL,
    d date NULL, t time(7) NULL, dt datetime NULL, dt2 datetime2(7) NULL, sdt smalldatetime NULL,
    dto datetimeoffset(7) NULL,
    c char(4) NULL, vc varchar(20) NULL, vcm varchar(max) NULL, nc nchar(4) NULL, nvc nvarchar(20) NULL,
    nvcm nvarchar(max) NULL, txt text NULL, ntxt ntext NULL,
    bin binary(4) NULL, vbin varbinary(10) NULL, vbinm varbinary(max) NULL, img image NULL,
    uid uniqueidentifier NULL, doc xml NULL, rv rowversion NOT NULL, node hierarchyid NULL,
    area geography NULL, shape geometry NULL, anything sql_variant NULL,
    doubled AS (small * 2)
)"""

TYPES_ROW = """INSERT INTO dbo.kinds (flag, tiny, small, big, amount, cash, petty, ratio, approx, d, t, dt, dt2, sdt,
    dto, c, vc, vcm, nc, nvc, nvcm, txt, ntxt, bin, vbin, vbinm, img, uid, doc, node, area, shape, anything)
VALUES (1, 255, -32768, 9223372036854775807, 1234567890.12, 922337203685477.5807, -214748.3648, 1.5, 2.5,
    '2024-02-29', '23:59:59.1234567', '2024-05-01 10:00:00.997', '2024-05-01 10:00:00.1234567',
    '2024-05-01 10:00', '2024-05-01 10:00:00.1234567 +02:00', 'ab', 'x''y', REPLICATE(CAST('z' AS varchar(max)), 9000),
    N'é', N'𝄞 music', N'long ' + REPLICATE(CAST(N'ü' AS nvarchar(max)), 5000), 'old text', N'old ntext',
    0x01020304, 0x00ff, 0x00, 0x01,
    '6F9619FF-8B86-D011-B42D-00C04FC964FF', N'<a b="1"/>', '/1/3/', geography::Point(47.6, -122.3, 4326),
    geometry::STGeomFromText('LINESTRING (0 0, 1 1)', 0), 42)"""


def test_it_connects_as_source_and_target(sqlserver_database):
    engine = SqlServerEngine(sqlserver_database())
    source = engine.test_connection(EndpointRole.SOURCE, timeout=15)
    assert source.ok and "SQL Server" in source.server_version, source.message
    assert source.cdc_ready is False and any("sp_cdc_enable_db" in w for w in source.warnings)
    target = engine.test_connection(EndpointRole.TARGET, timeout=15)
    assert target.ok and target.cdc_ready is None


def test_it_reports_a_wrong_password_and_an_unknown_database(sqlserver_database):
    info = sqlserver_database()
    bad = SqlServerEngine(replace(info, password=info.password + "x")).test_connection(EndpointRole.SOURCE, 15)
    assert not bad.ok and "refused the login" in bad.message
    with pytest.raises(EngineError) as caught:
        connect(info.with_database("dmst_missing_" + uuid.uuid4().hex[:6]), timeout=15)
    assert caught.value.kind in {ErrorKind.UNKNOWN_DATABASE, ErrorKind.AUTH}


def test_it_lists_tables_with_every_type(sqlserver_database):
    info = sqlserver_database()
    _run(info, TYPES_TABLE, "CREATE TABLE dbo.[odd]]name] (k int NOT NULL, CONSTRAINT uq UNIQUE (k))")
    tables = {t.qualified: t for t in SqlServerEngine(info).list_tables()}
    kinds = tables["dbo.kinds"]
    columns = {c.name: c for c in kinds.columns}
    assert kinds.primary_key == ("id",) and columns["id"].identity
    assert str(columns["cash"].dms_type) == "NUMERIC(19,4)" and str(columns["dto"].dms_type) == "WSTRING(34)"
    assert str(columns["nvc"].dms_type) == "WSTRING(20)" and str(columns["nvcm"].dms_type) == "NCLOB"
    assert str(columns["rv"].dms_type) == "BYTES(8)" and str(columns["node"].dms_type) == "WSTRING(250)"
    assert columns["doubled"].generated and not columns["anything"].supported
    assert tables["dbo.odd]name"].unique_keys == (("k",),)


def test_it_round_trips_every_type_through_read_and_load(sqlserver_database):
    info = sqlserver_database()
    _run(info, TYPES_TABLE, TYPES_ROW, TYPES_ROW)
    engine = SqlServerEngine(info)
    table = next(t for t in engine.list_tables() if t.name == "kinds")
    plan = identity_plan(table, engine, source_engine="sqlserver", target_schema="copy")
    plan = replace(plan, lob=replace(plan.lob, mode=LobMode.FULL))
    batches = list(engine.read(plan, None, fmt=RowFormat.PYTHON, batch_rows=1))
    assert [b.rows for b in batches] == [1, 1]
    row = dict(zip(plan.read_columns, batches[0].data[0], strict=True))
    assert row["cash"] == Decimal("922337203685477.5807") and row["dto"] == "2024-05-01 10:00:00.1234567 +02:00"
    assert row["uid"] == "6F9619FF-8B86-D011-B42D-00C04FC964FF" and row["node"] == "/1/3/"
    assert row["nvc"] == "𝄞 music" and row["c"] == "ab" and row["dt2"] == datetime(2024, 5, 1, 10, 0, 0, 123456)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    result = engine.load(plan, iter(batches), commit_rows=1)
    assert result.rows == 2
    copied = list(engine.read(replace(plan, source=replace(table, schema="copy")), None, fmt=RowFormat.PYTHON,
                              batch_rows=10))
    original = row
    again = dict(zip(plan.read_columns, copied[0].data[0], strict=True))
    for name in ("cash", "dto", "uid", "node", "nvc", "nvcm", "vcm", "vbinm", "d", "t", "dt2", "bin"):
        assert again[name] == original[name], name


def test_it_reads_segments_that_cover_the_table_once(sqlserver_database):
    info = sqlserver_database()
    _run(info, "CREATE TABLE dbo.t (a int NOT NULL, b int NOT NULL, PRIMARY KEY (a, b))",
         "INSERT INTO dbo.t SELECT v / 10, v % 10 FROM (SELECT TOP 100 ROW_NUMBER() OVER (ORDER BY (SELECT 1)) - 1 "
         "AS v FROM sys.all_objects) AS n")
    engine = SqlServerEngine(info)
    plan = identity_plan(engine.list_tables()[0], engine, source_engine="sqlserver")
    segments = [Segment(0, ("a", "b"), upper=(4, 5)), Segment(1, ("a", "b"), lower=(4, 5), include_nulls=True)]
    rows = [r for s in segments for b in engine.read(plan, s, fmt=RowFormat.PYTHON, batch_rows=7) for r in b.data]
    assert sorted(rows) == [(v // 10, v % 10) for v in range(100)]
    split = engine.split(plan, 4)
    assert len(split) == 4
    rows = [r for s in split for b in engine.read(plan, s, fmt=RowFormat.PYTHON, batch_rows=7) for r in b.data]
    assert sorted(rows) == [(v // 10, v % 10) for v in range(100)]


def test_it_loads_identity_values_into_a_table_the_dba_created(sqlserver_database):
    info = sqlserver_database()
    _run(info, "CREATE TABLE dbo.src (id int NOT NULL PRIMARY KEY, name nvarchar(10) NULL)",
         "INSERT INTO dbo.src VALUES (5, N'five'), (9, NULL)",
         "CREATE SCHEMA tgt", "CREATE TABLE tgt.src (id int IDENTITY(1,1) PRIMARY KEY, name nvarchar(10) NULL)")
    engine = SqlServerEngine(info)
    plan = identity_plan(engine.list_tables(["dbo"])[0], engine, source_engine="sqlserver", target_schema="tgt")
    engine.prepare_table(plan, PrepMode.DO_NOTHING)
    engine.load(plan, engine.read(plan, None, fmt=RowFormat.PYTHON, batch_rows=10), commit_rows=10)
    assert _rows(info, "SELECT id, name FROM tgt.src ORDER BY id") == [(5, "five"), (9, None)]


def test_it_applies_upserts_deletes_and_checkpoints(sqlserver_database):
    info = sqlserver_database()
    _run(info, "CREATE TABLE dbo.t (id int NOT NULL PRIMARY KEY, name nvarchar(10) NULL, blob varbinary(max) NULL)",
         *control_table_statements(), *control_table_statements())
    engine = SqlServerEngine(info)
    plan = identity_plan(engine.list_tables(["dbo"])[0], engine, source_engine="sqlserver")
    _run_params(info, upsert_statement(plan), (1, "one", None))
    _run_params(info, upsert_statement(plan), (1, "uno", b"\x00"))
    _run_params(info, upsert_statement(plan, ["id", "name"]), (2, "two"))
    _run_params(info, delete_statement(plan), (2,))
    _run_params(info, delete_statement(plan), (2,))
    assert _rows(info, "SELECT id, name, blob FROM dbo.t") == [(1, "uno", b"\x00")]
    for position in ("00000021:00000100:0004", "00000021:00000180:0002"):
        _run_params(info, checkpoint_upsert(), ("task-1", '{"tables": {}}', position, datetime(2024, 5, 1, 8)))
    assert _rows(info, checkpoint_select(), "task-1")[0][1] == "00000021:00000180:0002"


def _run_params(info: ConnectionInfo, statement: str, params: tuple) -> None:
    connection = connect(info, autocommit=True, timeout=15)
    try:
        connection.cursor().execute(statement, *params)
    finally:
        connection.close()


def test_it_requires_cdc_then_enables_it_and_captures_a_multi_table_transaction(sqlserver_database):
    info = sqlserver_database()
    _run(info, "CREATE TABLE dbo.orders (id int NOT NULL PRIMARY KEY, total money NULL)",
         "CREATE TABLE dbo.items (order_id int NOT NULL, sku nvarchar(8) NOT NULL, PRIMARY KEY (order_id, sku))")
    tables = SqlServerEngine(info).list_tables(["dbo"])
    with pytest.raises(EngineError) as caught:
        SqlServerEngine(info).ensure_cdc(tables)
    assert "EXEC sys.sp_cdc_enable_db;" in caught.value.message
    engine = SqlServerEngine(replace(info, extra={**info.extra, "setUpMsCdcForTables": "Y"}))
    assert engine.ensure_cdc(tables) == []
    _run(info, "BEGIN TRANSACTION; INSERT INTO dbo.orders VALUES (1, 10); INSERT INTO dbo.items VALUES (1, N'A'); "
               "COMMIT;", "UPDATE dbo.orders SET total = 12.5 WHERE id = 1", "DELETE FROM dbo.items")
    found = _capture(info, tables, expect=3)
    assert [[(c.op.value, c.relation.table) for c in t.changes] for t in found] == [
        [("I", "orders"), ("I", "items")], [("U", "orders")], [("D", "items")]], "is SQL Server Agent running?"
    assert found[1].changes[0].before[1] == Decimal("10.0000") and found[1].changes[0].after[1] == Decimal("12.5000")
    assert Lsn.parse(found[0].position) < Lsn.parse(found[1].position) < Lsn.parse(found[2].position)


def _capture(info: ConnectionInfo, tables, *, expect: int, seconds: float = 60):
    """Poll the change tables, every capture instance from its first LSN, until `expect` transactions
    arrived (MS-CDC's capture job fills them a few seconds after the commit)."""
    by_name = {(t.schema, t.name): t for t in tables}
    connection = connect(info, autocommit=True, timeout=15)
    try:
        cursor = connection.cursor()
        deadline = time.monotonic() + seconds
        while True:
            instances = {i.name: i for i in build_instances(fetch_dicts(cursor, sql("cdc_capture_instances")))}
            queries = change_queries(instances.values(), by_name)
            raw_end = cursor.execute(sql("cdc_max_lsn")).fetchone()[0]
            found = []
            if raw_end:
                end = Lsn.from_bytes(bytes(raw_end))
                streams = {name: [tuple(r) for r in cursor.execute(query, instances[name].min_lsn.to_bytes(),
                                                                   end.to_bytes()).fetchall()]
                           for name, query in queries.items()}
                start = min(i.min_lsn for i in instances.values())
                commits = commits_from_rows(fetch_dicts(cursor, sql("cdc_commit_times"),
                                                        (start.to_bytes(), end.to_bytes())))
                found = list(transactions(merge_rows(streams), instances, by_name, commits))
            if len(found) >= expect or time.monotonic() > deadline:
                return found
            time.sleep(1)
    finally:
        connection.close()
