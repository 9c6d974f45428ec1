"""What an engine finds in a database: tables, columns with their mapped types, keys."""

from __future__ import annotations

from dataclasses import dataclass, field

from .types import DmsType


@dataclass(frozen=True)
class SourceColumn:
    """One column as the source defines it.

    `native_type` is the full type as the source spells it ("numeric(12,2)",
    "int(10) unsigned", "character varying(20)", "integer[]"); `dms_type` is its
    intermediate type, or None with `unsupported` saying why it cannot be carried.
    """

    name: str
    native_type: str
    dms_type: DmsType | None
    nullable: bool = True
    unsupported: str | None = None
    generated: bool = False  # computed/generated column: reported, read but never written by us
    identity: bool = False
    default: str | None = None

    @property
    def supported(self) -> bool:
        return self.dms_type is not None


@dataclass(frozen=True)
class SourceTable:
    schema: str
    name: str
    columns: tuple[SourceColumn, ...]
    primary_key: tuple[str, ...] = ()
    unique_keys: tuple[tuple[str, ...], ...] = ()
    estimated_rows: int = 0
    kind: str = "table"  # "table" or "view"
    partitions: tuple[str, ...] = field(default=())

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> SourceColumn:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def best_key(self) -> tuple[str, ...]:
        """The primary key, else the first unique key whose columns are all NOT NULL."""
        if self.primary_key:
            return self.primary_key
        by_name = {c.name: c for c in self.columns}
        for key in self.unique_keys:
            if all(not by_name[c].nullable for c in key if c in by_name):
                return key
        return ()
