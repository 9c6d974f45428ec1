"""Row-level T-SQL for a target table: bulk INSERT, MERGE upsert, UPDATE and DELETE by key, IDENTITY_INSERT,
and the checkpoint and apply-exception statements on the control tables.

Parameters are typed on the server side (CAST(? AS <target type>)) wherever SQL Server
would otherwise guess from the bound value: a NULL bound as varchar cannot go into a
varbinary column, and a key compared with an untyped parameter may scan. CLR target
types (geography, geometry, hierarchyid) take their text through ::Parse.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..plan import ColumnPlan, TablePlan
from .ddl import DEFAULT_CONTROL_SCHEMA
from .sqltext import column_list, literal, placeholders, qualified, quote

# SQL Server takes at most 2100 parameters per statement and 1000 rows per VALUES list.
MAX_PARAMETERS = 2100
MAX_VALUES_ROWS = 1000
_CLR_TYPES = {"geography", "geometry", "hierarchyid"}


def parameter(column: ColumnPlan) -> str:
    """A typed parameter for one target column."""
    base = column.target_type.split("(", 1)[0].strip().lower()
    if base in _CLR_TYPES:
        return f"{base}::Parse(?)"
    return f"CAST(? AS {column.target_type})"


def _target(plan: TablePlan) -> str:
    return qualified(plan.target_schema, plan.target_table)


def _columns(plan: TablePlan, names: Sequence[str] | None) -> list[ColumnPlan]:
    by_name = {c.name: c for c in plan.columns}
    return [by_name[n] for n in names] if names is not None else list(plan.columns)


# ---- bulk load -----------------------------------------------------------------------------------

def rows_per_insert(columns: int) -> int:
    """How many rows one multi-row INSERT may carry (drivers without parameter arrays)."""
    return max(1, min(MAX_VALUES_ROWS, (MAX_PARAMETERS - 1) // max(1, columns)))


def insert_statement(plan: TablePlan, rows: int = 1) -> str:
    """INSERT with `rows` VALUES groups; with rows=1 it is the statement for parameter arrays."""
    group = "(" + ", ".join(_insert_parameter(c) for c in plan.columns) + ")"
    names = column_list(c.name for c in plan.columns)
    return f"INSERT INTO {_target(plan)} ({names}) VALUES " + ", ".join([group] * rows) + ";"  # noqa: S608


def _insert_parameter(column: ColumnPlan) -> str:
    # Plain markers let the driver describe them from the target columns (parameter arrays need it).
    return parameter(column) if column.target_type.split("(", 1)[0].lower() in _CLR_TYPES else "?"


def identity_insert(plan: TablePlan, on: bool) -> str:
    return f"SET IDENTITY_INSERT {_target(plan)} {'ON' if on else 'OFF'};"


# ---- apply ---------------------------------------------------------------------------------------

def upsert_statement(plan: TablePlan, names: Sequence[str] | None = None, *, fixed: Collection[str] = ()) -> str:
    """MERGE one row keyed by the plan's key: update it when the key exists, insert it otherwise.
    `names` limits the columns (key included) when some values are UNCHANGED; parameters follow
    the order of `names` (default: every target column). `fixed` columns (the target's identity
    columns, which no UPDATE may set) are inserted but never updated."""
    columns = _columns(plan, names)
    missing = [k for k in plan.key if k not in {c.name for c in columns}]
    if not plan.key or missing:
        raise ValueError(f"an upsert into {plan.target_schema}.{plan.target_table} needs every key column "
                         f"(missing: {', '.join(missing) or 'the table has no key'})")
    source = ", ".join(f"{parameter(c)} AS {quote(c.name)}" for c in columns)
    match = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in plan.key)
    updates = [c for c in columns if c.name not in plan.key and c.name not in fixed]
    text = (f"MERGE INTO {_target(plan)} WITH (HOLDLOCK) AS t\n"
            f"USING (SELECT {source}) AS s\n"
            f"ON {match}\n")
    if updates:
        text += "WHEN MATCHED THEN UPDATE SET " + ", ".join(f"{quote(c.name)} = s.{quote(c.name)}"
                                                            for c in updates) + "\n"
    names_sql = column_list(c.name for c in columns)
    values = ", ".join(f"s.{quote(c.name)}" for c in columns)
    return text + f"WHEN NOT MATCHED THEN INSERT ({names_sql}) VALUES ({values});"  # noqa: S608 - quoted


def _where_key(plan: TablePlan) -> str:
    by_name = {c.name: c for c in plan.columns}
    return " AND ".join(f"{quote(k)} = {parameter(by_name[k])}" for k in plan.key)


def update_statement(plan: TablePlan, names: Sequence[str]) -> str:
    """UPDATE the row found by its (old) key: parameters are the values of `names`, then the key."""
    sets = ", ".join(f"{quote(c.name)} = {parameter(c)}" for c in _columns(plan, names))
    return f"UPDATE {_target(plan)} SET {sets} WHERE {_where_key(plan)};"  # noqa: S608 - quoted


def delete_statement(plan: TablePlan) -> str:
    """DELETE by key; deleting a row that is not there does nothing, so replays are harmless."""
    return f"DELETE FROM {_target(plan)} WHERE {_where_key(plan)};"  # noqa: S608 - quoted


def keyless_delete_statement(plan: TablePlan) -> str:
    """A table without a key: delete one row equal in every column (NULL equal to NULL). Each column
    takes its value twice: once to compare, once to test for NULL."""
    terms = [f"({quote(c.name)} = {parameter(c)} OR ({quote(c.name)} IS NULL AND ? IS NULL))" for c in plan.columns]
    return f"DELETE TOP (1) FROM {_target(plan)} WHERE " + " AND ".join(terms) + ";"


def _where_row(plan: TablePlan) -> str:
    # A table without a key: the row equal in every column, NULL equal to NULL; each column's value
    # is bound twice (compare, test for NULL).
    return " AND ".join(f"({quote(c.name)} = {parameter(c)} OR ({quote(c.name)} IS NULL AND ? IS NULL))"
                        for c in plan.columns)


def keyless_update_statement(plan: TablePlan, names: Sequence[str]) -> str:
    """A table without a key: update one row equal in every column to the old row. Parameters: the values
    of `names`, then each old value twice."""
    sets = ", ".join(f"{quote(c.name)} = {parameter(c)}" for c in _columns(plan, names))
    return f"UPDATE TOP (1) {_target(plan)} SET {sets} WHERE {_where_row(plan)};"  # noqa: S608 - quoted


def truncate_statement(plan: TablePlan) -> str:
    return f"TRUNCATE TABLE {_target(plan)};"


def add_column_statement(plan: TablePlan, column: ColumnPlan) -> str:
    """Source DDL propagated: the column is added when missing (NULL: existing rows have no value)."""
    exists = f"COL_LENGTH({literal(_target(plan))}, {literal(column.name)})"
    return f"IF {exists} IS NULL ALTER TABLE {_target(plan)} ADD {quote(column.name)} {column.target_type} NULL;"


def drop_column_statement(plan: TablePlan, name: str) -> str:
    exists = f"COL_LENGTH({literal(_target(plan))}, {literal(name)})"
    return f"IF {exists} IS NOT NULL ALTER TABLE {_target(plan)} DROP COLUMN {quote(name)};"


# ---- several row statements in one round trip -------------------------------------------------------

ROWS_VARIABLE = "@dms_rows"


def batch(statements: Sequence[str], *, counted: bool = False) -> str:
    """One batch running `statements` in order. Counted: it ends with one result, the rows all of them
    affected (each statement's @@ROWCOUNT added up), so a run of row changes is one round trip that still
    says how many rows it found. NOCOUNT keeps per-statement counts out of the results."""
    lines = ["SET NOCOUNT ON;"]
    if counted:
        lines.append(f"DECLARE {ROWS_VARIABLE} int = 0;")
    for statement in statements:
        lines.append(statement)
        if counted:
            lines.append(f"SET {ROWS_VARIABLE} += @@ROWCOUNT;")
    if counted:
        lines.append(f"SELECT {ROWS_VARIABLE} AS [rows];")
    return "\n".join(lines)


def statements_per_batch(parameters_each: int, limit: int) -> int:
    """How many copies of a statement taking `parameters_each` parameters fit one batch (at most `limit`)."""
    return max(1, min(limit, (MAX_PARAMETERS - 1) // max(1, parameters_each)))


# ---- control tables ------------------------------------------------------------------------------

def checkpoint_upsert(schema: str = DEFAULT_CONTROL_SCHEMA) -> str:
    """Write the task's checkpoint; parameters: task name, checkpoint text, commit position, commit time
    (NULL keeps the last one: state-only saves carry none). Runs in the target transaction that applies
    the changes it covers."""
    table = qualified(schema, "awsdms_txn_state")
    return (f"MERGE INTO {table} WITH (HOLDLOCK) AS t\n"  # noqa: S608 - quoted
            "USING (SELECT CAST(? AS varchar(255)) AS [TASK_NAME], CAST(? AS nvarchar(max)) AS [CHECKPOINT], "
            "CAST(? AS varchar(64)) AS [COMMIT_POSITION], CAST(? AS datetime2(6)) AS [COMMIT_TIME]) AS s\n"
            "ON t.[TASK_NAME] = s.[TASK_NAME]\n"
            "WHEN MATCHED THEN UPDATE SET [CHECKPOINT] = s.[CHECKPOINT], [COMMIT_POSITION] = s.[COMMIT_POSITION], "
            "[COMMIT_TIME] = COALESCE(s.[COMMIT_TIME], t.[COMMIT_TIME]), [UPDATED_AT] = SYSUTCDATETIME()\n"
            "WHEN NOT MATCHED THEN INSERT ([TASK_NAME], [CHECKPOINT], [COMMIT_POSITION], [COMMIT_TIME], [UPDATED_AT]) "
            "VALUES (s.[TASK_NAME], s.[CHECKPOINT], s.[COMMIT_POSITION], s.[COMMIT_TIME], SYSUTCDATETIME());")


def checkpoint_select(schema: str = DEFAULT_CONTROL_SCHEMA) -> str:
    table = qualified(schema, "awsdms_txn_state")
    return f"SELECT [CHECKPOINT], [COMMIT_POSITION], [COMMIT_TIME] FROM {table} WHERE [TASK_NAME] = ?;"  # noqa: S608


def apply_exception_insert(schema: str = DEFAULT_CONTROL_SCHEMA) -> str:
    """Parameters: task name, table owner, table name, statement, error."""
    table = qualified(schema, "awsdms_apply_exceptions")
    return (f"INSERT INTO {table} ([TASK_NAME], [TABLE_OWNER], [TABLE_NAME], [ERROR_TIME], [STATEMENT], [ERROR]) "  # noqa: S608
            f"VALUES ({placeholders(3)}, SYSUTCDATETIME(), {placeholders(2)});")


def table_state_upsert(schema: str = DEFAULT_CONTROL_SCHEMA) -> str:
    """Write one table's sync state; parameters: task name, table owner, table name, state, snapshot position,
    applied position. Runs in the target transaction that applies the changes it covers."""
    table = qualified(schema, "awsdms_table_state")
    return (f"MERGE INTO {table} WITH (HOLDLOCK) AS t\n"  # noqa: S608 - quoted
            "USING (SELECT CAST(? AS varchar(255)) AS [TASK_NAME], CAST(? AS nvarchar(128)) AS [TABLE_OWNER], "
            "CAST(? AS nvarchar(128)) AS [TABLE_NAME], CAST(? AS varchar(32)) AS [STATE], "
            "CAST(? AS nvarchar(max)) AS [SNAPSHOT_POSITION], CAST(? AS nvarchar(max)) AS [APPLIED_POSITION]) AS s\n"
            "ON t.[TASK_NAME] = s.[TASK_NAME] AND t.[TABLE_OWNER] = s.[TABLE_OWNER] "
            "AND t.[TABLE_NAME] = s.[TABLE_NAME]\n"
            "WHEN MATCHED THEN UPDATE SET [STATE] = s.[STATE], [SNAPSHOT_POSITION] = s.[SNAPSHOT_POSITION], "
            "[APPLIED_POSITION] = s.[APPLIED_POSITION], [UPDATED_AT] = SYSUTCDATETIME()\n"
            "WHEN NOT MATCHED THEN INSERT ([TASK_NAME], [TABLE_OWNER], [TABLE_NAME], [STATE], [SNAPSHOT_POSITION], "
            "[APPLIED_POSITION], [UPDATED_AT]) VALUES (s.[TASK_NAME], s.[TABLE_OWNER], s.[TABLE_NAME], s.[STATE], "
            "s.[SNAPSHOT_POSITION], s.[APPLIED_POSITION], SYSUTCDATETIME());")


def table_state_select(schema: str = DEFAULT_CONTROL_SCHEMA) -> str:
    table = qualified(schema, "awsdms_table_state")
    return ("SELECT [TABLE_OWNER], [TABLE_NAME], [STATE], [SNAPSHOT_POSITION], [APPLIED_POSITION] "  # noqa: S608
            f"FROM {table} WHERE [TASK_NAME] = ?;")
