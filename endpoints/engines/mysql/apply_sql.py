"""The statements of the MySQL applier, built from a table's plan with every identifier quoted.

Two kinds of text come out of here:
- templates with %s placeholders, executed with a parameter tuple (quote() doubles any %
  in a name, and PyMySQL's %-formatting undoes it);
- heads of statements that the applier completes with value literals it escaped itself
  (multi-row INSERT, DELETE ... IN): `literal_text` has already undone the doubled %, and
  such statements are executed without parameters, so a % inside a value is left alone.

Values are always parameters or literals escaped by PyMySQL, never pasted.

Staging tables (session TEMPORARY tables in the control database) have positional column
names so no user column name can collide with ours: `n` (the change's order in the run),
`w` (how many changes of the run the entry stands for), `c0..` (the target columns).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..plan import TablePlan
from .apply_meta import TableMeta, TargetColumn
from .sqltext import column_list, qualified, quote

Mask = tuple[bool, ...]  # True where a column's value is UNCHANGED (not set by the update)
NEW_ROW = "awsdms_new"  # MySQL 8's alias of the inserted row in ON DUPLICATE KEY UPDATE
STAGED = quote("awsdms_s")
TARGET = quote("awsdms_t")


def literal_text(template: str) -> str:
    """A template without placeholders as the server must see it (%% back to %), for statements
    completed with escaped literals and executed without parameters."""
    return template % ()


def names(plan: TablePlan) -> list[str]:
    return [c.name for c in plan.columns]


def key_positions(plan: TablePlan) -> tuple[int, ...]:
    columns = names(plan)
    return tuple(columns.index(k) for k in plan.key)


# ---- inserts ------------------------------------------------------------------------------------

def insert_head(database: str, plan: TablePlan) -> str:
    return literal_text(f"INSERT INTO {qualified(database, plan.target_table)} ({column_list(names(plan))}) VALUES ")  # noqa: S608 - names quoted


def upsert_tail(plan: TablePlan, *, row_alias: bool) -> str:
    """ON DUPLICATE KEY UPDATE of every non-key column (a key-only table: a no-op assignment, so the
    duplicate is accepted). MySQL 8.0.19+ names the new row with an alias (VALUES() there is deprecated
    and warns); MariaDB only has VALUES()."""
    others = [n for n in names(plan) if n not in plan.key] or [plan.key[0]]
    if row_alias:
        sets = ", ".join(f"{quote(n)} = {quote(NEW_ROW)}.{quote(n)}" for n in others)
        return literal_text(f" AS {quote(NEW_ROW)} ON DUPLICATE KEY UPDATE {sets}")
    sets = ", ".join(f"{quote(n)} = VALUES({quote(n)})" for n in others)
    return literal_text(f" ON DUPLICATE KEY UPDATE {sets}")


# ---- row statements -----------------------------------------------------------------------------

def _sets(plan: TablePlan, mask: Mask, value: str | None, *, with_key: bool) -> str:
    """SET list for the columns not masked: `value` None gives %s placeholders, else staging columns.
    With nothing to set, the first key column is set to itself: CLIENT_FOUND_ROWS still counts the
    row as found, so the count of rows found stays right."""
    parts = []
    prefix = f"{TARGET}." if value is not None else ""
    for i, name in enumerate(names(plan)):
        if mask[i] or (name in plan.key and not with_key):
            continue
        rhs = "%s" if value is None else f"{value}.{quote(f'c{i}')}"
        parts.append(f"{prefix}{quote(name)} = {rhs}")
    if not parts:
        first = quote((plan.key or tuple(names(plan)))[0])
        parts.append(f"{prefix}{first} = {prefix}{first}")
    return ", ".join(parts)


def set_positions(plan: TablePlan, mask: Mask) -> list[int]:
    """Positions of the values a row UPDATE takes as parameters, in placeholder order."""
    return [i for i in range(len(plan.columns)) if not mask[i]]


# Templates (with %s placeholders) are executed with parameters; everything else here is complete text,
# executed as it is.

def update(database: str, plan: TablePlan, mask: Mask) -> str:
    """UPDATE ... SET <unmasked columns> = %s WHERE <key> = %s (parameters: set values, then old key)."""
    where = " AND ".join(f"{quote(k)} = %s" for k in plan.key)
    return f"UPDATE {qualified(database, plan.target_table)} SET {_sets(plan, mask, None, with_key=True)} WHERE {where}"  # noqa: S608 - names quoted


def delete_head(database: str, plan: TablePlan) -> str:
    """DELETE ... WHERE key IN (, completed with escaped keys and a closing parenthesis. A composite key
    is compared as a row constructor, which MySQL 5.7+ and MariaDB turn into index ranges."""
    key = quote(plan.key[0]) if len(plan.key) == 1 else f"({column_list(plan.key)})"
    return literal_text(f"DELETE FROM {qualified(database, plan.target_table)} WHERE {key} IN (")  # noqa: S608 - names quoted


def _compare(column: TargetColumn) -> str:
    """`column` equal to a parameter, NULL equal to NULL, with no conversion that could make two
    different values equal (or equal ones different)."""
    name = quote(column.name)
    if column.is_text and column.charset:
        # Byte for byte: the column's collation would match 'a' to 'A' or to 'a ' and so the wrong row.
        return f"{name} <=> CAST(CONVERT(%s USING {column.charset}) AS BINARY)"
    if column.data_type == "float":
        return f"{name} <=> CAST(%s AS FLOAT)"  # 0.1 as a FLOAT is not the double 0.1 PyMySQL sends
    if column.data_type == "bit":
        return f"{name} <=> CAST(CONV(HEX(%s), 16, 10) AS UNSIGNED)"  # a BIT compares as a number
    if column.data_type == "json":
        return f"{name} <=> CAST(%s AS JSON)"  # MySQL 8's binary JSON
    return f"{name} <=> %s"


def match(meta: TableMeta) -> str:
    """Every column equal to its parameter (keyless tables: the key is the whole row)."""
    return " AND ".join(_compare(c) for c in meta.columns)


def keyless_delete(database: str, plan: TablePlan, meta: TableMeta) -> str:
    """Delete up to %s rows equal to the parameters (equal rows of a keyless table are interchangeable)."""
    return f"DELETE FROM {qualified(database, plan.target_table)} WHERE {match(meta)} LIMIT %s"  # noqa: S608 - names quoted


def keyless_update(database: str, plan: TablePlan, meta: TableMeta, mask: Mask) -> str:
    """Update one row equal to the old values (parameters: set values, then every old value)."""
    return (f"UPDATE {qualified(database, plan.target_table)} SET {_sets(plan, mask, None, with_key=True)} "  # noqa: S608 - names quoted
            f"WHERE {match(meta)} LIMIT 1")


def truncate(database: str, plan: TablePlan) -> str:
    """DELETE, not TRUNCATE TABLE: TRUNCATE commits the open transaction, and the table would then be
    empty on the target before the checkpoint that covers it is written (a crash in between would
    replay the changes before the truncate on top of an emptied table)."""
    return literal_text(f"DELETE FROM {qualified(database, plan.target_table)}")  # noqa: S608 - names quoted


# ---- staging tables and set statements ----------------------------------------------------------

def create_staging(schema: str, name: str, meta: TableMeta) -> str:
    """A session TEMPORARY table with the target's column types (always nullable: UNCHANGED values are
    staged as NULL and never read). InnoDB, so its rows follow our transaction and savepoints."""
    columns = [f"{quote('n')} BIGINT NOT NULL", f"{quote('w')} INT NOT NULL"]
    columns += [f"{quote(f'c{i}')} {c.staging_type}" for i, c in enumerate(meta.columns)]
    # A primary key on `n` (unique in a chunk) satisfies servers with sql_require_primary_key=ON.
    return literal_text(f"CREATE TEMPORARY TABLE {qualified(schema, name)} ({', '.join(columns)}, "
                        f"PRIMARY KEY ({quote('n')})) ENGINE=InnoDB")


def staging_head(schema: str, name: str) -> str:
    return literal_text(f"INSERT INTO {qualified(schema, name)} VALUES ")  # noqa: S608 - names quoted


def clear_staging(schema: str, name: str) -> str:
    return literal_text(f"DELETE FROM {qualified(schema, name)}")  # noqa: S608 - names quoted


def _key_join(plan: TablePlan) -> str:
    positions = key_positions(plan)
    return " AND ".join(f"{TARGET}.{quote(k)} = {STAGED}.{quote(f'c{p}')}" for k, p in zip(plan.key, positions,
                                                                                           strict=True))


def _staged_join(database: str, plan: TablePlan, schema: str, name: str) -> str:
    # The staging table drives (STRAIGHT_JOIN): a few thousand key lookups, never a scan of the target.
    return (f"{qualified(schema, name)} AS {STAGED} STRAIGHT_JOIN {qualified(database, plan.target_table)} "
            f"AS {TARGET} ON {_key_join(plan)}")


def set_update(database: str, plan: TablePlan, schema: str, name: str, mask: Mask) -> str:
    """One UPDATE of every target row found by a staged key (the staged keys are distinct and no change
    moves its key: see apply_sets.update_steps)."""
    return literal_text(f"UPDATE {_staged_join(database, plan, schema, name)} "  # noqa: S608 - names quoted
                        f"SET {_sets(plan, mask, STAGED, with_key=False)}")


def staged_found(database: str, plan: TablePlan, schema: str, name: str) -> str:
    """How many changes the staged entries found rows for (an entry stands for `w` changes)."""
    join = _staged_join(database, plan, schema, name)
    return literal_text(f"SELECT COALESCE(SUM({STAGED}.{quote('w')}), 0) FROM {join}")  # noqa: S608 - names quoted


# ---- DDL ----------------------------------------------------------------------------------------

def add_column(database: str, plan: TablePlan, column: str, native_type: str, *, if_not_exists: bool) -> str:
    guard = "IF NOT EXISTS " if if_not_exists else ""
    # Added nullable whatever the source says: rows already on the target have no value for it.
    return literal_text(f"ALTER TABLE {qualified(database, plan.target_table)} ADD COLUMN {guard}{quote(column)} "
                        f"{native_type.replace('%', '%%')} NULL")


def drop_column(database: str, plan: TablePlan, column: str, *, if_exists: bool) -> str:
    guard = "IF EXISTS " if if_exists else ""
    return literal_text(f"ALTER TABLE {qualified(database, plan.target_table)} DROP COLUMN {guard}{quote(column)}")


def column_exists(columns: Sequence[str], name: str) -> bool:
    """MySQL column names are case-insensitive."""
    return name.lower() in {c.lower() for c in columns}
