"""Target tables: create, drop, truncate as the prep mode says; the key now or after the load.

Tables are created as DMS creates them: columns with their planned types, NOT NULL as
planned except LOB columns (always nullable), and the primary key (or a unique index
when the key came from one) - no defaults, identities, secondary indexes or foreign keys.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from ..conninfo import ConnectionInfo
from ..errors import EngineError, ErrorKind
from ..plan import ColumnPlan, PrepMode, TablePlan
from .connection import connect, translate_error

# Marks a table created without its key (CreatePkAfterFullLoad) until finish_table adds it;
# kept in the catalog so any worker can finish the table.
DEFERRED_KEY_COMMENT = "awsdms: key deferred until the full load completes"

# Native types we write into DDL come from our type tables or from a PostgreSQL source's
# format_type(); anything else (a typo in a rule, an injection attempt) is refused.
_TYPE_TEXT = re.compile(r'^[A-Za-z"][A-Za-z0-9 _"]*(\(\s*\d+\s*(,\s*-?\d+\s*)?\))?[A-Za-z0-9 _"]*(\[\])*$')

DDL_TIMEOUT = 60.0


def prepare_table(conninfo: ConnectionInfo, plan: TablePlan, mode: PrepMode, *, create_key: bool) -> None:
    timeout = float(conninfo.attr("executeTimeout") or DDL_TIMEOUT)
    name = f"{plan.target_schema}.{plan.target_table}"
    try:
        with connect(conninfo, timeout=30, statement_timeout=timeout) as conn, conn.transaction():
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(plan.target_schema)))
            exists = _exists(conn, plan)
            if exists and mode is PrepMode.DROP_AND_CREATE:
                conn.execute(sql.SQL("DROP TABLE {}").format(_table(plan)))
                exists = False
            if exists and mode is PrepMode.TRUNCATE_BEFORE_LOAD:
                conn.execute(sql.SQL("TRUNCATE TABLE {}").format(_table(plan)))
            if not exists:
                _create(conn, plan, create_key)
    except psycopg.errors.DependentObjectsStillExist as exc:
        raise EngineError(f"Cannot drop target table {name}: other objects depend on it ({_detail(exc)}). Drop "
                          "them first, or use the TRUNCATE_BEFORE_LOAD or DO_NOTHING prep mode.",
                          kind=ErrorKind.SCHEMA) from None
    except psycopg.errors.FeatureNotSupported as exc:
        raise EngineError(f"Cannot truncate target table {name}: {_detail(exc)}. Remove the foreign keys that "
                          "reference it, or use the DO_NOTHING prep mode.", kind=ErrorKind.SCHEMA) from None
    except psycopg.Error as exc:
        raise translate_error(exc, conninfo, doing=f"preparing target table {name}") from None


def finish_table(conninfo: ConnectionInfo, plan: TablePlan) -> None:
    """Add the key of a table created with create_key=False; nothing for any other table."""
    name = f"{plan.target_schema}.{plan.target_table}"
    try:
        with connect(conninfo, timeout=30) as conn, conn.transaction():
            comment = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')",
                                   (_table(plan).as_string(conn),)).fetchone()[0]
            if comment != DEFERRED_KEY_COMMENT:
                return
            conn.execute(_key_statement(plan))
            conn.execute(sql.SQL("COMMENT ON TABLE {} IS NULL").format(_table(plan)))
    except psycopg.errors.UniqueViolation as exc:
        raise EngineError(f"Cannot add the key ({', '.join(plan.key)}) to target table {name}: the loaded rows "
                          f"hold duplicates ({_detail(exc)}). Find them with GROUP BY on the key columns.",
                          kind=ErrorKind.DATA) from None
    except psycopg.Error as exc:
        raise translate_error(exc, conninfo, doing=f"adding the key of target table {name}") from None


def _detail(exc: psycopg.Error) -> str:
    return exc.diag.message_detail or exc.diag.message_primary or str(exc)


def _table(plan: TablePlan) -> sql.Identifier:
    return sql.Identifier(plan.target_schema, plan.target_table)


def _exists(conn: psycopg.Connection, plan: TablePlan) -> bool:
    row = conn.execute("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
                       (plan.target_schema, plan.target_table)).fetchone()
    return row is not None


def _create(conn: psycopg.Connection, plan: TablePlan, create_key: bool) -> None:
    columns = [_column_sql(c) for c in plan.columns]
    if create_key and plan.key and plan.key_origin != "unique-index":
        columns.append(sql.SQL("PRIMARY KEY ({})").format(_key_columns(plan)))
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(_table(plan), sql.SQL(", ").join(columns)))
    if plan.key and not create_key:
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(_table(plan), sql.Literal(DEFERRED_KEY_COMMENT)))
    elif plan.key and plan.key_origin == "unique-index":
        conn.execute(_key_statement(plan))


def _column_sql(column: ColumnPlan) -> sql.Composable:
    if not _TYPE_TEXT.match(column.target_type):
        raise EngineError(f"Column {column.name}: {column.target_type!r} is not a PostgreSQL type this engine "
                          "creates. Use a type such as numeric(10,2) or character varying(50).",
                          kind=ErrorKind.SCHEMA)
    not_null = not column.nullable and not column.dms_type.is_lob  # DMS creates LOB columns nullable
    return sql.SQL("{} {}{}").format(sql.Identifier(column.name), sql.SQL(column.target_type),
                                     sql.SQL(" NOT NULL") if not_null else sql.SQL(""))


def _key_columns(plan: TablePlan) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(c) for c in plan.key)


def _key_statement(plan: TablePlan) -> sql.Composable:
    if plan.key_origin == "unique-index":
        return sql.SQL("CREATE UNIQUE INDEX ON {} ({})").format(_table(plan), _key_columns(plan))
    return sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(_table(plan), _key_columns(plan))
