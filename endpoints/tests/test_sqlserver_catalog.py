"""The SQL Server catalog: golden catalog SQL, and SourceTables from rows shaped as the sys views return them."""

from __future__ import annotations

from decimal import Decimal

from endpoints.engines.sqlserver.catalog import build_tables, column, keys
from endpoints.engines.sqlserver.sqlfiles import sql
from endpoints.engines.types import DmsType, T

COLUMNS_SQL = """-- Columns of user tables and views, with the system type behind any alias type.
-- max_length is in bytes (-1 for (max)); CLR types (hierarchyid, geography, geometry, user CLR types)
-- have no system base row, so their own name is the base.
SELECT
    s.name AS schema_name,
    o.name AS table_name,
    o.type AS object_type,
    c.column_id,
    c.name AS column_name,
    ut.name AS type_name,
    CASE WHEN ut.is_assembly_type = 1 THEN ut.name ELSE bt.name END AS base_type,
    c.max_length,
    c.precision,
    c.scale,
    c.is_nullable,
    c.is_identity,
    c.is_computed,
    cc.definition AS computed_definition,
    dc.definition AS default_definition
FROM sys.objects AS o
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
JOIN sys.columns AS c ON c.object_id = o.object_id
JOIN sys.types AS ut ON ut.user_type_id = c.user_type_id
LEFT JOIN sys.types AS bt ON bt.user_type_id = ut.system_type_id
LEFT JOIN sys.computed_columns AS cc ON cc.object_id = c.object_id AND cc.column_id = c.column_id
LEFT JOIN sys.default_constraints AS dc ON dc.object_id = c.default_object_id
WHERE o.type IN ('U', 'V')
  AND o.is_ms_shipped = 0
  AND s.name NOT IN ('sys', 'INFORMATION_SCHEMA', 'cdc')
ORDER BY s.name, o.name, c.column_id;"""

KEYS_SQL = """-- Primary keys and unique keys (constraints and unique indexes) of user tables, key columns in order.
-- Filtered, disabled and hypothetical indexes cover no whole table, so they are no keys.
SELECT
    s.name AS schema_name,
    o.name AS table_name,
    i.name AS index_name,
    i.is_primary_key,
    ic.key_ordinal,
    c.name AS column_name
FROM sys.indexes AS i
JOIN sys.objects AS o ON o.object_id = i.object_id
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.key_ordinal > 0
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE i.is_unique = 1
  AND i.has_filter = 0
  AND i.is_disabled = 0
  AND i.is_hypothetical = 0
  AND o.type = 'U'
  AND o.is_ms_shipped = 0
ORDER BY s.name, o.name, i.is_primary_key DESC, i.name, ic.key_ordinal;"""

ROW_COUNTS_SQL = """-- Estimated rows per user table: the heap or clustered index partitions (index_id 0 or 1).
SELECT
    s.name AS schema_name,
    o.name AS table_name,
    SUM(p.rows) AS estimated_rows
FROM sys.partitions AS p
JOIN sys.objects AS o ON o.object_id = p.object_id
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
WHERE p.index_id IN (0, 1)
  AND o.type = 'U'
  AND o.is_ms_shipped = 0
GROUP BY s.name, o.name;"""


def test_it_reads_columns_with_exact_types_from_the_sys_views():
    assert sql("columns") == COLUMNS_SQL


def test_it_reads_primary_and_unique_keys_from_the_sys_views():
    assert sql("keys") == KEYS_SQL


def test_it_estimates_rows_from_sys_partitions():
    assert sql("row_counts") == ROW_COUNTS_SQL


def _col(schema, table, column_id, name, type_name, base, max_length, precision=0, scale=0, *, nullable=True,
         identity=False, computed=None, default=None, object_type="U "):
    # Shaped as pyodbc returns sql/columns.sql: bit columns as bool, char(2) object types padded.
    return {"schema_name": schema, "table_name": table, "object_type": object_type, "column_id": column_id,
            "column_name": name, "type_name": type_name, "base_type": base, "max_length": max_length,
            "precision": precision, "scale": scale, "is_nullable": nullable, "is_identity": identity,
            "is_computed": computed is not None, "computed_definition": computed, "default_definition": default}


COLUMN_ROWS = [
    _col("dbo", "orders", 2, "customer", "nvarchar", "nvarchar", 200, nullable=False),
    _col("dbo", "orders", 1, "id", "int", "int", 4, 10, 0, nullable=False, identity=True),
    _col("dbo", "orders", 3, "total", "money", "money", 8, 19, 4, default="((0))"),
    _col("dbo", "orders", 4, "note", "nvarchar", "nvarchar", -1),
    _col("dbo", "orders", 5, "created", "datetime2", "datetime2", 7, 23, 3, nullable=False),
    _col("dbo", "orders", 6, "rv", "timestamp", "timestamp", 8, 0, 0, nullable=False),
    _col("dbo", "orders", 7, "uid", "uniqueidentifier", "uniqueidentifier", 16, default="(newid())"),
    _col("dbo", "orders", 8, "with_tax", "decimal", "decimal", 9, 19, 4, computed="([total]*(1.2))"),
    _col("dbo", "orders", 9, "phone", "Phone", "nvarchar", 40),
    _col("dbo", "orders", 10, "shape", "geography", "geography", -1),
    _col("dbo", "orders", 11, "anything", "sql_variant", "sql_variant", 8016),
    _col("dbo", "orders", 12, "clr", "Money2", "Money2", 20),
    _col("sales", "customers", 1, "email", "varchar", "varchar", 320, nullable=False),
    _col("sales", "customers", 2, "a", "int", "int", 4, 10, 0, nullable=False),
    _col("sales", "customers", 3, "b", "char", "char", 2, nullable=False),
    _col("dbo", "v_orders", 1, "id", "int", "int", 4, 10, 0, nullable=False, object_type="V "),
]

