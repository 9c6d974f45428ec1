"""The SQL Server contract suite: the engine against a real server, as source and as target.

The last tests run the task runner with MS-CDC: SQL Server -> PostgreSQL and PostgreSQL -> SQL Server,
converging under writes, resuming after a stop, and surviving SIGKILLs (PostgreSQL from the pg_database
fixture, DMS_TEST_PG_URL; wal_level=logical for the PostgreSQL source).

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
from datetime import datetime, timedelta
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


# ---- CDC through the task runner: convergence, resume and crashes, both directions -----------------
#
# These run the engine's TaskRunner with SQL Server as the source (MS-CDC, which needs SQL Server Agent
# running the capture job) into PostgreSQL (the pg_database fixture), and PostgreSQL into SQL Server.
# A writer keeps changing the source with multi-table transactions (inserts, updates, deletes, key
# changes, rollbacks); the keyless audit table shows a change applied twice as a duplicate row.

SQLSERVER_TABLES = """CREATE TABLE dbo.orders (id int NOT NULL PRIMARY KEY, customer nvarchar(40) NULL,
    total decimal(12,2) NULL, placed datetime2(3) NULL, paid bit NULL);
CREATE TABLE dbo.order_lines (order_id int NOT NULL, line int NOT NULL, sku varchar(20) NULL, qty smallint NULL,
    PRIMARY KEY (order_id, line));
CREATE TABLE dbo.audit (seq bigint NOT NULL, message nvarchar(100) NULL)"""
PG_TABLES = """CREATE SCHEMA app;
CREATE TABLE app.orders (id integer PRIMARY KEY, customer varchar(40), total numeric(12,2), placed timestamp(3),
    paid boolean);
CREATE TABLE app.order_lines (order_id integer, line integer, sku varchar(20), qty smallint,
    PRIMARY KEY (order_id, line));
