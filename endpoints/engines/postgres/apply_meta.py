"""What the applier needs to know about a target table beyond its plan: the real column types.

Read once per table and connection (and again after a DDL), so statements can compare
values of types that have no = operator, and data errors can name the column at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg

from ..errors import EngineError, ErrorKind
from ..plan import TablePlan
from .sqlfiles import query

# Types without a usable = operator (json, xml) or whose = is not equality of values (box and
# circle compare areas): keyless matching compares their text forms instead.
TEXT_COMPARED = frozenset({"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"})

# Without a modifier, character means character(1) and bit means bit(1): a cast to them would cut the
# value. Comparisons cast to the unbounded forms instead.
_UNBOUNDED = {"character": "bpchar", "bit": "bit varying"}

_LENGTH = re.compile(r"^(character varying|character|bit varying|bit)\((\d+)\)")
_NUMERIC = re.compile(r"^numeric\((\d+),(\d+)\)")


@dataclass(frozen=True)
class TargetColumn:
    name: str
    full_type: str  # with its modifier: character varying(20), numeric(10,2)
    base_type: str  # without modifier, domains resolved: character varying, integer[]

    @property
    def text_compared(self) -> bool:
        return self.base_type.removesuffix("[]") in TEXT_COMPARED

    @property
    def compare_type(self) -> str:
        """The type a value is cast to before it is compared with this column."""
        element = self.base_type.removesuffix("[]")
        return _UNBOUNDED.get(element, element) + self.base_type[len(element):]

    @property
    def max_length(self) -> int | None:
        """The declared length of a character or bit column (None when unbounded or another type)."""
        match = _LENGTH.match(self.full_type)
        return int(match.group(2)) if match else None

    @property
    def numeric_bounds(self) -> tuple[int, int] | None:
        """(precision, scale) of a numeric(p,s) column."""
        match = _NUMERIC.match(self.full_type)
        return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class TableMeta:
    schema: str
    table: str
    columns: tuple[TargetColumn, ...]  # in plan column order

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


def load_meta(conn: psycopg.Connection, plan: TablePlan) -> TableMeta:
    """The plan's target columns as the server has them. Raises EngineError (SCHEMA) when the table
    or one of the plan's columns is missing (e.g. a source DDL that was not propagated)."""
    rows = conn.execute(query("apply_columns"), {"schema": plan.target_schema, "table": plan.target_table}).fetchall()
    name = f"{plan.target_schema}.{plan.target_table}"
    if not rows:
        raise EngineError(f"Target table {name} does not exist: changes cannot be applied to it. Create it (a "
                          "full load with the DROP_AND_CREATE prep mode does) or remove it from the task.",
                          kind=ErrorKind.SCHEMA)
    found = {r[0]: TargetColumn(r[0], r[1], r[2]) for r in rows}
    missing = [c.name for c in plan.columns if c.name not in found]
    if missing:
        raise EngineError(f"Target table {name} has no column {', '.join(missing)}: changes cannot be applied. "
                          "Add the column(s) on the target or change the task's table mappings.",
                          kind=ErrorKind.SCHEMA)
    return TableMeta(plan.target_schema, plan.target_table, tuple(found[c.name] for c in plan.columns))
