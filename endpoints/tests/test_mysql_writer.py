"""MySQL targets: table preparation as DMS does it, LOAD DATA loads, deferred keys, control tables."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from decimal import Decimal

import pymysql
import pytest

from endpoints.engines.base import RowBatch, RowFormat
from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.mysql import MySQLEngine
from endpoints.engines.mysql.infile import GuardedConnection
from endpoints.engines.plan import ColumnPlan, PrepMode, TablePlan
from endpoints.engines.types import parse_dms_type

from .mysql_helpers import ZOO_DDL, ZOO_INSERTS, plan_for, query, read_all, run
from .test_mysql_values import COLUMNS, EXTREMES

pytestmark = pytest.mark.live


def _engine(url: str) -> MySQLEngine:
    return MySQLEngine(ConnectionInfo.from_url(url))


def _db(url: str) -> str:
    return ConnectionInfo.from_url(url).database


def _plan(schema: str, table: str, columns: list[tuple[str, str, bool]], key=("id",), key_origin="primary-key"):
    """A heterogeneous plan: (name, DMS type, nullable) per column, target types from the MySQL map."""
    engine = MySQLEngine(ConnectionInfo.from_url("mysql://u@h/x"))
    source = SourceTable(schema, table, tuple(SourceColumn(n, "x", parse_dms_type(t), nullable=nl)
                                              for n, t, nl in columns), primary_key=key)
    plans = tuple(ColumnPlan(name=n, dms_type=parse_dms_type(t), target_type=engine.target_type(
        parse_dms_type(t), None, "postgres"), nullable=nl, source=n) for n, t, nl in columns)
    return TablePlan(source=source, target_schema=schema, target_table=table, columns=plans, key=key,
                     key_origin=key_origin)


def _batches(rows: list[tuple], size: int = 1000):
    return [RowBatch(RowFormat.PYTHON, len(rows[i:i + size]), rows[i:i + size]) for i in range(0, len(rows), size)]


def _create_table(url: str, schema: str, table: str) -> str:
    return query(url, f"SHOW CREATE TABLE `{schema}`.`{table}`")[0][1]


# ---- preparation ---------------------------------------------------------------------------------

def test_it_creates_database_and_table_as_dms_does(mysql_database):
    url = mysql_database()
    schema = _db(url) + "_new"
    plan = _plan(schema, "t", [("id", "INT8", False), ("name", "WSTRING(20)", False), ("body", "NCLOB", False),
                               ("price", "NUMERIC(12,2)", True)])
    try:
        _engine(url).prepare_table(plan, PrepMode.DROP_AND_CREATE)
        ddl = _create_table(url, schema, "t")
    finally:
        run(url, f"DROP DATABASE IF EXISTS `{schema}`")
    assert "`id` bigint(20) NOT NULL" in ddl
    assert "`name` varchar(20) NOT NULL" in ddl
    assert "`body` longtext DEFAULT NULL" in ddl  # LOB columns are created nullable, as DMS does
    assert "`price` decimal(12,2) DEFAULT NULL" in ddl
    assert "PRIMARY KEY (`id`)" in ddl
    assert "ENGINE=InnoDB" in ddl and "CHARSET=utf8mb4" in ddl


def test_it_drops_truncates_or_leaves_existing_tables(mysql_database):
    url = mysql_database()
    schema = _db(url)
    plan = _plan(schema, "t", [("id", "INT4", False)])
    run(url, "CREATE TABLE t (id int PRIMARY KEY, extra int)", "INSERT INTO t VALUES (1, 1)")
    _engine(url).prepare_table(plan, PrepMode.DO_NOTHING)
    assert query(url, "SELECT id, extra FROM t") == [(1, 1)]
    _engine(url).prepare_table(plan, PrepMode.TRUNCATE_BEFORE_LOAD)
    assert query(url, "SELECT COUNT(*) FROM t") == [(0,)]
    assert "`extra`" in _create_table(url, schema, "t")  # truncate keeps the table's definition
    _engine(url).prepare_table(plan, PrepMode.DROP_AND_CREATE)
    assert "`extra`" not in _create_table(url, schema, "t")


def test_it_creates_a_missing_table_in_every_mode(mysql_database):
    url = mysql_database()
    for index, mode in enumerate(PrepMode):
        _engine(url).prepare_table(_plan(_db(url), f"t{index}", [("id", "INT4", False)]), mode)
    assert sorted(r[0] for r in query(url, "SHOW TABLES")) == ["t0", "t1", "t2"]


def test_it_gives_text_key_columns_an_indexable_binary_type(mysql_database):
    url = mysql_database()
    plan = _plan(_db(url), "k", [("code", "NCLOB", False), ("n", "INT4", False)], key=("code", "n"))
    _engine(url).prepare_table(plan, PrepMode.DROP_AND_CREATE)
    assert "`code` varchar(384) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL" in \
        _create_table(url, _db(url), "k")
    result = _engine(url).load(plan, _batches([("a", 1), ("A", 1), ("a ", 1)]), commit_rows=100)
    assert result.rows == 3  # distinct in PostgreSQL, distinct here


def test_it_makes_a_unique_index_when_the_key_is_not_primary(mysql_database):
    url = mysql_database()
    plan = _plan(_db(url), "u", [("a", "INT4", False), ("b", "INT4", False)], key=("a", "b"),
                 key_origin="unique-index")
    _engine(url).prepare_table(plan, PrepMode.DROP_AND_CREATE)
    assert "UNIQUE KEY `awsdms_key` (`a`,`b`)" in _create_table(url, _db(url), "u")


def test_it_moves_wide_columns_off_the_row_when_it_would_pass_the_limit(mysql_database):
    url = mysql_database()
    columns = [("id", "INT4", False)] + [(f"c{i}", "WSTRING(16000)", True) for i in range(3)]
    plan = _plan(_db(url), "wide", columns)
    _engine(url).prepare_table(plan, PrepMode.DROP_AND_CREATE)
    ddl = _create_table(url, _db(url), "wide")
    # 3 x 64,002 bytes do not fit; moving two columns off the row is enough.
    assert "`c0` mediumtext" in ddl and "`c1` mediumtext" in ddl and "`c2` varchar(16000)" in ddl
    _engine(url).load(plan, _batches([(1, "x" * 16000, "y", None)]), commit_rows=10)
    assert query(url, "SELECT LENGTH(c0) FROM wide") == [(16000,)]


def test_it_adds_a_deferred_key_once(mysql_database):
    url = mysql_database()
    plan = _plan(_db(url), "d", [("id", "INT4", False)])
    engine = _engine(url)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE, create_key=False)
    assert "PRIMARY KEY" not in _create_table(url, _db(url), "d")
    engine.load(plan, _batches([(1,), (2,)]), commit_rows=10)
    engine.finish_table(plan)
    engine.finish_table(plan)
    assert "PRIMARY KEY (`id`)" in _create_table(url, _db(url), "d")


def test_it_puts_every_table_in_the_endpoint_database_when_asked(mysql_database):
    url = mysql_database()
    engine = _engine(url + "?targetDbType=specific-database")
    plan = _plan("some_source_schema", "t", [("id", "INT4", False)])
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    engine.load(plan, _batches([(7,)]), commit_rows=10)
    assert query(url, "SELECT id FROM t") == [(7,)]


# ---- loads ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", [RowFormat.PYTHON, RowFormat.MYSQL_LOAD_TEXT])
def test_it_loads_every_mysql_type_mysql_to_mysql(mysql_database, fmt):
    source, target = mysql_database(), mysql_database()
    run(source, ZOO_DDL, *ZOO_INSERTS)
    plan = dataclasses.replace(plan_for(source, "zoo"), target_schema=_db(target))
    engine = _engine(target)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    batches = read_all(source, plan, fmt=fmt, batch_rows=2)
    assert {b.format for b in batches} == {fmt}
    result = engine.load(plan, batches, commit_rows=10000)
    assert (result.rows, result.notes) == (3, {"zero_dates": 3})
    back = {r[0]: dict(zip(COLUMNS, r, strict=True)) for b in read_all(target, plan_for(target, "zoo"))
            for r in b.data}
    assert back[1] == EXTREMES
    assert back[2] == {name: (2 if name == "id" else None) for name in COLUMNS}
    assert back[3] == {name: (3 if name == "id" else None) for name in COLUMNS}  # zero dates arrived as NULL
    assert [c.native_type for c in plan_for(target, "zoo").source.columns] == \
        [c.native_type for c in plan.source.columns]


CANONICAL = [
    ("id", "INT4", 1), ("flag", "BOOLEAN", True), ("raw", "BYTES(4)", b"\x00\x01\xff\x00"),
    ("day", "DATE", date(1, 1, 1)),
    ("clock", "TIME(6)", time(23, 59, 59, 123456)), ("at", "DATETIME(6)", datetime(2024, 2, 29, 1, 2, 3, 456789)),
    ("i1", "INT1", -128), ("i2", "INT2", 32767), ("i8", "INT8", -(2**63)), ("u1", "UINT1", 255), ("u2", "UINT2", 65535),
    ("u4", "UINT4", 2**32 - 1), ("u8", "UINT8", 2**64 - 1),
    ("num", "NUMERIC(38,10)", Decimal("-1234567890.0123456789")),
    ("tiny", "NUMERIC(5,2)", Decimal("1E+2")), ("r4", "REAL4", 1.5), ("r8", "REAL8", 1e300),
    ("s", "STRING(10)", "tab\tnl\nbs\\"), ("w", "WSTRING(10)", "\U0001F600\u00e9"), ("blob", "BLOB", b"\\N\n\t"),
    ("clob", "CLOB", "\\N"), ("nclob", "NCLOB", ""),
]


def test_it_loads_canonical_values_of_every_dms_type(mysql_database):
    url = mysql_database()
    plan = _plan(_db(url), "canon", [(n, t, True) for n, t, _ in CANONICAL])
    engine = _engine(url)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    values = tuple(v for _n, _t, v in CANONICAL)
    nulls = (2,) + (None,) * (len(CANONICAL) - 1)
    assert engine.load(plan, _batches([values, nulls]), commit_rows=100).rows == 2
    conn = pymysql.connect(**_pymysql_args(url))
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT * FROM canon ORDER BY id")
            one, two = cursor.fetchall()
    finally:
        conn.close()
    expected = dict((n, v) for n, _t, v in CANONICAL) | {"flag": 1, "clock": _timedelta(23, 59, 59, 123456),
                                                          "tiny": Decimal("100.00")}
    assert dict(zip([n for n, _t, _v in CANONICAL], one, strict=True)) == expected
    assert two == nulls


def _timedelta(h, m, s, us):
    from datetime import timedelta

    return timedelta(hours=h, minutes=m, seconds=s, microseconds=us)


def _pymysql_args(url: str) -> dict:
    info = ConnectionInfo.from_url(url)
    return {"host": info.host, "port": info.port, "user": info.username, "password": info.password,
            "database": info.database, "charset": "utf8mb4"}


@pytest.mark.parametrize("fmt", [RowFormat.PYTHON, RowFormat.MYSQL_LOAD_TEXT])
def test_it_falls_back_to_insert_when_load_data_local_is_refused(mysql_database, fmt):
    from endpoints.engines.mysql import writer

    source, target = mysql_database(), mysql_database()
    run(source, ZOO_DDL, *ZOO_INSERTS)
    plan = dataclasses.replace(plan_for(source, "zoo"), target_schema=_db(target))
    _engine(target).prepare_table(plan, PrepMode.DROP_AND_CREATE)
    # A client without LOAD DATA LOCAL is refused just like a server with local_infile=OFF.
    result = writer.load(ConnectionInfo.from_url(target), plan, read_all(source, plan, fmt=fmt, batch_rows=2),
                         commit_rows=1, client_local_infile=False)
    assert (result.rows, result.notes) == (3, {"zero_dates": 3})
    back = {r[0]: dict(zip(COLUMNS, r, strict=True)) for b in read_all(target, plan_for(target, "zoo"))
            for r in b.data}
    assert back[1] == EXTREMES


def test_it_loads_canonical_values_with_insert_too(mysql_database):
    from endpoints.engines.mysql import writer

    url = mysql_database()
    plan = _plan(_db(url), "canon", [(n, t, True) for n, t, _ in CANONICAL])
    _engine(url).prepare_table(plan, PrepMode.DROP_AND_CREATE)
    values = tuple(v for _n, _t, v in CANONICAL)
    writer.load(ConnectionInfo.from_url(url), plan, _batches([values]), commit_rows=10, client_local_infile=False)
    loaded = query(url, "SELECT * FROM canon")[0]
    expected = dict((n, v) for n, _t, v in CANONICAL) | {"flag": 1, "clock": _timedelta(23, 59, 59, 123456),
                                                          "tiny": Decimal("100.00")}
    assert dict(zip([n for n, _t, _v in CANONICAL], loaded, strict=True)) == expected


def test_it_loads_floats_exactly_mysql_to_mysql(mysql_database):
    source, target = mysql_database(), mysql_database()
    run(source, "CREATE TABLE fl (id int PRIMARY KEY, f float, d double(10,2))",
        "INSERT INTO fl VALUES (1, 16777216, 1.25), (2, 3.14159274, 2.5)")
    plan = dataclasses.replace(plan_for(source, "fl"), target_schema=_db(target))
    engine = _engine(target)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    engine.load(plan, read_all(source, plan, fmt=RowFormat.MYSQL_LOAD_TEXT), commit_rows=100)
    exact = "SELECT id, f + 0e0, d + 0e0 FROM fl ORDER BY id"
    assert query(target, exact) == query(source, exact) == [(1, 16777216.0, 1.25), (2, 3.1415927410125732, 2.5)]


def test_it_prefers_server_built_lines_as_a_target():
    engine = MySQLEngine(ConnectionInfo.from_url("mysql://u@h/x"))
    assert engine.target_formats() == (RowFormat.MYSQL_LOAD_TEXT, RowFormat.PYTHON)


def test_it_commits_about_every_commit_rows_and_rolls_back_a_refused_chunk(mysql_database):
    url = mysql_database()
    plan = _plan(_db(url), "c", [("id", "INT4", False), ("code", "STRING(3)", True)])
    engine = _engine(url)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    rows = [(1, "a"), (2, "b"), (3, "c"), (4, "toolong"), (5, "e")]
    with pytest.raises(EngineError) as caught:
        engine.load(plan, _batches(rows, size=1), commit_rows=2)
    assert caught.value.kind is ErrorKind.DATA
    assert "Data truncated for column 'code' at row 2" in caught.value.message
    assert query(url, "SELECT id FROM c ORDER BY id") == [(1,), (2,)]


def test_it_refuses_duplicate_keys_instead_of_skipping_them(mysql_database):
    url = mysql_database()
    plan = _plan(_db(url), "dup", [("id", "INT4", False)])
    engine = _engine(url)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    with pytest.raises(EngineError) as caught:
        engine.load(plan, _batches([(1,), (1,)]), commit_rows=10)
    assert "Duplicate entry '1'" in caught.value.message
    assert query(url, "SELECT COUNT(*) FROM dup") == [(0,)]


def test_it_adds_up_rows_bytes_and_notes(mysql_database):
    url = mysql_database()
    plan = _plan(_db(url), "n", [("id", "INT4", False)])
    engine = _engine(url)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    batches = _batches([(i,) for i in range(10)], size=4)
    batches[0].notes = {"zero_dates": 2}
    batches[2].notes = {"zero_dates": 1, "lob_truncated": 4}
    result = engine.load(plan, batches, commit_rows=3)
    assert (result.rows, result.nbytes, result.notes) == (10, 20, {"zero_dates": 3, "lob_truncated": 4})


def test_it_never_sends_a_file_the_server_did_not_get_from_us(mysql_database, tmp_path):
    url = mysql_database()
    run(url, "CREATE TABLE leak (line text)")
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2\n")
    conn = GuardedConnection(local_infile=True, **_pymysql_args(url))
    try:
        conn.allowed_infile = b"/nonexistent/our-own-file.tsv"
        with pytest.raises(pymysql.err.OperationalError) as caught, conn.cursor() as cursor:
            cursor.execute("LOAD DATA LOCAL INFILE %s INTO TABLE leak", (str(secret),))
        assert "does not send" in str(caught.value)
        with conn.cursor() as cursor:  # the connection is still usable
            cursor.execute("SELECT COUNT(*) FROM leak")
            assert cursor.fetchone() == (0,)
    finally:
        conn.close()


# ---- control tables ------------------------------------------------------------------------------

def test_it_creates_the_control_tables_with_dms_columns(mysql_database):
    url = mysql_database()
    schema = _db(url)
    _engine(url).ensure_control_tables(schema)
    _engine(url).ensure_control_tables(schema)  # idempotent
    columns = query(url, "SELECT TABLE_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) "
                         "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s GROUP BY TABLE_NAME", (schema,))
    assert dict(columns) == {
        "awsdms_apply_exceptions": "TASK_NAME,TABLE_OWNER,TABLE_NAME,ERROR_TIME,STATEMENT,ERROR",
        "awsdms_status": "SERVER_NAME,TASK_NAME,TASK_STATUS,STATUS_TIME,PENDING_CHANGES,DISK_SWAP_SIZE,"
                         "TASK_MEMORY,SOURCE_CURRENT_POSITION,SOURCE_CURRENT_TIMESTAMP,SOURCE_TAIL_POSITION,"
                         "SOURCE_TAIL_TIMESTAMP,SOURCE_TIMESTAMP_APPLIED",
        "awsdms_suspended_tables": "SERVER_NAME,TASK_NAME,TABLE_OWNER,TABLE_NAME,SUSPEND_REASON,SUSPEND_TIMESTAMP",
        "awsdms_history": "SERVER_NAME,TASK_NAME,TIMESLOT_TYPE,TIMESLOT,TIMESLOT_DURATION,TIMESLOT_LATENCY,"
                          "RECORDS,TIMESLOT_VOLUME",
        "awsdms_txn_state": "TASK_NAME,CHECKPOINT,COMMIT_POSITION,COMMIT_TIME,UPDATED_AT",
    }
    txn = _create_table(url, schema, "awsdms_txn_state")
    assert "`TASK_NAME` varchar(255) NOT NULL" in txn and "PRIMARY KEY (`TASK_NAME`)" in txn
    assert "`CHECKPOINT` text NOT NULL" in txn and "`UPDATED_AT` datetime(6) NOT NULL" in txn


def test_it_defaults_the_control_schema_to_awsdms_control():
    import inspect

    assert inspect.signature(MySQLEngine.ensure_control_tables).parameters["schema"].default == "awsdms_control"

