"""PostgreSQL as a target: table preparation modes, keys, COPY loads in both formats, control tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal

import pytest

from endpoints.engines.base import RowBatch, RowFormat
from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.errors import EngineError, ErrorKind
from endpoints.engines.plan import PrepMode, identity_plan
from endpoints.engines.types import DmsType, T
from endpoints.tests.postgres_support import engine_for, fetch, run_sql
from endpoints.tests.test_postgres_values import TYPES_SQL


def _table(schema: str = "sales", name: str = "items", engine: str = "mysql") -> SourceTable:
    """A table as another engine would describe it (target types come from the DMS types)."""
    columns = (
        SourceColumn("id", "int", DmsType(T.INT4), nullable=False),
        SourceColumn("label", "varchar(20)", DmsType(T.WSTRING, length=20), nullable=False),
        SourceColumn("price", "decimal(10,2)", DmsType(T.NUMERIC, precision=10, scale=2)),
        SourceColumn("body", "longtext", DmsType(T.NCLOB), nullable=False),
    )
    return SourceTable(schema, name, columns, primary_key=("id",))


def _plan(url: str, table: SourceTable | None = None, source_engine: str = "mysql"):
    engine = engine_for(url)
    return engine, identity_plan(table or _table(), engine, source_engine=source_engine)


def _columns(url: str, schema: str, table: str) -> list[tuple]:
    return fetch(url, "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                      "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position", (schema, table))


def _indexes(url: str, schema: str, table: str) -> list[str]:
    rows = fetch(url, "SELECT regexp_replace(indexdef, ' [a-z_0-9]+ ON ', ' ON ') FROM pg_indexes "
                      "WHERE schemaname = %s AND tablename = %s ORDER BY indexname", (schema, table))
    return [r[0] for r in rows]


def _python(rows: list[tuple], **notes: int) -> RowBatch:
    return RowBatch(RowFormat.PYTHON, len(rows), rows, notes=dict(notes))


@pytest.mark.live
def test_it_creates_schema_table_columns_and_primary_key(pg_database):
    url = pg_database()
    engine, plan = _plan(url)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    assert _columns(url, "sales", "items") == [
        ("id", "integer", "NO"), ("label", "character varying", "NO"), ("price", "numeric", "YES"),
        ("body", "text", "YES"),  # LOB columns are created nullable, as DMS does
    ]
    assert _indexes(url, "sales", "items") == ["CREATE UNIQUE INDEX ON sales.items USING btree (id)"]
    assert fetch(url, "SELECT contype FROM pg_constraint WHERE conrelid = 'sales.items'::regclass") == [("p",)]


@pytest.mark.live
def test_it_creates_a_unique_index_when_the_key_came_from_one(pg_database):
    url = pg_database()
    table = replace(_table(), primary_key=(), unique_keys=(("label",),))
    engine, plan = _plan(url, table)
    assert plan.key_origin == "unique-index"
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    assert _indexes(url, "sales", "items") == ["CREATE UNIQUE INDEX ON sales.items USING btree (label)"]
    assert fetch(url, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'sales.items'::regclass") == [(0,)]


@pytest.mark.live
def test_it_defers_the_key_until_finish_table(pg_database):
    url = pg_database()
    engine, plan = _plan(url)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE, create_key=False)
    assert _indexes(url, "sales", "items") == []
    engine.finish_table(plan)
    assert _indexes(url, "sales", "items") == ["CREATE UNIQUE INDEX ON sales.items USING btree (id)"]
    engine.finish_table(plan)  # nothing more to do
    assert _indexes(url, "sales", "items") == ["CREATE UNIQUE INDEX ON sales.items USING btree (id)"]


@pytest.mark.live
def test_it_reports_duplicates_found_when_adding_a_deferred_key(pg_database):
    url = pg_database()
    engine, plan = _plan(url)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE, create_key=False)
    engine.load(plan, [_python([(1, "a", None, "x"), (1, "b", None, "y")])], commit_rows=100)
    with pytest.raises(EngineError) as caught:
        engine.finish_table(plan)
    assert caught.value.kind is ErrorKind.DATA
    assert "Cannot add the key (id) to target table sales.items" in caught.value.message


@pytest.fixture
def existing(pg_database):
    url = pg_database()
    run_sql(url, "CREATE SCHEMA sales",
            "CREATE TABLE sales.items (id integer, label text, price numeric, body text, extra integer)",
            "INSERT INTO sales.items VALUES (7, 'old', 1, 'x', 1)")
    return url


@pytest.mark.live
def test_it_drops_and_recreates_an_existing_table(existing):
    engine, plan = _plan(existing)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    assert [c[0] for c in _columns(existing, "sales", "items")] == ["id", "label", "price", "body"]
    assert fetch(existing, "SELECT count(*) FROM sales.items") == [(0,)]


@pytest.mark.live
def test_it_truncates_an_existing_table_and_keeps_its_definition(existing):
    engine, plan = _plan(existing)
    engine.prepare_table(plan, PrepMode.TRUNCATE_BEFORE_LOAD)
    assert [c[0] for c in _columns(existing, "sales", "items")] == ["id", "label", "price", "body", "extra"]
    assert fetch(existing, "SELECT count(*) FROM sales.items") == [(0,)]


@pytest.mark.live
def test_it_leaves_an_existing_table_alone_with_do_nothing(existing):
    engine, plan = _plan(existing)
    engine.prepare_table(plan, PrepMode.DO_NOTHING)
    assert fetch(existing, "SELECT id, label FROM sales.items") == [(7, "old")]
    assert _indexes(existing, "sales", "items") == []


@pytest.mark.live
@pytest.mark.parametrize("mode", [PrepMode.TRUNCATE_BEFORE_LOAD, PrepMode.DO_NOTHING])
def test_it_creates_a_missing_table_in_every_mode(pg_database, mode):
    url = pg_database()
    engine, plan = _plan(url)
    engine.prepare_table(plan, mode)
    assert [c[0] for c in _columns(url, "sales", "items")] == ["id", "label", "price", "body"]


@pytest.mark.live
def test_it_refuses_to_drop_a_table_other_objects_depend_on(existing):
    run_sql(existing, "CREATE VIEW sales.item_view AS SELECT id FROM sales.items")
    engine, plan = _plan(existing)
    with pytest.raises(EngineError) as caught:
        engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    assert caught.value.kind is ErrorKind.SCHEMA
    assert "Cannot drop target table sales.items: other objects depend on it" in caught.value.message
    assert "view sales.item_view depends on table sales.items" in caught.value.message


@pytest.mark.live
def test_it_refuses_a_target_type_that_is_not_a_type(pg_database):
    url = pg_database()
    engine, plan = _plan(url)
    bad = replace(plan, columns=(replace(plan.columns[0], target_type="integer); DROP TABLE x; --"),
                                 *plan.columns[1:]))
    with pytest.raises(EngineError) as caught:
        engine.prepare_table(bad, PrepMode.DROP_AND_CREATE)
    assert caught.value.kind is ErrorKind.SCHEMA


@pytest.mark.live
def test_it_loads_canonical_python_values_of_every_dms_type(pg_database):
    url = pg_database()
    columns = tuple(SourceColumn(name, "x", dms, nullable=True) for name, dms in (
        ("id", DmsType(T.INT4)), ("flag", DmsType(T.BOOLEAN)), ("tiny", DmsType(T.INT1)),
        ("big", DmsType(T.UINT8)), ("amount", DmsType(T.NUMERIC, precision=20, scale=4)),
        ("ratio", DmsType(T.REAL8)), ("name", DmsType(T.WSTRING, length=30)), ("doc", DmsType(T.NCLOB)),
        ("raw", DmsType(T.BLOB)), ("day", DmsType(T.DATE)), ("at", DmsType(T.TIME, scale=6)),
        ("stamp", DmsType(T.DATETIME, scale=6))))
    table = SourceTable("public", "canon", columns, primary_key=("id",))
    engine, plan = _plan(url, table)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    row = (1, True, -128, 2**63 - 1, Decimal("1234567890123456.1234"), 0.1, "né 😀", "line\nwith\ttab\\",
           b"\x00\x01\\\n", date(1850, 6, 15), time(23, 59, 59, 999999), datetime(2024, 2, 29, 12, 0, 0, 1))
    result = engine.load(plan, [_python([row, (2,) + (None,) * 11])], commit_rows=100)
    assert result.rows == 2
    assert fetch(url, "SELECT * FROM canon ORDER BY id") == [row, (2,) + (None,) * 11]


@pytest.mark.live
def test_it_refuses_unsigned_values_above_a_bigint_target_with_a_data_error(pg_database):
    url = pg_database()
    table = SourceTable("public", "counters", (SourceColumn("id", "bigint unsigned", DmsType(T.UINT8),
                                                            nullable=False),), primary_key=("id",))
    engine, plan = _plan(url, table)
    plan = replace(plan, columns=(replace(plan.columns[0], target_type="bigint"),))  # DMS's own mapping
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    with pytest.raises(EngineError) as caught:
        engine.load(plan, [_python([(2**63 - 1,), (2**64 - 1,)])], commit_rows=100)
    assert caught.value.kind is ErrorKind.DATA
    assert "column id holds 18446744073709551615, above bigint's maximum" in caught.value.message
    assert "numeric(20,0)" in caught.value.message
    assert fetch(url, "SELECT count(*) FROM counters") == [(0,)]


@pytest.mark.live
def test_it_loads_unsigned_values_into_a_numeric_20_column(pg_database):
    url = pg_database()
    table = SourceTable("public", "counters", (SourceColumn("id", "bigint unsigned", DmsType(T.UINT8),
                                                            nullable=False),), primary_key=("id",))
    engine, plan = _plan(url, table)
    assert plan.columns[0].target_type == "numeric(20,0)"  # the default, unlike DMS's bigint
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    engine.load(plan, [_python([(2**64 - 1,), (0,)])], commit_rows=100)
    assert fetch(url, "SELECT id::text FROM counters ORDER BY id") == [("0",), ("18446744073709551615",)]


@pytest.mark.live
def test_a_failed_load_commits_none_of_its_rows(pg_database):
    url = pg_database()
    engine, plan = _plan(url)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    batches = [_python([(i, f"r{i}", None, "b") for i in range(n, n + 3)]) for n in (1, 4)]
    batches.append(_python([(1, "duplicate", None, "b")]))
    with pytest.raises(EngineError) as caught:
        engine.load(plan, batches, commit_rows=3)
    assert caught.value.kind is ErrorKind.DATA
    assert "loading target table sales.items" in caught.value.message
    assert fetch(url, "SELECT count(*) FROM sales.items") == [(0,)]  # a reload starts from an empty table


@pytest.mark.live
def test_it_names_the_copy_line_of_a_refused_value(pg_database):
    url = pg_database()
    engine, plan = _plan(url)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    batch = RowBatch(RowFormat.PG_COPY_TEXT, 2, b"1\ta\t\\N\tb\nx\tb\t\\N\tc\n", nbytes=20)
    with pytest.raises(EngineError) as caught:
        engine.load(plan, [batch], commit_rows=100)
    assert caught.value.kind is ErrorKind.DATA
    assert 'line 2, column id: "x"' in caught.value.message


@pytest.mark.live
def test_it_sums_rows_bytes_and_notes_of_copy_text_batches(pg_database):
    url = pg_database()
    engine, plan = _plan(url)
    engine.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    first = RowBatch(RowFormat.PG_COPY_TEXT, 2, b"1\ta\t1.50\tx\n2\tb\t\\N\ty\n", nbytes=24,
                     notes={"lob_truncated": 1})
    second = RowBatch(RowFormat.PG_COPY_TEXT, 1, b"3\tc\t2\tz\n", nbytes=9, notes={"lob_truncated": 2})
    result = engine.load(plan, [first, second], commit_rows=1)
    assert (result.rows, result.nbytes, result.notes) == (3, 33, {"lob_truncated": 3})
    assert fetch(url, "SELECT id, label, price, body FROM sales.items ORDER BY id") == [
        (1, "a", Decimal("1.50"), "x"), (2, "b", None, "y"), (3, "c", Decimal("2.00"), "z")]


def _as_text(url: str, columns: list[str]) -> list[tuple]:
    select = ", ".join(f'"{c}"::text' for c in columns)
    return fetch(url, f"SELECT {select} FROM every_type ORDER BY id")


@pytest.mark.live
@pytest.mark.parametrize("fmt", [RowFormat.PG_COPY_TEXT, RowFormat.PYTHON])
def test_it_copies_every_type_postgresql_to_postgresql(pg_database, fmt):
    source_url, target_url = pg_database(), pg_database()
    run_sql(source_url, *TYPES_SQL)
    source, target = engine_for(source_url), engine_for(target_url)
    [table] = source.list_tables()
    plan = identity_plan(table, target, source_engine="postgres")
    assert plan.passthrough
    target.prepare_table(plan, PrepMode.DROP_AND_CREATE)
    result = target.load(plan, source.read(plan, None, fmt=fmt, batch_rows=1), commit_rows=1)
    assert result.rows == 2
    types = dict(fetch(target_url, "SELECT column_name, data_type FROM information_schema.columns "
                                   "WHERE table_name = 'every_type'"))
    assert (types["jb"], types["ints"], types["tstz"], types["e"], types["dom"], types["comp"]) == (
        "jsonb", "ARRAY", "timestamp with time zone", "character varying", "character varying", "text")
    names = [c.name for c in plan.columns if c.name != "ttz"]
    assert _as_text(target_url, names) == _as_text(source_url, names)
    # timetz: the same instant; COPY text also keeps the offset, PYTHON values are UTC
    ttz = fetch(target_url, "SELECT ttz::text FROM every_type WHERE id = 1")[0][0]
    assert ttz == ("10:00:00+02" if fmt is RowFormat.PG_COPY_TEXT else "08:00:00+00")


@pytest.mark.live
def test_it_creates_the_control_tables(pg_database):
    url = pg_database()
    engine = engine_for(url)
    engine.ensure_control_tables("dms_control")
    engine.ensure_control_tables("dms_control")  # idempotent
    tables = fetch(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dms_control' "
                        "ORDER BY table_name")
    assert [t[0] for t in tables] == ["awsdms_apply_exceptions", "awsdms_history", "awsdms_status",
                                      "awsdms_suspended_tables", "awsdms_table_state", "awsdms_txn_state"]
    assert _columns(url, "dms_control", "awsdms_apply_exceptions") == [
        ("task_name", "character varying", "NO"), ("table_owner", "character varying", "NO"),
        ("table_name", "character varying", "NO"), ("error_time", "timestamp without time zone", "NO"),
        ("statement", "text", "NO"), ("error", "text", "NO")]
    assert _columns(url, "dms_control", "awsdms_txn_state") == [
        ("task_name", "character varying", "NO"), ("checkpoint", "text", "NO"), ("commit_position", "text", "YES"),
        ("commit_time", "timestamp without time zone", "YES"), ("updated_at", "timestamp without time zone", "NO")]
    assert [c[0] for c in _columns(url, "dms_control", "awsdms_status")] == [
        "server_name", "task_name", "task_status", "status_time", "pending_changes", "disk_swap_size",
        "task_memory", "source_current_position", "source_current_timestamp", "source_tail_position",
        "source_tail_timestamp", "source_timestamp_applied"]
    assert [c[0] for c in _columns(url, "dms_control", "awsdms_suspended_tables")] == [
        "server_name", "task_name", "table_owner", "table_name", "suspend_reason", "suspend_timestamp"]
    assert [c[0] for c in _columns(url, "dms_control", "awsdms_history")] == [
        "server_name", "task_name", "timeslot_type", "timeslot", "timeslot_duration", "timeslot_latency",
        "records", "timeslot_volume"]
    assert _indexes(url, "dms_control", "awsdms_txn_state") == [
        "CREATE UNIQUE INDEX ON dms_control.awsdms_txn_state USING btree (task_name)"]
    # DMS-style unquoted SQL works against the lower-case columns
    run_sql(url, "INSERT INTO dms_control.awsdms_apply_exceptions (TASK_NAME, TABLE_OWNER, TABLE_NAME, "
                 "ERROR_TIME, STATEMENT, ERROR) VALUES ('t', 'public', 'x', now(), 'INSERT ...', 'boom')")


@pytest.mark.live
def test_it_creates_control_tables_in_public_by_default(pg_database):
    url = pg_database()
    engine_for(url).ensure_control_tables("")
    assert fetch(url, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
                      "AND table_name LIKE 'awsdms%'") == [(6,)]


def test_the_commit_position_shown_is_the_checkpoints_position_or_start_within_the_column():
    from endpoints.engines.checkpoints import commit_position

    assert commit_position('{"v": 1, "phase": "cdc", "start": "0/10", "position": "0/2A"}') == "0/2A"
    assert commit_position('{"v": 1, "phase": "full-load", "start": "0/10", "position": null}') == "0/10"
    assert commit_position("not json") is None and commit_position("[1]") is None
    assert commit_position('{"position": "mysql-bin.000001:4"}', max_length=8) is None
