"""What the applier needs to know about a target table beyond its plan: the columns as the server has them.

Read once per table and connection (and again after a DDL). The real types decide how a
keyless table's rows are matched (text compared byte for byte, FLOAT and BIT through casts),
what a staging table's columns are, and which column a refused value belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pymysql.connections import Connection

from ..errors import EngineError, ErrorKind
from ..plan import TablePlan
from .sqlfiles import sql

TEXT_TYPES = frozenset({"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"})
# A native type as information_schema (or a plan) spells it: 'varchar(20)', 'bigint(20) unsigned', "enum('a','b')",
# 'double precision'. Only text of this shape is ever pasted into DDL (staging tables, added columns).
_QUOTED = r"'(?:[^'\\]|''|\\.)*'"
NATIVE_TYPE = re.compile(r"^\s*[a-z]+(?:\s+[a-z]+)?\s*"
                         rf"(?:\(\s*(?:\d+(?:\s*,\s*\d+)?|{_QUOTED}(?:\s*,\s*{_QUOTED})*)\s*\))?"
                         r"(?:\s+(?:unsigned|signed|zerofill|character set \w+|charset \w+|collate \w+))*\s*$",
                         re.IGNORECASE | re.DOTALL)
_NAME = re.compile(r"^\w+$")  # character set and collation names are pasted into staging DDL


@dataclass(frozen=True)
class TargetColumn:
    name: str
    data_type: str  # DATA_TYPE, lower case: "varchar", "bit", "json"
    column_type: str  # COLUMN_TYPE: "varchar(20)", "int(10) unsigned", "enum('a','b')"
    charset: str | None  # CHARACTER_SET_NAME of text columns
    collation: str | None  # COLLATION_NAME of text columns
    nullable: bool
    max_length: int | None = None  # CHARACTER_MAXIMUM_LENGTH (characters, or bytes for binary types)

    @property
    def is_text(self) -> bool:
        # MariaDB's JSON is LONGTEXT with a check (DATA_TYPE longtext): compared as the text it is.
        return self.data_type in TEXT_TYPES

    @property
    def staging_type(self) -> str:
        """The column's type for a staging table: the same type, character set and collation (a join
        between two collations of one character set is refused), always nullable."""
        if not NATIVE_TYPE.match(self.column_type):
            raise EngineError(f"Column {self.name} has a type this applier cannot copy: {self.column_type!r}.",
                              kind=ErrorKind.SCHEMA)
        text = self.column_type
        if self.charset:
            text += f" CHARACTER SET {self.charset}"
            if self.collation:
                text += f" COLLATE {self.collation}"
        return text + " NULL"


@dataclass(frozen=True)
class TableMeta:
    database: str
    table: str
    columns: tuple[TargetColumn, ...]  # in plan column order

    @property
    def name(self) -> str:
        return f"{self.database}.{self.table}"


def load_meta(raw: Connection, database: str, plan: TablePlan) -> TableMeta:
    """The plan's target columns as the server has them. Raises EngineError (SCHEMA) when the table
    or one of the plan's columns is missing (e.g. a source DDL that was not propagated)."""
    with raw.cursor() as cursor:
        cursor.execute(sql("apply_columns"), {"database": database, "table": plan.target_table})
        rows = cursor.fetchall()
    name = f"{database}.{plan.target_table}"
    if not rows:
        raise EngineError(f"Target table {name} does not exist: changes cannot be applied to it. Create it (a "
                          "full load with the DROP_AND_CREATE prep mode does) or remove it from the task.",
                          kind=ErrorKind.SCHEMA)
    found = {}
    for column, data_type, column_type, charset, collation, nullable, length in rows:
        charset = charset if charset and _NAME.match(charset) else None
        collation = collation if collation and _NAME.match(collation) else None
        found[column.lower()] = TargetColumn(column, str(data_type).lower(), str(column_type), charset, collation,
                                             nullable == "YES", int(length) if length is not None else None)
    # MySQL column names are case-insensitive: `Name` in the plan is the server's `name`.
    missing = [c.name for c in plan.columns if c.name.lower() not in found]
    if missing:
        raise EngineError(f"Target table {name} has no column {', '.join(missing)}: changes cannot be applied. "
                          "Add the column(s) on the target or change the task's table mappings.",
                          kind=ErrorKind.SCHEMA)
    return TableMeta(database, plan.target_table, tuple(found[c.name.lower()] for c in plan.columns))
