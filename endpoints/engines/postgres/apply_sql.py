"""The statements of the applier, built from a table's plan with every identifier quoted.

Two families: row statements (one change per execution, sent many at a time through
psycopg's pipeline) and set statements, which apply a whole run from a session TEMP
staging table filled by COPY. Values are always parameters or COPY data, never SQL text.

Staging tables have positional column names so no user column name can collide with
ours: `n` (the change's order in the run), `k0..` (old key values), `o0..` (old values of
every column, keyless tables), `c0..` (the row's values, target column order).
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from ..plan import TablePlan
from .apply_meta import TableMeta

Mask = tuple[bool, ...]  # True where a column's value is UNCHANGED (not set by the update)


def target(plan: TablePlan) -> sql.Identifier:
    return sql.Identifier(plan.target_schema, plan.target_table)


def _names(plan: TablePlan) -> list[str]:
    return [c.name for c in plan.columns]


def _list(names: Sequence[str], prefix: str = "") -> sql.Composable:
    if prefix:
        return sql.SQL(", ").join(sql.Identifier(prefix, n) for n in names)
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def key_positions(plan: TablePlan) -> tuple[int, ...]:
    names = _names(plan)
    return tuple(names.index(k) for k in plan.key)


# ---- row statements ------------------------------------------------------------------------------

def insert(plan: TablePlan) -> sql.Composable:
    names = _names(plan)
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        target(plan), _list(names), sql.SQL(", ").join(sql.Placeholder() * len(names)))


def _on_conflict(plan: TablePlan) -> sql.Composable:
    others = [n for n in _names(plan) if n not in plan.key]
    if not others:
        return sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(_list(plan.key))
    sets = sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(n), sql.Identifier(n)) for n in others)
    return sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(_list(plan.key), sets)


def upsert(plan: TablePlan) -> sql.Composable:
    return sql.Composed([insert(plan), _on_conflict(plan)])


def _sets(plan: TablePlan, mask: Mask, value: sql.Composable | None, *, with_key: bool) -> sql.Composable:
    """SET list for the columns not masked. `value` None: placeholders, else staging columns c<i>."""
    parts = []
    for i, name in enumerate(_names(plan)):
        if mask[i] or (name in plan.key and not with_key):
            continue
        rhs = sql.Placeholder() if value is None else sql.Identifier("s", f"c{i}")
        parts.append(sql.SQL("{} = {}").format(sql.Identifier(name), rhs))
    if not parts:  # nothing to set: still touch the row so the count of rows found is right
        first = (plan.key or tuple(_names(plan)))[0]
        parts.append(sql.SQL("{} = {}").format(sql.Identifier(first), sql.Identifier("t", first)))
    return sql.SQL(", ").join(parts)


def set_columns(plan: TablePlan, mask: Mask, *, with_key: bool = True) -> list[int]:
    """Positions of the values a row UPDATE takes as parameters, in placeholder order."""
    return [i for i, name in enumerate(_names(plan)) if not mask[i] and (with_key or name not in plan.key)]


def update(plan: TablePlan, mask: Mask) -> sql.Composable:
    """UPDATE ... SET <unmasked columns> = %s WHERE <key> = %s (parameters: set values, then old key)."""
    where = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in plan.key)
    return sql.SQL("UPDATE {} AS t SET {} WHERE {}").format(target(plan), _sets(plan, mask, None, with_key=True),
                                                           where)


def delete(plan: TablePlan) -> sql.Composable:
    where = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in plan.key)
    return sql.SQL("DELETE FROM {} WHERE {}").format(target(plan), where)


def _match(meta: TableMeta) -> sql.Composable:
    """Every column equal to its parameter, NULL matching NULL (keyless tables). Parameters are cast
    to the column's type first: a real column's 0.1 is not the double precision 0.1 psycopg sends."""
    parts = []
    for column in meta.columns:
        # the server's own spelling of the type (format_type quotes what needs quoting); % would be a placeholder
        cast = sql.SQL("%s::" + column.compare_type.replace("%", "%%"))
        if column.text_compared:
            parts.append(sql.SQL("{}::text IS NOT DISTINCT FROM ({})::text").format(sql.Identifier(column.name), cast))
        else:
            parts.append(sql.SQL("{} IS NOT DISTINCT FROM {}").format(sql.Identifier(column.name), cast))
    return sql.SQL(" AND ").join(parts)


def keyless_delete(plan: TablePlan, meta: TableMeta) -> sql.Composable:
    """Delete one row equal to the parameters, even when several are (ctid of the first found)."""
    return sql.SQL("DELETE FROM {} WHERE ctid = (SELECT ctid FROM {} WHERE {} LIMIT 1)").format(
        target(plan), target(plan), _match(meta))


def keyless_update(plan: TablePlan, meta: TableMeta, mask: Mask) -> sql.Composable:
    """Update one row equal to the old values (parameters: set values, then every old value)."""
    return sql.SQL("UPDATE {} AS t SET {} WHERE ctid = (SELECT ctid FROM {} WHERE {} LIMIT 1)").format(
        target(plan), _sets(plan, mask, None, with_key=True), target(plan), _match(meta))


# ---- staging tables and set statements ---------------------------------------------------------

def staging_columns(plan: TablePlan, kind: str) -> list[tuple[str, sql.Composable]]:
    """(staging column, expression over the target giving its type) for a staging table of `kind`:
    "rows" (n, c..), "update" (n, k.., c..), "keys" (n, k..), "keyless-update" (n, o.., c..)."""
    names = _names(plan)
    out: list[tuple[str, sql.Composable]] = [("n", sql.SQL("0::bigint"))]
    if kind in ("update", "keys"):
        out += [(f"k{j}", sql.Identifier(k)) for j, k in enumerate(plan.key)]
    if kind == "keyless-update":
        out += [(f"o{i}", sql.Identifier(n)) for i, n in enumerate(names)]
    if kind != "keys":
        out += [(f"c{i}", sql.Identifier(n)) for i, n in enumerate(names)]
    return out


def create_staging(plan: TablePlan, kind: str, name: str) -> sql.Composable:
    """A session TEMP table shaped like the target's columns (types and modifiers, no constraints:
    CREATE TABLE AS copies neither NOT NULL nor keys), emptied at every commit."""
    columns = staging_columns(plan, kind)
    return sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DELETE ROWS AS SELECT {} FROM {} WITH NO DATA").format(
        sql.Identifier(name), _list([c for c, _ in columns]), sql.SQL(", ").join(e for _, e in columns),
        target(plan))


def copy_into(name: str, columns: Sequence[str] | None = None) -> sql.Composable:
    if columns is None:
        return sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(name))
    return sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(name), _list(columns))


def copy_into_target(plan: TablePlan) -> sql.Composable:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(target(plan), _list(_names(plan)))


def _key_join(plan: TablePlan) -> sql.Composable:
    return sql.SQL(" AND ").join(sql.SQL("{} = {}").format(sql.Identifier("t", k), sql.Identifier("s", f"k{j}"))
                                 for j, k in enumerate(plan.key))


def row_columns(plan: TablePlan) -> list[str]:
    """The staging columns a "rows" table holds the row values in (c<i>, without n)."""
    return [f"c{i}" for i in range(len(plan.columns))]


def set_update_in_place(plan: TablePlan, staging: str, mask: Mask) -> sql.Composable:
    """UPDATE from a "rows" staging table holding the new rows, found by the key they carry: for a chunk
    in which no change moves its key (so the old key is the new one, and need not be staged)."""
    join = sql.SQL(" AND ").join(sql.SQL("{} = {}").format(sql.Identifier("t", k), sql.Identifier("s", f"c{p}"))
                                 for k, p in zip(plan.key, key_positions(plan), strict=True))
    return sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE {}").format(
        target(plan), _sets(plan, mask, sql.SQL("s"), with_key=False), sql.Identifier(staging), join)


def set_update(plan: TablePlan, staging: str, mask: Mask, *, with_key: bool, returning: bool) -> sql.Composable:
    statement = sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE {}").format(
        target(plan), _sets(plan, mask, sql.SQL("s"), with_key=with_key), sql.Identifier(staging), _key_join(plan))
    return sql.Composed([statement, sql.SQL(" RETURNING s.n")]) if returning else statement


def set_delete(plan: TablePlan, staging: str) -> sql.Composable:
    return sql.SQL("DELETE FROM {} AS t USING {} AS s WHERE {}").format(
        target(plan), sql.Identifier(staging), _key_join(plan))


def set_upsert(plan: TablePlan, staging: str) -> sql.Composable:
    values = _list([f"c{i}" for i in range(len(plan.columns))])
    # WHERE true: without it, ON CONFLICT would be read as the join condition of FROM
    insert_select = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} WHERE true").format(
        target(plan), _list(_names(plan)), values, sql.Identifier(staging))
    return sql.Composed([insert_select, _on_conflict(plan)])


def _row_text(meta: TableMeta, alias: str, prefix: str | None) -> sql.Composable:
    """ROW(...)::text of a row: equal values give equal text, NULL included, and text can be hashed,
    so a keyless run is matched in one hash join instead of one scan of the table per change."""
    if prefix is None:
        items = [sql.Identifier(alias, c.name) for c in meta.columns]
    else:
        items = [sql.Identifier(alias, f"{prefix}{i}") for i in range(len(meta.columns))]
    return sql.SQL("ROW({})::text").format(sql.SQL(", ").join(items))


def _numbered_matches(plan: TablePlan, meta: TableMeta, wanted: sql.Composable) -> sql.Composable:
    """Target rows whose text is in `wanted`, numbered within each distinct text."""
    row = _row_text(meta, "t", None)
    return sql.SQL("SELECT t.ctid AS tid, {row} AS h, row_number() OVER (PARTITION BY {row}) AS r "
                   "FROM {table} AS t WHERE {row} IN ({wanted})").format(row=row, table=target(plan), wanted=wanted)


def set_keyless_delete(plan: TablePlan, meta: TableMeta, staging: str) -> sql.Composable:
    """Delete, for each distinct row of the staging table seen k times, up to k equal target rows."""
    staged = _row_text(meta, "s", "c")
    wanted = sql.SQL("SELECT {} FROM {} AS s").format(staged, sql.Identifier(staging))
    counts = sql.SQL("SELECT {} AS h, count(*) AS k FROM {} AS s GROUP BY 1").format(staged, sql.Identifier(staging))
    return sql.SQL("DELETE FROM {} WHERE ctid IN (SELECT m.tid FROM ({}) AS m JOIN ({}) AS w ON w.h = m.h "
                   "WHERE m.r <= w.k)").format(target(plan), _numbered_matches(plan, meta, wanted), counts)


def set_keyless_update(plan: TablePlan, meta: TableMeta, staging: str, mask: Mask) -> sql.Composable:
    """The i-th change with some old values updates the i-th target row holding them."""
    old = _row_text(meta, "s", "o")
    changes = sql.SQL("SELECT s.*, {old} AS h, row_number() OVER (PARTITION BY {old} ORDER BY s.n) AS r "
                      "FROM {staging} AS s").format(old=old, staging=sql.Identifier(staging))
    wanted = sql.SQL("SELECT h FROM s")
    return sql.SQL("WITH s AS ({}), m AS ({}) UPDATE {} AS t SET {} FROM m JOIN s ON s.h = m.h AND s.r = m.r "
                   "WHERE t.ctid = m.tid").format(changes, _numbered_matches(plan, meta, wanted), target(plan),
                                                  _sets(plan, mask, sql.SQL("s"), with_key=True))


def truncate(plan: TablePlan) -> sql.Composable:
    return sql.SQL("TRUNCATE TABLE {}").format(target(plan))
