"""Hand-built source tables and a fake target type namer for planner tests (no database)."""

from __future__ import annotations

from typing import Any

from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.types import DmsType, T


class FakeTarget:
    """Names target types like a PostgreSQL target would: the source's own type when the
    source is PostgreSQL and a source column is given, else the DMS type in lower case."""

    def __init__(self, default_schema: str = "public"):
        self._default_schema = default_schema
        self.calls: list[tuple[DmsType, str | None, str | None]] = []

    def target_type(self, dms_type: DmsType, source: SourceColumn | None, source_engine: str | None) -> str:
        self.calls.append((dms_type, source.name if source else None, source_engine))
        if source is not None and source_engine == "postgres":
            return source.native_type
        return str(dms_type).lower()

    def default_schema(self) -> str:
        return self._default_schema


def col(name: str, native: str, dms: DmsType | None, *, nullable: bool = True, why: str | None = None) -> SourceColumn:
    return SourceColumn(name, native, dms, nullable=nullable, unsupported=why)


def employees(schema: str = "hr") -> SourceTable:
    return SourceTable(schema, "employees", (
        col("id", "integer", DmsType(T.INT4), nullable=False),
        col("first_name", "character varying(20)", DmsType(T.WSTRING, 20)),
        col("last_name", "character varying(20)", DmsType(T.WSTRING, 20)),
        col("salary", "numeric(10,2)", DmsType(T.NUMERIC, precision=10, scale=2)),
        col("rating", "double precision", DmsType(T.REAL8)),
        col("notes", "text", DmsType(T.NCLOB)),
        col("hired", "date", DmsType(T.DATE), nullable=False),
        col("dept_id", "integer", DmsType(T.INT4)),
        col("area", "geometry", None, why="PostGIS types are not supported"),
    ), primary_key=("id",), estimated_rows=5000)


def departments(schema: str = "hr") -> SourceTable:
    return SourceTable(schema, "departments", (
        col("id", "integer", DmsType(T.INT4), nullable=False),
        col("name", "character varying(40)", DmsType(T.WSTRING, 40), nullable=False),
    ), primary_key=("id",), estimated_rows=12)


def simple(schema: str, name: str, *, kind: str = "table", partitions: tuple[str, ...] = ()) -> SourceTable:
    return SourceTable(schema, name, (col("id", "bigint", DmsType(T.INT8), nullable=False),
                                      col("Name_X", "text", DmsType(T.WSTRING, 100))),
                       primary_key=("id",), kind=kind, partitions=partitions)


def select(schema: str = "hr", table: str = "%", *, rule_id: str = "1", action: str = "include",
           **extra: Any) -> dict[str, Any]:
    locator = {"schema-name": schema, "table-name": table}
    if "table_type" in extra:
        locator["table-type"] = extra.pop("table_type")
    rule = {"rule-type": "selection", "rule-id": rule_id, "rule-name": f"select-{rule_id}",
            "object-locator": locator, "rule-action": action}
    rule.update({key.replace("_", "-"): value for key, value in extra.items()})
    return rule


def transform(rule_id: str, target: str, action: str, locator: dict[str, str], **extra: Any) -> dict[str, Any]:
    rule = {"rule-type": "transformation", "rule-id": rule_id, "rule-name": f"t-{rule_id}", "rule-target": target,
            "rule-action": action, "object-locator": locator}
    rule.update({key.replace("_", "-"): value for key, value in extra.items()})
    return rule


def table_settings(rule_id: str, schema: str, table: str, **extra: Any) -> dict[str, Any]:
    rule = {"rule-type": "table-settings", "rule-id": rule_id, "rule-name": f"ts-{rule_id}",
            "object-locator": {"schema-name": schema, "table-name": table}}
    rule.update({key.replace("_", "-"): value for key, value in extra.items()})
    return rule


def rules(*items: dict[str, Any]) -> dict[str, Any]:
    return {"rules": list(items)}


def messages(problems) -> list[str]:
    return [str(p) for p in problems]