KEY_ROWS = [
    {"schema_name": "sales", "table_name": "customers", "index_name": "ux_ab", "is_primary_key": False,
     "key_ordinal": 2, "column_name": "b"},
    {"schema_name": "dbo", "table_name": "orders", "index_name": "PK__orders__3213E83F", "is_primary_key": True,
     "key_ordinal": 1, "column_name": "id"},
    {"schema_name": "sales", "table_name": "customers", "index_name": "UQ_email", "is_primary_key": False,
     "key_ordinal": 1, "column_name": "email"},
    {"schema_name": "sales", "table_name": "customers", "index_name": "ux_ab", "is_primary_key": False,
     "key_ordinal": 1, "column_name": "a"},
    {"schema_name": "sales", "table_name": "customers", "index_name": "ux_email_again", "is_primary_key": False,
     "key_ordinal": 1, "column_name": "email"},
]

COUNT_ROWS = [{"schema_name": "dbo", "table_name": "orders", "estimated_rows": 1_250_000},
              {"schema_name": "sales", "table_name": "customers", "estimated_rows": None}]


def test_it_builds_tables_from_catalog_rows():
    tables = {t.qualified: t for t in build_tables(COLUMN_ROWS, KEY_ROWS, COUNT_ROWS)}
    assert list(tables) == ["dbo.orders", "dbo.v_orders", "sales.customers"]
    orders = tables["dbo.orders"]
    assert [c.name for c in orders.columns][:3] == ["id", "customer", "total"]
    assert orders.primary_key == ("id",) and orders.estimated_rows == 1_250_000 and orders.kind == "table"
    assert tables["dbo.v_orders"].kind == "view"


def test_it_reports_exact_types_identity_computed_and_defaults():
    orders = {c.name: c for c in build_tables(COLUMN_ROWS, KEY_ROWS, COUNT_ROWS)[0].columns}
    assert orders["id"].identity and not orders["id"].nullable and orders["id"].dms_type == DmsType(T.INT4)
    assert orders["customer"].native_type == "nvarchar(100)"
    assert orders["customer"].dms_type == DmsType(T.WSTRING, length=100)
    assert orders["total"].native_type == "money" and orders["total"].default == "((0))"
    assert orders["total"].dms_type == DmsType(T.NUMERIC, precision=19, scale=4)
    assert orders["note"].dms_type == DmsType(T.NCLOB) and orders["note"].native_type == "nvarchar(max)"
    assert orders["created"].native_type == "datetime2(3)"
    assert orders["created"].dms_type == DmsType(T.DATETIME, scale=3)
    assert orders["rv"].native_type == "timestamp" and orders["rv"].dms_type == DmsType(T.BYTES, length=8)
    assert orders["with_tax"].generated and orders["with_tax"].default == "([total]*(1.2))"
    assert orders["with_tax"].native_type == "decimal(19,4)"


def test_it_maps_alias_types_by_their_base_type():
    phone = column(COLUMN_ROWS[8])
    assert phone.native_type == "nvarchar(20)" and phone.dms_type == DmsType(T.WSTRING, length=20)


def test_it_reports_unsupported_columns_with_the_reason():
    orders = {c.name: c for c in build_tables(COLUMN_ROWS, KEY_ROWS, COUNT_ROWS)[0].columns}
    assert orders["shape"].supported and orders["shape"].dms_type == DmsType(T.CLOB)
    assert not orders["anything"].supported and "sql_variant" in orders["anything"].unsupported
    assert not orders["clr"].supported and orders["clr"].native_type == "Money2"
    assert "CLR" in orders["clr"].unsupported


def test_it_orders_key_columns_and_drops_duplicate_unique_keys():
    customers = keys(KEY_ROWS)[("sales", "customers")]
    assert customers == ((), [("email",), ("a", "b")])
    table = [t for t in build_tables(COLUMN_ROWS, KEY_ROWS, COUNT_ROWS) if t.name == "customers"][0]
    assert table.primary_key == () and table.unique_keys == (("email",), ("a", "b"))
    assert table.best_key == ("email",) and table.estimated_rows == 0


def test_it_limits_tables_to_the_schemas_asked_for():
    assert [t.qualified for t in build_tables(COLUMN_ROWS, KEY_ROWS, COUNT_ROWS, ["sales"])] == ["sales.customers"]


def test_it_accepts_numbers_as_pyodbc_returns_them():
    # sys.columns.precision and scale are tinyint, max_length smallint: plain ints; SUM(rows) is bigint.
    row = dict(COLUMN_ROWS[5], precision=Decimal(0))
    assert column(row).dms_type == DmsType(T.BYTES, length=8)
