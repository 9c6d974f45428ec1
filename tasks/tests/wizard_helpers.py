"""Helpers for the create-task wizard's tests: a fake source catalog and a wizard walked over HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

from django.test import Client

from endpoints.engines.catalog import SourceColumn, SourceTable
from endpoints.engines.types import DmsType, T


def column(name: str, native: str, kind: T, nullable: bool = True, **sizes: int) -> SourceColumn:
    return SourceColumn(name, native, DmsType(kind, **sizes), nullable=nullable)


SHOP = [
    SourceTable("shop", "customers", (column("id", "int", T.INT4, False), column("name", "varchar(80)", T.STRING,
                                                                                   length=80),
                                      column("notes", "text", T.CLOB)), primary_key=("id",), estimated_rows=3),
    SourceTable("shop", "orders", (column("id", "bigint", T.INT8, False), column("customer_id", "int", T.INT4),
                                   column("amount", "decimal(10,2)", T.NUMERIC, precision=10, scale=2)),
                primary_key=("id",), estimated_rows=5),
    SourceTable("shop", "order_lines", (column("id", "bigint", T.INT8, False), column("sku", "varchar(20)", T.STRING,
                                                                                      length=20)),
                primary_key=("id",)),
    SourceTable("shop", "audit_log", (column("id", "bigint", T.INT8, False),), primary_key=("id",)),
    SourceTable("shop", "geo", (column("id", "int", T.INT4, False),
                                SourceColumn("shape", "geometry", None, unsupported="spatial types are not supported")),
                primary_key=("id",)),
]


def fake_catalog(monkeypatch, tables: list[SourceTable] | None = None) -> list[Any]:
    """Serve `tables` (default SHOP) as every source's catalog; returns the list of schema sets asked for."""
    from tasks import source_catalog

    asked: list[Any] = []

    def list_source_tables(endpoint, schemas=None):
        asked.append(schemas)
        wanted = set(schemas) if schemas is not None else None
        return [t for t in (tables if tables is not None else SHOP) if wanted is None or t.schema in wanted]

    monkeypatch.setattr(source_catalog, "list_source_tables", list_source_tables)
    return asked


def start(client: Client) -> str:
    """Open a new wizard; returns the URL of its first step."""
    response = client.get("/tasks/create/")
    assert response.status_code == 302, response
    return response["Location"]


def step(url: str, name: str) -> str:
    return re.sub(r"/[a-z]+/$", f"/{name}/", url)


def post_step(client: Client, url: str, data: dict[str, Any], **headers: str):
    return client.post(url, data, HTTP_HX_REQUEST="true", **headers)


CONFIG = {"migration_type": "full-load", "cdc_start_mode": ""}


def settings_defaults() -> dict[str, Any]:
    """The wizard fields as a new task shows them (DMS's defaults)."""
    from tasks.engine.settings import parse_task_settings
    from tasks.wizard_settings import initial_from_document

    values = initial_from_document(parse_task_settings(None).document, {})
    return {k: ("on" if v is True else "" if v in (False, None) else v) for k, v in values.items() if v is not False}


def guided_post(rules: list[dict[str, Any]]) -> dict[str, str]:
    """The guided editor's fields for `rules`, as the browser posts them."""
    data: dict[str, str] = {"editing_mode": "guided"}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        else:
            data[prefix] = str(value)

    for index, rule in enumerate(rules):
        data[f"rules[{index}].__raw"] = json.dumps(rule)
        for key, value in rule.items():
            if key not in ("rule-type", "rule-id", "rule-name"):
                walk(f"rules[{index}].{key}", value)
    return data
