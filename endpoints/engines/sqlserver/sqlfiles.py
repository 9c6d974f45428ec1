"""The engine's catalog and CDC SQL, kept in sql/*.sql and read once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_DIR = Path(__file__).with_name("sql")


@cache
def sql(name: str) -> str:
    return (_DIR / f"{name}.sql").read_text(encoding="utf-8").strip()
