"""Catalog and check queries kept as .sql files next to this package (read once, cached)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from psycopg import sql

_DIR = Path(__file__).with_name("sql")


@cache
def query(name: str) -> sql.SQL:
    """The text of sql/<name>.sql as a psycopg SQL object (a trusted, static statement)."""
    return sql.SQL((_DIR / f"{name}.sql").read_text())  # type: ignore[arg-type]