CREATE TABLE app.audit (seq bigint NOT NULL, message varchar(100));
ALTER TABLE app.audit REPLICA IDENTITY FULL;"""
CDC_TABLES = ("orders", "order_lines", "audit")


class Writer:
    """A random OLTP workload on the three tables of a SQL Server (pyodbc) or PostgreSQL (psycopg) database."""

    def __init__(self, connect_to: Callable[[], object], schema: str, marker: str, seed: int):
        import random

        self.connect_to, self.schema, self.marker = connect_to, schema, marker
        self.random = random.Random(seed)
        self.next_id, self.seq, self.committed = 1, 1, 0

    def _sql(self, text: str) -> str:
        return text.replace("{s}", self.schema).replace("?", self.marker)

    def create(self, orders: int) -> None:
        for _ in range(orders // 50):
            self.run(50, single=True)

    def run(self, transactions: int, *, single: bool = False) -> None:
        connection = self.connect_to()
        try:
            for _ in range(transactions):
                cursor = connection.cursor()
                if single:
                    self._new_order(cursor)
                else:
                    self._one(cursor)
                cursor.execute(self._sql("INSERT INTO {s}.audit (seq, message) VALUES (?, ?)"),
                               (self.seq, f"transaction {self.seq}"))
                self.seq += 1
                if not single and self.random.random() < 0.05:
                    connection.rollback()
                    continue
                connection.commit()
                self.committed += 1
        finally:
            connection.close()

    def _one(self, cursor) -> None:
        choice = self.random.random()
        existing = self.random.randint(1, max(1, self.next_id - 1))
        if choice < 0.35:
            self._new_order(cursor)
        elif choice < 0.6:
            cursor.execute(self._sql("UPDATE {s}.orders SET total = ?, paid = ? WHERE id = ?"),
                           (Decimal(self.random.randint(0, 99999)) / 100, self.random.random() < 0.5, existing))
        elif choice < 0.75:
            cursor.execute(self._sql("UPDATE {s}.order_lines SET qty = qty + 1 WHERE order_id = ?"), (existing,))
        elif choice < 0.85:  # a key change
            cursor.execute(self._sql("UPDATE {s}.order_lines SET line = line + 100 WHERE order_id = ? AND line = 1"),
                           (existing,))
        else:
            cursor.execute(self._sql("DELETE FROM {s}.order_lines WHERE order_id = ?"), (existing,))
            cursor.execute(self._sql("DELETE FROM {s}.orders WHERE id = ?"), (existing,))

    def _new_order(self, cursor) -> None:
        order = self.next_id
        self.next_id += 1
        placed = datetime(2024, 1, 1, 12) + timedelta(seconds=order, milliseconds=order % 1000)
        cursor.execute(self._sql("INSERT INTO {s}.orders (id, customer, total, placed, paid) VALUES (?, ?, ?, ?, ?)"),
                       (order, f"customer é {order}", Decimal(order) / 4, placed, order % 2 == 0))
        for line in (1, 2):
            cursor.execute(self._sql("INSERT INTO {s}.order_lines (order_id, line, sku, qty) VALUES (?, ?, ?, ?)"),
                           (order, line, f"SKU-{order}-{line}", line))


def _sqlserver_writer(info: ConnectionInfo, seed: int) -> Writer:
    return Writer(lambda: connect(info, autocommit=False, timeout=15), "dbo", "?", seed)


def _pg_writer(url: str, seed: int) -> Writer:
    import psycopg

    return Writer(lambda: psycopg.connect(url), "app", "%s", seed)


def _normal(value):
    if isinstance(value, bool):
        return int(value)  # bit/boolean sources land in tinyint (DMS's BOOLEAN on SQL Server)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _table_rows(where: ConnectionInfo | str, schema: str, table: str) -> list[tuple]:
    if isinstance(where, ConnectionInfo):
        rows = _rows(where, f"SELECT * FROM [{schema}].[{table}]")  # noqa: S608 - test names
    else:
        import psycopg

        with psycopg.connect(where) as conn:
            rows = conn.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()  # noqa: S608 - test names
    return sorted((tuple(_normal(v) for v in row) for row in rows), key=repr)


def _differences(source, source_schema: str, target, target_schema: str) -> dict[str, str]:
    found = {}
    for table in CDC_TABLES:
        want, have = _table_rows(source, source_schema, table), _table_rows(target, target_schema, table)
        if want != have:
            missing, extra = [r for r in want if r not in have][:3], [r for r in have if r not in want][:3]
            found[table] = f"source {len(want)} rows, target {len(have)}; missing {missing}; extra {extra}"
    return found


def _wait_until_equal(source, source_schema: str, target, target_schema: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = _differences(source, source_schema, target, target_schema)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(1)


def _spec(source: ConnectionInfo, target: ConnectionInfo, schema: str, tmp_path, task_id: str = "mssql-cdc"):
    from tasks.engine.runner import MigrationType, TaskSpec

    mappings = {"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "all", "rule-action": "include",
                           "object-locator": {"schema-name": schema, "table-name": "%"}}]}
    settings = {"FullLoadSettings": {"CommitRate": 500, "MaxFullLoadSubTasks": 2}}
    return TaskSpec(task_id=task_id, source=source, target=target, migration_type=MigrationType.FULL_LOAD_AND_CDC,
                    table_mappings=mappings, task_settings=settings, spool_dir=tmp_path / "spool", executor="thread",
                    metrics_interval=1.0)


def _cdc_source(sqlserver_database) -> ConnectionInfo:
    info = sqlserver_database(setUpMsCdcForTables="Y", pollingInterval="1")
    _run(info, *SQLSERVER_TABLES.split(";\n"))
    return info


def _pg_source(pg_database) -> str:
    import psycopg

    url = pg_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PG_TABLES)
    return url


def test_it_replicates_sqlserver_to_postgresql_under_writes_and_resumes_exactly_once(sqlserver_database,
                                                                                      pg_database, tmp_path):
    from tasks.engine.runner import StartMode
    from tasks.tests.cdc_harness import start

    source = _cdc_source(sqlserver_database)
    target_url = pg_database()
    writer = _sqlserver_writer(source, seed=3)
    writer.create(orders=1000)
    spec = _spec(source, ConnectionInfo.from_url(target_url), "dbo", tmp_path)
    task = start(spec)
    writer.run(100)  # during the load: cached, then applied
    task.wait_for_replication(len(CDC_TABLES), timeout=180)
    writer.run(200)
    assert _wait_until_equal(source, "dbo", target_url, "dbo") == {}, "is SQL Server Agent running?"
    assert task.finish().stop_reason == "Stop Reason NORMAL"
    writer.run(150)  # while stopped: applied on resume, exactly once
    task = start(spec, StartMode.RESUME)
    task.wait_for_replication(len(CDC_TABLES), timeout=180)
    writer.run(50)
    assert _wait_until_equal(source, "dbo", target_url, "dbo") == {}
    result = task.finish()
    assert result.stop_reason == "Stop Reason NORMAL" and result.error is None
    assert writer.committed > 300


def test_it_replicates_postgresql_to_sqlserver_under_writes_and_resumes_exactly_once(sqlserver_database,
                                                                                      pg_database, tmp_path):
    from tasks.engine.runner import StartMode
    from tasks.tests.cdc_harness import start

    source_url = _pg_source(pg_database)
    target = sqlserver_database()
    writer = _pg_writer(source_url, seed=4)
    writer.create(orders=1000)
    spec = _spec(ConnectionInfo.from_url(source_url), target, "app", tmp_path)
    task = start(spec)
    writer.run(100)
    task.wait_for_replication(len(CDC_TABLES), timeout=180)
    writer.run(200)
    assert _wait_until_equal(source_url, "app", target, "app") == {}
    assert task.finish().stop_reason == "Stop Reason NORMAL"
    writer.run(150)
    task = start(spec, StartMode.RESUME)
    task.wait_for_replication(len(CDC_TABLES), timeout=180)
    assert _wait_until_equal(source_url, "app", target, "app") == {}
    task.finish()
    states = _rows(target, "SELECT [TABLE_NAME], [STATE] FROM dbo.awsdms_table_state WHERE [TASK_NAME] = ? "
                           "ORDER BY [TABLE_NAME]", spec.task_id)
    assert states == [("audit", "replicating"), ("order_lines", "replicating"), ("orders", "replicating")]
    assert '"phase": "cdc"' in _rows(target, "SELECT [CHECKPOINT] FROM dbo.awsdms_txn_state WHERE [TASK_NAME] = ?",
                                     spec.task_id)[0][0]


def _cli_runner(source: str, target: str, tmp_path, resume: bool):
    import json
    import subprocess
    import sys
    from pathlib import Path

    mappings = tmp_path / "mappings.json"
    schema = "dbo" if source.startswith("mssql") else "app"
    mappings.write_text(json.dumps({"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "all",
                                               "rule-action": "include",
                                               "object-locator": {"schema-name": schema, "table-name": "%"}}]}))
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"FullLoadSettings": {"CommitRate": 200, "MaxFullLoadSubTasks": 2}}))
    command = [sys.executable, "-m", "tasks.engine", "run", "--source", source, "--target", target,
               "--table-mappings", str(mappings), "--task-settings", str(settings), "--migration-type",
               "full-load-and-cdc", "--task-id", "crash", "--spool-dir", str(tmp_path / "spool"), "--threads"]
    if resume:
        command.append("--resume")
    log = open(tmp_path / "runner.log", "a")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(command, cwd=Path(__file__).resolve().parents[2], stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("direction", ["sqlserver-postgres", "postgres-sqlserver"])
def test_it_survives_sigkills_without_losing_or_repeating_a_change(direction, sqlserver_database, pg_database,
                                                                    tmp_path):
    import random
    import signal
    import threading

    if direction == "sqlserver-postgres":
        source, target = _cdc_source(sqlserver_database), pg_database()
        source_url, target_url, schema = source.to_url(), target, "dbo"
        writer = _sqlserver_writer(source, seed=5)
    else:
        source, target = _pg_source(pg_database), sqlserver_database()
        source_url, target_url, schema = source, target.to_url(), "app"
        writer = _pg_writer(source, seed=6)
    writer.create(orders=3000)
    chance = random.Random(2026)
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            writer.run(5)

    background = threading.Thread(target=keep_writing, daemon=True)
    background.start()
    try:
        for attempt in range(5):
            process = _cli_runner(source_url, target_url, tmp_path, resume=attempt > 0)
            time.sleep(chance.uniform(1.0, 8.0))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    finally:
        stop.set()
        background.join(timeout=60)
    final = _cli_runner(source_url, target_url, tmp_path, resume=True)
    try:
        found = _wait_until_equal(source, schema, target, schema, timeout=240)
    finally:
        final.send_signal(signal.SIGTERM)
        code = final.wait(timeout=60)
    log = (tmp_path / "runner.log").read_text()
    assert found == {}, log[-3000:]
    assert code == 0 and "Stop Reason NORMAL" in log, log[-3000:]
