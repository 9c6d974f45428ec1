"""Target DDL in T-SQL: schemas, tables from plans (per PrepMode), deferred keys, control tables.

As DMS does, an auto-created table gets its columns, NOT NULL (never on LOB columns) and
the plan's key (primary key, or a unique constraint when the key came from a unique
index); no secondary indexes, defaults or IDENTITY. Every statement is idempotent, so a
task that restarts after a crash can run them again.
"""

from __future__ import annotations

from ..plan import ColumnPlan, PrepMode, TablePlan
from .sqlfiles import sql
from .sqltext import column_list, literal, qualified, quote

CONTROL_TABLES = ("awsdms_apply_exceptions", "awsdms_status", "awsdms_suspended_tables", "awsdms_history",
                  "awsdms_txn_state", "awsdms_table_state")
DEFAULT_CONTROL_SCHEMA = "dbo"  # DMS's default control schema on SQL Server


def create_schema(schema: str) -> str:
    # CREATE SCHEMA must be alone in its batch, hence the EXEC.
    return f"IF SCHEMA_ID({literal(schema)}) IS NULL EXEC({literal('CREATE SCHEMA ' + quote(schema))});"


def object_id(schema: str, table: str) -> str:
    return f"OBJECT_ID({literal(qualified(schema, table))}, N'U')"


def column_definition(column: ColumnPlan, key: tuple[str, ...]) -> str:
    nullable = column.name not in key and (column.nullable or column.dms_type.is_lob)
    return f"{quote(column.name)} {column.target_type} {'NULL' if nullable else 'NOT NULL'}"


def key_clause(plan: TablePlan) -> str:
    kind = "PRIMARY KEY" if plan.key_origin == "primary-key" else "UNIQUE"
    return f"{kind} ({column_list(plan.key)})"


def create_table(plan: TablePlan, *, create_key: bool = True) -> str:
    lines = [column_definition(c, plan.key) for c in plan.columns]
    if create_key and plan.key:
        lines.append(key_clause(plan))
    body = ",\n    ".join(lines)
    return f"CREATE TABLE {qualified(plan.target_schema, plan.target_table)} (\n    {body}\n);"


def prepare_statements(plan: TablePlan, mode: PrepMode, *, create_key: bool = True) -> list[str]:
    """The batches preparing the target table as `mode` says; a missing table is always created."""
    schema, table = plan.target_schema, plan.target_table
    exists = object_id(schema, table)
    create = create_table(plan, create_key=create_key)
    statements = [create_schema(schema)]
    if mode is PrepMode.DROP_AND_CREATE:
        statements += [f"IF {exists} IS NOT NULL DROP TABLE {qualified(schema, table)};", create]
    elif mode is PrepMode.TRUNCATE_BEFORE_LOAD:
        statements += [f"IF {exists} IS NOT NULL TRUNCATE TABLE {qualified(schema, table)};",
                       f"IF {exists} IS NULL\n{create}"]
    else:
        statements.append(f"IF {exists} IS NULL\n{create}")
    return statements


def add_key_statement(plan: TablePlan) -> str | None:
    """CreatePkAfterFullLoad: the key added after the load, unless the table has one already."""
    if not plan.key:
        return None
    flag = "is_primary_key" if plan.key_origin == "primary-key" else "is_unique_constraint"
    name = qualified(plan.target_schema, plan.target_table)
    exists = object_id(plan.target_schema, plan.target_table)
    guard = f"IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = {exists} AND {flag} = 1)"  # noqa: S608
    return f"{guard}\nALTER TABLE {name} ADD {key_clause(plan)};"


def control_table_statements(schema: str = DEFAULT_CONTROL_SCHEMA, filegroup: str | None = None) -> list[str]:
    """The control schema and every control table, each created only when missing (on `filegroup`:
    DMS's ControlTablesFileGroup)."""
    statements = [create_schema(schema)]
    for table in CONTROL_TABLES:
        create = sql(f"control_{table}").format(table=qualified(schema, table))
        if filegroup:
            create = create.removesuffix(";") + f" ON {quote(filegroup)};"
        statements.append(f"IF {object_id(schema, table)} IS NULL\n{create}")
    return statements
